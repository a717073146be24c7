package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"millrace/format"
	"millrace/op"
	"millrace/source"
)

// counter is a resumable source: partition p yields the values p, p+parts, p+2*parts, ...
// below n, ten to a batch, each with its own value as event time and its group, value % 4.
type counter struct {
	n, parts int64
	pause    time.Duration
	// commits, when set, records Committed; the readers then hold back the second half of
	// their values, polling empty, until the first commit.
	commits *commitLog
}

// commitLog records what a source was told of durable checkpoints.
type commitLog struct {
	mu    sync.Mutex
	calls []commitCall
	first chan struct{} // closed by the first call
}

type commitCall struct {
	checkpoint uint64
	positions  map[int][]byte
}

func (l *commitLog) committed() bool {
	select {
	case <-l.first:
		return true
	default:
		return false
	}
}

var counted = arrow.NewSchema([]arrow.Field{
	{Name: "k", Type: arrow.PrimitiveTypes.Int64},
	{Name: "ts", Type: &arrow.TimestampType{Unit: arrow.Millisecond}},
	{Name: "g", Type: arrow.PrimitiveTypes.Int64},
}, nil)

func (c *counter) Schema() *arrow.Schema { return counted }
func (c *counter) Partitions() int       { return int(c.parts) }
func (c *counter) Capabilities() source.Capabilities {
	return source.Capabilities{Bounded: true, Resumable: true}
}
func (c *counter) Size(int) int64 { return 0 }
func (c *counter) Committed(_ context.Context, id uint64, positions map[int][]byte) error {
	if c.commits == nil {
		return nil
	}
	c.commits.mu.Lock()
	defer c.commits.mu.Unlock()
	c.commits.calls = append(c.commits.calls, commitCall{id, positions})
	if len(c.commits.calls) == 1 {
		close(c.commits.first)
	}
	return nil
}
func (c *counter) Open(_ context.Context, p int, pos []byte) (source.PartitionReader, error) {
	r := &counterReader{c: c, next: int64(p)}
	if pos != nil {
		if err := json.Unmarshal(pos, &r.next); err != nil {
			return nil, err
		}
	}
	return r, nil
}

type counterReader struct {
	c    *counter
	next int64
}

func (r *counterReader) Read(context.Context) (arrow.RecordBatch, []format.DeadLetter, error) {
	if r.next >= r.c.n {
		return nil, nil, io.EOF
	}
	if r.c.commits != nil && r.next >= r.c.n/2 && !r.c.commits.committed() {
		return nil, nil, nil // nothing yet: the engine goes on and hears of commits
	}
	time.Sleep(r.c.pause)
	k, g := array.NewInt64Builder(memory.DefaultAllocator), array.NewInt64Builder(memory.DefaultAllocator)
	ts := array.NewTimestampBuilder(memory.DefaultAllocator, counted.Field(1).Type.(*arrow.TimestampType))
	defer k.Release()
	defer g.Release()
	defer ts.Release()
	for i := 0; i < 10 && r.next < r.c.n; i++ {
		k.Append(r.next)
		ts.Append(arrow.Timestamp(r.next))
		g.Append(r.next % 4)
		r.next += r.c.parts
	}
	kc, tc, gc := k.NewArray(), ts.NewArray(), g.NewArray()
	defer kc.Release()
	defer tc.Release()
	defer gc.Release()
	return array.NewRecordBatch(counted, []arrow.Array{kc, tc, gc}, int64(kc.Len())), nil, nil
}
func (r *counterReader) Checkpoint() ([]byte, error) { return json.Marshal(r.next) }
func (r *counterReader) Progress() source.Progress   { return source.Progress{} }
func (r *counterReader) Position() format.Position   { return format.Position{} }
func (r *counterReader) Close() error                { return nil }

// sumByKey sums k per group and emits the sums at the final watermark, as a window would at
// the end of bounded input; a stopped run emits nothing.
type sumByKey struct {
	op.Base
	sums map[int64]int64
}

