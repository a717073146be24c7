package engine

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"millrace/format"
	"millrace/gen"
	"millrace/op"
	"millrace/schema"
	"millrace/source"
)

func TestLatencyQuantiles(t *testing.T) {
	var h latencyHistogram
	if _, ok := h.snapshot().Quantile(0.5); ok {
		t.Fatal("a quantile of nothing")
	}
	for range 90 {
		h.observe(3 * time.Millisecond) // bucket (2.5ms, 5ms]
	}
	for range 10 {
		h.observe(2 * time.Second) // bucket (1s, 2.5s]
	}
	l := h.snapshot()
	if l.Count() != 100 || l.Sum != 90*3*time.Millisecond+20*time.Second {
		t.Fatalf("count %d sum %s", l.Count(), l.Sum)
	}
	p50, _ := l.Quantile(0.5)
	p99, _ := l.Quantile(0.99)
	if p50 <= 2500*time.Microsecond || p50 > 5*time.Millisecond || p99 <= time.Second || p99 > 2500*time.Millisecond {
		t.Fatalf("p50 %s p99 %s", p50, p99)
	}
	h.observe(time.Hour)
	if q, _ := h.snapshot().Since(l).Quantile(0.5); q != time.Minute {
		t.Fatalf("the slowest bucket's quantile is %s, want its lower bound", q)
	}
}

