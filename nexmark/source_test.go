package nexmark

import (
	"context"
	"errors"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"millrace/engine"
	"millrace/op"
	"millrace/source"
	"millrace/source/sourcetest"
)

// readSource reads every partition of s through the Source interface and returns each
// partition's date_time values.
func readSource(t *testing.T, s source.Source, kind Kind) [][]int64 {
	t.Helper()
	ctx := context.Background()
	col := DateTimeColumn(kind)
	var parts [][]int64
	for p := range s.Partitions() {
		r, err := s.Open(ctx, p, nil)
		if err != nil {
			t.Fatal(err)
		}
		var ts []int64
		for {
			rec, dead, err := r.Read(ctx)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(dead) > 0 || !rec.Schema().Equal(s.Schema()) {
				t.Fatalf("partition %d: %d dead letters, schema %s", p, len(dead), rec.Schema())
			}
			for _, v := range rec.Column(col).(*array.Timestamp).TimestampValues() {
				ts = append(ts, int64(v))
			}
			rec.Release()
			if pos := r.Position(); pos.Offset != int64(len(ts)) || !strings.HasSuffix(pos.File, "/"+strconv.Itoa(p)) {
				t.Fatalf("partition %d: position %+v after %d rows", p, pos, len(ts))
			}
		}
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
		parts = append(parts, ts)
	}
	return parts
}

func TestSourceReadsPartitionsThroughTheInterface(t *testing.T) {
	cfg := testConfig(100_000)
	cfg.Partitions, cfg.Partition, cfg.BatchRows = 4, 3, 1000
	for _, kind := range []Kind{Bids, Auctions, Persons} {
		s := NewSource(cfg, kind)
		if s.Partitions() != 4 || s.Schema() != Schema(kind) || s.Capabilities() != (source.Capabilities{Bounded: true, Resumable: true}) {
			t.Fatalf("%s source: %d partitions, schema %s, %+v", kind, s.Partitions(), s.Schema(), s.Capabilities())
		}
		total := 0
		for p, ts := range readSource(t, s, kind) {
			if !slices.IsSorted(ts) {
				t.Fatalf("%s partition %d: date_time decreases", kind, p)
			}
			if int64(len(ts)) != partitionRows(cfg.Events, 4, p, kind) {
				t.Fatalf("%s partition %d: %d rows", kind, p, len(ts))
			}
			total += len(ts)
		}
		lo, hi := offsets(kind)
		if want := int(cfg.Events / 50 * (hi - lo)); total != want {
			t.Fatalf("%s source: %d rows, want %d", kind, total, want)
		}
	}
}

// countingAllocator counts the buffers allocated through it.
type countingAllocator struct {
	*memory.CheckedAllocator
	n atomic.Int64
}

func (c *countingAllocator) Allocate(size int) []byte {
	c.n.Add(1)
	return c.CheckedAllocator.Allocate(size)
}

func TestSourceBuildsBatchesFromItsAllocator(t *testing.T) {
	mem := &countingAllocator{CheckedAllocator: memory.NewCheckedAllocator(memory.DefaultAllocator)}
	defer mem.AssertSize(t, 0)
	cfg := testConfig(10_000)
	cfg.Partitions, cfg.BatchRows = 2, 1000
	s := NewSource(cfg, Bids).(*Source)
	s.SetAllocator(mem)
	readSource(t, s, Bids) // releases every batch it reads
	// 9,200 bids in batches of at most 1,000 per partition: 10 or more batches of 10 buffers
	// (4 numbers, 3 strings of offsets and bytes).
	if n := mem.n.Load(); n < 10*10 {
		t.Fatalf("%d buffers from the allocator, want one per column buffer of every batch", n)
	}
}

func TestSourceReportsBadConfigOnOpen(t *testing.T) {
	cfg := testConfig(100)
	cfg.Partitions = 0
	s := NewSource(cfg, Bids)
	if s.Partitions() != 1 {
		t.Fatalf("a bad source has %d partitions; Open would never be called", s.Partitions())
	}
	if _, err := s.Open(context.Background(), 0, nil); err == nil || !strings.Contains(err.Error(), "Partitions") {
		t.Fatalf("open: %v", err)
	}
	s = NewSource(testConfig(100), Kind(4))
	if _, err := s.Open(context.Background(), 0, nil); err == nil {
		t.Fatal("an unknown kind opened")
	}
	s = NewSource(testConfig(100), Bids)
	if _, err := s.Open(context.Background(), 1, nil); err == nil {
		t.Fatal("partition 1 of 1 opened")
	}
	r, err := s.Open(context.Background(), 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := r.Read(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("read after cancel: %v", err)
	}
}

// counter counts the rows and the largest price that reach it.
type counter struct {
	op.Base
	mu       *sync.Mutex
	rows     *int64
	maxPrice *int64
}

func (c *counter) Process(_ int, rec arrow.RecordBatch, _ op.Collector) error {
	defer rec.Release()
	c.mu.Lock()
	defer c.mu.Unlock()
	*c.rows += rec.NumRows()
	for _, p := range rec.Column(BidPrice).(*array.Int64).Int64Values() {
		*c.maxPrice = max(*c.maxPrice, p)
	}
	return nil
}

func TestSourceRunsInTheEngine(t *testing.T) {
	cfg := testConfig(200_000)
	cfg.Partitions = 6
	src := &engine.Node{Name: "bids", Parallelism: 2, Source: NewSource(cfg, Bids), Watermarks: engine.WatermarkPolicy{EventTime: DateTimeColumn(Bids)}}
	var mu sync.Mutex
	var rows, maxPrice int64
	sink := &engine.Node{Name: "count", Parallelism: 1, Operator: func(int) (op.Operator, error) {
		return &counter{mu: &mu, rows: &rows, maxPrice: &maxPrice}, nil
	}}
	g := &engine.Graph{Nodes: []*engine.Node{src, sink}, Edges: []*engine.Edge{{From: src, To: sink, Partitioning: engine.Rebalance}}}
	stats, err := engine.Run(context.Background(), g, engine.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	s, _ := stats.Node("bids")
	if want := cfg.Events / 50 * 46; rows != want || s.Read != want || s.Accepted != want || s.Late != 0 {
		t.Fatalf("engine: sink saw %d rows, source read %d, accepted %d, late %d; want %d", rows, s.Read, s.Accepted, s.Late, want)
	}
	if maxPrice < 10_000_000 {
		t.Fatalf("largest price %d", maxPrice)
	}
}

// TestSourceConforms runs the conformance suite on each kind of Nexmark event.
func TestSourceConforms(t *testing.T) {
	cfg := testConfig(30_000)
	cfg.Partitions, cfg.BatchRows = 3, 500
	for _, kind := range []Kind{Bids, Auctions, Persons} {
		t.Run(kind.String(), func(t *testing.T) {
			lo, hi := offsets(kind)
			sourcetest.Run(t, sourcetest.Subject{
				New:     func(*testing.T) source.Source { return NewSource(cfg, kind) },
				Records: cfg.Events / 50 * (hi - lo),
			})
		})
	}
}