func (s *sumByKey) Open(op.Context) error { s.sums = map[int64]int64{}; return nil }
func (s *sumByKey) Process(_ int, rec arrow.RecordBatch, _ op.Collector) error {
	defer rec.Release()
	for _, v := range rec.Column(0).(*array.Int64).Int64Values() {
		s.sums[v%4] += v
	}
	return nil
}
func (s *sumByKey) OnWatermark(wm int64, out op.Collector) error {
	if wm != op.MaxWatermark {
		return nil
	}
	b := array.NewInt64Builder(memory.DefaultAllocator)
	defer b.Release()
	for _, k := range slices.Sorted(mapsKeys(s.sums)) {
		b.Append(k*1_000_000_000 + s.sums[k])
	}
	col := b.NewArray()
	defer col.Release()
	return out.Collect(array.NewRecordBatch(arrow.NewSchema([]arrow.Field{{Name: "k", Type: arrow.PrimitiveTypes.Int64}}, nil), []arrow.Array{col}, int64(col.Len())))
}
func (s *sumByKey) Snapshot(uint64) ([]byte, error) { return json.Marshal(s.sums) }
func (s *sumByKey) Restore(state []byte) error      { return json.Unmarshal(state, &s.sums) }

func mapsKeys(m map[int64]int64) func(func(int64) bool) {
	return func(yield func(int64) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// disk is what a test sink's files would be: it survives a crash of the run.
type disk struct {
	mu        sync.Mutex
	pending   map[string][]int64 // file -> values, not visible
	published map[string][]int64 // file -> values, visible
	seq       int
}

func newDisk() *disk { return &disk{pending: map[string][]int64{}, published: map[string][]int64{}} }

// values lists every published value, sorted.
func (d *disk) values() []int64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []int64
	for _, vs := range d.published {
		out = append(out, vs...)
	}
	slices.Sort(out)
	return out
}

// twoPhase is a Committer sink over a disk: rows buffer until a snapshot readies them in a
// pending file named for the checkpoint; Commit publishes the pending files up to an id.
type twoPhase struct {
	op.Base
	d       *disk
	name    string
	buf     []int64
	readied map[uint64][]string // checkpoint -> files it readied, not yet committed
}

func (s *twoPhase) Open(ctx op.Context) error {
	s.name = fmt.Sprintf("%s-%d", ctx.Node, ctx.Subtask)
	s.readied = map[uint64][]string{}
	return nil
}
func (s *twoPhase) Process(_ int, rec arrow.RecordBatch, _ op.Collector) error {
	defer rec.Release()
	s.buf = append(s.buf, rec.Column(0).(*array.Int64).Int64Values()...)
	return nil
}
func (s *twoPhase) Snapshot(id uint64) ([]byte, error) {
	s.d.mu.Lock()
	s.d.seq++
	file := fmt.Sprintf("%s.%d.%d", s.name, id, s.d.seq)
	s.d.pending[file] = s.buf
	s.d.mu.Unlock()
	s.buf = nil
	s.readied[id] = append(s.readied[id], file)
	var all []string
	for _, fs := range s.readied {
		all = append(all, fs...)
	}
	return json.Marshal(all)
}
func (s *twoPhase) Commit(id uint64) error {
	s.d.mu.Lock()
	defer s.d.mu.Unlock()
	for cp, files := range s.readied {
		if cp > id {
			continue
		}
		for _, f := range files {
			s.d.published[f] = s.d.pending[f]
			delete(s.d.pending, f)
		}
		delete(s.readied, cp)
	}
	return nil
}
func (s *twoPhase) Restore(state []byte) error {
	var files []string
	if err := json.Unmarshal(state, &files); err != nil {
		return err
	}
	s.d.mu.Lock()
	defer s.d.mu.Unlock()
	for _, f := range files {
		if vs, ok := s.d.pending[f]; ok {
			s.d.published[f] = vs
		}
	}
	for f := range s.d.pending { // written after the checkpoint: it will be written again
		if len(f) > len(s.name) && f[:len(s.name)+1] == s.name+"." {
			delete(s.d.pending, f)
		}
	}
	return nil
}

// checkpointGraph reads n values into a sink of every value and, through a sum keyed by
// group, a sink of the sums.
func checkpointGraph(n int64, d *disk) *Graph { return scaledGraph(n, d, 2) }

// scaledGraph is checkpointGraph with its source, sum and raw sink at parallelism p.
func scaledGraph(n int64, d *disk, p int) *Graph {
	src := &Node{Name: "src", Parallelism: p, Source: &counter{n: n, parts: 4, pause: 100 * time.Microsecond}, Watermarks: WatermarkPolicy{EventTime: 1}}
	sum := &Node{Name: "sum", Parallelism: p, Operator: func(int) (op.Operator, error) { return &sumByKey{}, nil }}
	raw := &Node{Name: "raw", Parallelism: p, Operator: func(int) (op.Operator, error) { return &twoPhase{d: d}, nil }}
	sums := &Node{Name: "sums", Parallelism: 1, Operator: func(int) (op.Operator, error) { return &twoPhase{d: d}, nil }}
	return &Graph{Nodes: []*Node{src, sum, raw, sums}, Edges: []*Edge{
		{From: src, To: sum, Partitioning: Hash, Key: []string{"g"}},
		{From: src, To: raw, Partitioning: Rebalance},
		{From: sum, To: sums, Partitioning: Rebalance},
	}}
}

// wantValues is what checkpointGraph publishes over n values.
func wantValues(n int64) []int64 {
	sums := map[int64]int64{}
	var out []int64
	for v := range n {
		out = append(out, v)
		sums[v%4] += v
	}
	for k, s := range sums {
		out = append(out, k*1_000_000_000+s)
	}
	slices.Sort(out)
	return out
}

func TestCheckpointsOfAnUninterruptedRun(t *testing.T) {
	d := newDisk()
	var taken []*Snapshot
	opts := DefaultOptions()
	opts.Checkpointing = &Checkpointing{Interval: 5 * time.Millisecond, Complete: func(s *Snapshot) error {
		taken = append(taken, s)
		return nil
	}}
	st, err := Run(context.Background(), checkpointGraph(20000, d), opts)
	if err != nil {
		t.Fatal(err)
	}
	if c := st.Checkpoints; c.Completed != int64(len(taken)) || c.Failed != 0 || c.Last != uint64(len(taken)) || c.LastDuration <= 0 {
		t.Errorf("checkpoint figures %+v after %d checkpoints", c, len(taken))
	}
	if got, want := d.values(), wantValues(20000); !slices.Equal(got, want) {
		t.Fatalf("published %d values, want %d", len(got), len(want))
	}
	if len(taken) < 3 {
		t.Fatalf("%d checkpoints over the run", len(taken))
	}
	before := map[string]int64{}
	for i, s := range taken {
		last := i == len(taken)-1
		if s.ID != uint64(i+1) || s.Final != last || len(s.Parts["src"]) != 2 || len(s.Parts["sums"]) != 1 {
			t.Fatalf("checkpoint %d: %+v", i, s)
		}
		for node, wm := range s.Watermarks {
			if wm < before[node] {
				t.Errorf("checkpoint %d: the watermark of %s went back from %d to %d", s.ID, node, before[node], wm)
			}
			before[node] = wm
		}
	}
	if final := taken[len(taken)-1].Watermarks; final["sum"] != op.MaxWatermark || final["src"] != op.MaxWatermark {
		t.Errorf("the final checkpoint's watermarks: %v", final)
	}
	if len(d.pending) != 0 {
		t.Errorf("files left pending: %v", d.pending)
	}
}

// TestSourcesAreToldOfDurableCheckpoints checks that a source hears, after a checkpoint
// is durable, the positions that checkpoint holds for its partitions, in order.
func TestSourcesAreToldOfDurableCheckpoints(t *testing.T) {
	d := newDisk()
	g := checkpointGraph(4000, d)
	log := &commitLog{first: make(chan struct{})}
	g.Nodes[0].Source.(*counter).commits = log
	var mu sync.Mutex
	durable := map[uint64]*Snapshot{}
	opts := DefaultOptions()
	opts.Checkpointing = &Checkpointing{Interval: 5 * time.Millisecond, Complete: func(s *Snapshot) error {
		mu.Lock()
		defer mu.Unlock()
		durable[s.ID] = s
		return nil
	}}
	if _, err := Run(context.Background(), g, opts); err != nil {
		t.Fatal(err)
	}
	if got, want := d.values(), wantValues(4000); !slices.Equal(got, want) {
		t.Fatalf("published %d values, want %d", len(got), len(want))
	}
	if len(log.calls) == 0 {
		t.Fatal("the source was told of no checkpoint")
	}
	last := map[int]uint64{} // partition -> the checkpoint last committed
	for _, c := range log.calls {
		s, ok := durable[c.checkpoint]
		if !ok {
			t.Fatalf("committed checkpoint %d, which was never durable", c.checkpoint)
		}
		held := map[int]string{}
		for _, part := range s.Parts["src"] {
			var st SourcePart
			if err := json.Unmarshal(part, &st); err != nil {
				t.Fatal(err)
			}
			for _, pp := range st.Partitions {
				held[pp.Index] = string(pp.Position)
			}
		}
		for p, pos := range c.positions {
			if held[p] != string(pos) {
				t.Errorf("checkpoint %d, partition %d: committed %s, the checkpoint holds %s", c.checkpoint, p, pos, held[p])
			}
			if c.checkpoint <= last[p] {
				t.Errorf("partition %d: checkpoint %d committed after %d", p, c.checkpoint, last[p])
			}
			last[p] = c.checkpoint
		}
	}
}

// crashAfter runs g with checkpoints and aborts it, as if killed, right after checkpoint
// id became durable; it returns that checkpoint.
func crashAfter(t *testing.T, g *Graph, id uint64) *Snapshot {
	t.Helper()
	var last *Snapshot
	ctx, crash := context.WithCancel(context.Background())
	defer crash()
	opts := DefaultOptions()
	opts.Checkpointing = &Checkpointing{Interval: 5 * time.Millisecond, Complete: func(s *Snapshot) error {
		last = s
		if s.ID == id {
			crash()
		}
		return nil
	}}
	if _, err := Run(ctx, g, opts); !errors.Is(err, context.Canceled) {
		t.Fatalf("crash after checkpoint %d: %v", id, err)
	}
	if last == nil || last.Final {
		t.Fatalf("crash after checkpoint %d: last checkpoint %+v", id, last)
	}
	return last
}

// TestResumeAfterACrash aborts runs at several moments and resumes each from the last
// checkpoint that completed: every value is published exactly once.
func TestResumeAfterACrash(t *testing.T) {
	const n = 20000
	for _, after := range []int{1, 2, 5} {
		d := newDisk()
		last := crashAfter(t, checkpointGraph(n, d), uint64(after))
		resumed := DefaultOptions()
		resumed.Checkpointing = &Checkpointing{Interval: 5 * time.Millisecond, Restore: last, Complete: func(s *Snapshot) error {
			if s.ID <= last.ID {
				t.Errorf("checkpoint %d after resuming from %d", s.ID, last.ID)
			}
			return nil
		}}
		if _, err := Run(context.Background(), checkpointGraph(n, d), resumed); err != nil {
			t.Fatal(err)
		}
		if got, want := d.values(), wantValues(n); !slices.Equal(got, want) {
			t.Errorf("crash after checkpoint %d: published %d values, want %d", after, len(got), len(want))
		}
	}
}

// TestStopTakesAFinalCheckpoint stops a run gracefully: it ends with a checkpoint that is
// not final, from which a new run finishes the work.
func TestStopTakesAFinalCheckpoint(t *testing.T) {
	const n = 20000
	d := newDisk()
	var last *Snapshot
	stop := make(chan struct{})
	opts := DefaultOptions()
	opts.Stop = stop
	opts.Checkpointing = &Checkpointing{Interval: 5 * time.Millisecond, Complete: func(s *Snapshot) error {
		last = s
		if s.ID == 2 {
			close(stop)
		}
		return nil
	}}
	if _, err := Run(context.Background(), checkpointGraph(n, d), opts); err != nil {
		t.Fatal(err)
	}
	if last == nil || last.Final || last.ID < 3 {
		t.Fatalf("last checkpoint %+v", last)
	}
	if got := d.values(); len(got) == 0 || len(got) >= n {
		t.Fatalf("a stopped run published %d values", len(got))
	}
	resumed := DefaultOptions()
	resumed.Checkpointing = &Checkpointing{Interval: 5 * time.Millisecond, Restore: last, Complete: func(*Snapshot) error { return nil }}
	if _, err := Run(context.Background(), checkpointGraph(n, d), resumed); err != nil {
		t.Fatal(err)
	}
	if got, want := d.values(), wantValues(n); !slices.Equal(got, want) {
		t.Errorf("published %d values, want %d", len(got), len(want))
	}
}