// TestRunMeasuresASourceAndItsPath reads a file and checks the figures a run keeps beyond
// counts: the bytes read of the file's size, the final watermark, latency markers reaching
// the sink, and the time the sink waited.
func TestRunMeasuresASourceAndItsPath(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tx.jsonl")
	f, err := format.CreateFile(path)
	if err != nil {
		t.Fatal(err)
	}
	cfg := gen.DefaultConfig()
	cfg.Rows = 20000
	if _, err := gen.Write(context.Background(), cfg, f, format.JSONL, format.WriteOptions{}, nil); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	src, err := source.NewFile(path, "", schema.Transaction(), format.ReadOptions{BatchRows: 256})
	if err != nil {
		t.Fatal(err)
	}
	tx := &Node{Name: "tx", Parallelism: 1, Source: src, Watermarks: WatermarkPolicy{EventTime: schema.TS}}
	var mu sync.Mutex
	var rows int64
	var wms []int64
	var finished [2]bool
	out := &Node{Name: "out", Parallelism: 2, Operator: func(sub int) (op.Operator, error) {
		return &sink{mu: &mu, rows: &rows, watermarks: &wms, finished: &finished[sub]}, nil
	}}
	g := &Graph{Nodes: []*Node{tx, out}, Edges: []*Edge{{From: tx, To: out, Partitioning: Rebalance}}}
	st, err := Run(context.Background(), g, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	s, _ := st.Node("tx")
	if s.InputBytes != info.Size() || s.InputBytesRead != s.InputBytes || s.Backlog() != 0 {
		t.Errorf("source bytes %d read %d backlog %d, file %d", s.InputBytes, s.InputBytesRead, s.Backlog(), info.Size())
	}
	if s.Busy <= 0 || s.Watermark != op.MaxWatermark {
		t.Errorf("source busy %s watermark %d", s.Busy, s.Watermark)
	}
	o, _ := st.Node("out")
	if o.Watermark != op.MaxWatermark || o.Idle <= 0 || o.Queued != 0 || o.QueueCapacity != 2*boundedSourceCapacity {
		t.Errorf("sink watermark %d idle %s queue %d/%d", o.Watermark, o.Idle, o.Queued, o.QueueCapacity)
	}
	// A marker goes out with the first read and reaches one subtask of each edge.
	if o.Latency.Count() < 1 {
		t.Errorf("no latency marker reached the sink: %+v", o.Latency)
	}
	if o.HotKeys != nil {
		t.Errorf("hot keys of a node with no hash input: %+v", o.HotKeys)
	}
}

// keySource yields batches of one string column, 60% of whose rows hold "c00017".
type keySource struct {
	boundedSource
	batches int
}

var keyOnly = arrow.NewSchema([]arrow.Field{{Name: "key", Type: arrow.BinaryTypes.String}}, nil)

func (s *keySource) Schema() *arrow.Schema { return keyOnly }
func (s *keySource) Partitions() int       { return 1 }
func (s *keySource) Open(context.Context, int, []byte) (source.PartitionReader, error) {
	return &keyReader{left: s.batches}, nil
}

type keyReader struct {
	plainReader
	left, next int
}

func (r *keyReader) Read(context.Context) (arrow.RecordBatch, []format.DeadLetter, error) {
	if r.left == 0 {
		return nil, nil, io.EOF
	}
	r.left--
	b := array.NewStringBuilder(memory.DefaultAllocator)
	defer b.Release()
	for i := range 1000 {
		if i%5 < 3 {
			b.Append("c00017")
		} else {
			r.next++
			b.Append(fmt.Sprintf("c%05d", 100+r.next%5000))
		}
	}
	col := b.NewArray()
	defer col.Release()
	return array.NewRecordBatch(keyOnly, []arrow.Array{col}, 1000), nil, nil
}

// keyCounter remembers the keys it saw and says their state takes 10 bytes each.
type keyCounter struct {
	op.Base
	sub  int
	seen map[string]bool
	subs *sync.Map // key -> subtask
}

func (k *keyCounter) Open(ctx op.Context) error {
	k.sub, k.seen = ctx.Subtask, map[string]bool{}
	return nil
}

func (k *keyCounter) Process(_ int, rec arrow.RecordBatch, _ op.Collector) error {
	defer rec.Release()
	keys := rec.Column(0).(*array.String)
	for i := range keys.Len() {
		k.seen[keys.Value(i)] = true
		k.subs.Store(keys.Value(i), k.sub)
	}
	return nil
}

func (k *keyCounter) StateBytes() int64 { return int64(len(k.seen)) * 10 }

func TestRunFindsTheHotKeyAndStateSize(t *testing.T) {
	var subs sync.Map
	src := &Node{Name: "keys", Parallelism: 1, Source: &keySource{batches: 50}, Watermarks: NoEventTime}
	counter := &Node{Name: "count", Parallelism: 3, Operator: func(int) (op.Operator, error) { return &keyCounter{subs: &subs}, nil }}
	g := &Graph{Nodes: []*Node{src, counter}, Edges: []*Edge{{From: src, To: counter, Partitioning: Hash, Key: []string{"key"}}}}
	st, err := Run(context.Background(), g, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	c, _ := st.Node("count")
	if len(c.HotKeys) == 0 {
		t.Fatal("no hot keys")
	}
	hot := c.HotKeys[0]
	owner, _ := subs.Load("c00017")
	if hot.Key != "c00017" || hot.Share < 0.55 || hot.Share > 0.65 || hot.Subtask != owner.(int) {
		t.Errorf("hottest key %+v, want c00017 with a share near 0.6 owned by subtask %d", hot, owner)
	}
	if len(c.HotKeys) > 1 && c.HotKeys[1].Share > 0.05 {
		t.Errorf("second key %+v: no other key is hot", c.HotKeys[1])
	}
	var keys int64
	subs.Range(func(any, any) bool { keys++; return true })
	if c.StateBytes != keys*10 {
		t.Errorf("state %d bytes, want %d", c.StateBytes, keys*10)
	}
}

// TestLiveLedgerAlwaysBalances reads the figures of a run over and over while it goes on:
// every snapshot's source ledger balances, not just the last.
func TestLiveLedgerAlwaysBalances(t *testing.T) {
	cfg := gen.DefaultConfig()
	cfg.Rows, cfg.LateRate, cfg.Disorder = 200000, 0.01, 2*time.Second
	tx := genNode(t, "tx", 2, cfg, 2, 2000, smallAmount{})
	var mu sync.Mutex
	var rows int64
	var wms []int64
	var finished [2]bool
	out := &Node{Name: "out", Parallelism: 2, Operator: func(sub int) (op.Operator, error) {
		return &sink{mu: &mu, rows: &rows, watermarks: &wms, finished: &finished[sub]}, nil
	}}
	g := &Graph{Nodes: []*Node{tx, out}, Edges: []*Edge{{From: tx, To: out, Partitioning: Rebalance}}}
	opts := DefaultOptions()
	opts.Monitor = &Monitor{}
	done := make(chan error, 1)
	go func() { _, err := Run(context.Background(), g, opts); done <- err }()
	snapshots := 0
	for {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			if snapshots < 10 {
				t.Logf("only %d snapshots during the run", snapshots)
			}
			s, _ := opts.Monitor.Snapshot().Node("tx")
			if s.Read != 200000 || s.Late == 0 || s.Rejected == 0 {
				t.Fatalf("final ledger %+v", s)
			}
			return
		default:
		}
		if st := opts.Monitor.Snapshot(); st != nil {
			snapshots++
			s, _ := st.Node("tx")
			if s.Read != s.Accepted+s.Rejected+s.Late {
				t.Fatalf("snapshot %d: read %d != accepted %d + rejected %d + late %d", snapshots, s.Read, s.Accepted, s.Rejected, s.Late)
			}
		}
	}
}

// TestPacedSourceWaitsIdle runs the generator paced at a low rate: the time it sleeps for
// rows to come due is idle, not busy, so no verdict calls it CPU-bound.
func TestPacedSourceWaitsIdle(t *testing.T) {
	cfg := gen.DefaultConfig()
	cfg.Rows, cfg.Rate, cfg.Speed = 0, 250, 1
	tx := genNode(t, "tx", 1, cfg, 1, 0)
	var mu sync.Mutex
	var rows int64
	var wms []int64
	var finished bool
	out := &Node{Name: "out", Parallelism: 1, Operator: func(int) (op.Operator, error) {
		return &sink{mu: &mu, rows: &rows, watermarks: &wms, finished: &finished}, nil
	}}
	stop := make(chan struct{})
	opts := DefaultOptions()
	opts.Stop = stop
	opts.Monitor = &Monitor{}
	go func() { // stop once 125 rows (half a second of the pace) went through
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for range tick.C {
			if st := opts.Monitor.Snapshot(); st != nil {
				if n, ok := st.Node("out"); ok && n.RowsIn >= 125 {
					close(stop)
					return
				}
			}
		}
	}()
	st, err := Run(context.Background(), &Graph{Nodes: []*Node{tx, out}, Edges: []*Edge{{From: tx, To: out}}}, opts)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := st.Node("tx")
	if s.Read == 0 || s.Idle < 4*s.Busy {
		t.Errorf("paced source read %d rows, busy %s, idle %s", s.Read, s.Busy, s.Idle)
	}
}

// TestMonitorFollowsTheNextRun gives one monitor to two runs in turn, as a restart or a
// rescale does: while the second runs, the monitor serves its figures, not the first's final
// ones.
func TestMonitorFollowsTheNextRun(t *testing.T) {
	mon := &Monitor{}
	counts := make(chan int64, 100)
	for i, rows := range []int64{1000, 3000} {
		cfg := gen.DefaultConfig()
		cfg.Rows = rows
		tx := genNode(t, "tx", 1, cfg, 1, 500)
		var res sinkResult
		out := res.node("out")
		opts := DefaultOptions()
		opts.Monitor = mon
		opts.ProgressEvery = time.Millisecond
		opts.Progress = func(*Stats) {
			if s, ok := mon.Snapshot().Node("tx"); ok && i == 1 {
				select {
				case counts <- s.Read:
				default:
				}
			}
		}
		g := &Graph{Nodes: []*Node{tx, out}, Edges: []*Edge{{From: tx, To: out, Partitioning: Rebalance}}}
		if _, err := Run(context.Background(), g, opts); err != nil {
			t.Fatal(err)
		}
	}
	close(counts)
	final, _ := mon.Snapshot().Node("tx")
	if final.Read != 3000 {
		t.Fatalf("after the second run the monitor says %d read, want 3000", final.Read)
	}
	for n := range counts {
		if n == 1000 {
			t.Fatal("during the second run the monitor served the first run's final figures")
		}
	}
}
