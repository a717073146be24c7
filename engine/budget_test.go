package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"millrace/format"
	"millrace/op"
	"millrace/source"
	"millrace/window"
)

var keyTime = arrow.NewSchema([]arrow.Field{
	{Name: "key", Type: arrow.BinaryTypes.String},
	{Name: "ts", Type: &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "UTC"}},
}, nil)

// minutes is a source of (key, ts) rows: partition p yields one batch per minute, for
// minutes[p] minutes, of keys[p] distinct keys at that minute. Until gates[p] closes, when
// it has one, partition p yields nothing, as a live partition with no data yet.
type minutes struct {
	boundedSource
	minutes, keys []int
	gates         []chan struct{}
}

func (s *minutes) Schema() *arrow.Schema { return keyTime }
func (s *minutes) Partitions() int       { return len(s.minutes) }
func (s *minutes) Open(_ context.Context, p int, _ []byte) (source.PartitionReader, error) {
	r := &minuteReader{p: p, left: s.minutes[p], keys: s.keys[p]}
	if p < len(s.gates) {
		r.gate = s.gates[p]
	}
	return r, nil
}

type minuteReader struct {
	plainReader
	p, left, keys, minute int
	gate                  chan struct{}
}

func (r *minuteReader) Read(context.Context) (arrow.RecordBatch, []format.DeadLetter, error) {
	if r.gate != nil {
		select {
		case <-r.gate:
			r.gate = nil
		default:
			return nil, nil, nil // nothing yet, as a live partition says: the subtask goes on with barriers
		}
	}
	if r.left == 0 {
		return nil, nil, io.EOF
	}
	r.left--
	b := array.NewRecordBuilder(memory.DefaultAllocator, keyTime)
	defer b.Release()
	ts := arrow.Timestamp(time.Date(2026, 12, 1, 0, r.minute, 0, 0, time.UTC).UnixMilli())
	for k := range r.keys {
		b.Field(0).(*array.StringBuilder).Append(fmt.Sprintf("p%d-key-%06d", r.p, k))
		b.Field(1).(*array.TimestampBuilder).Append(ts)
	}
	r.minute++
	return b.NewRecordBatch(), nil, nil
}

// windowRows collects the rows of fired windows as "key window_start count" lines.
type windowRows struct {
	op.Base
	mu   *sync.Mutex
	rows *[]string
}

func (w *windowRows) Process(_ int, rec arrow.RecordBatch, _ op.Collector) error {
	defer rec.Release()
	w.mu.Lock()
	defer w.mu.Unlock()
	keys, starts, counts := rec.Column(0).(*array.String), rec.Column(1).(*array.Timestamp), rec.Column(3).(*array.Int64)
	for i := range int(rec.NumRows()) {
		*w.rows = append(*w.rows, fmt.Sprintf("%s %d %d", keys.Value(i), starts.Value(i), counts.Value(i)))
	}
	return nil
}

// countPerMinute runs src into count(*) per key and 1-minute window, and returns the fired
// rows sorted, the run's stats and its error.
func countPerMinute(t *testing.T, src source.Source, parallelism int, opts Options) ([]string, *Stats, error) {
	t.Helper()
	tsType := keyTime.Field(1).Type
	out := arrow.NewSchema([]arrow.Field{
		{Name: "key", Type: arrow.BinaryTypes.String}, {Name: "window_start", Type: tsType},
		{Name: "window_end", Type: tsType}, {Name: "n", Type: arrow.PrimitiveTypes.Int64},
	}, nil)
	cfg := op.WindowAggConfig{Window: window.Spec{Kind: window.Tumble, Size: time.Minute}, Keys: 1, Time: 1,
		Calls: []op.AggCall{{Name: "count"}}, Phase: op.Single, Out: out}
	if _, err := op.NewWindowAgg(cfg); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var rows []string
	in := &Node{Name: "tx", Parallelism: parallelism, Source: src, Watermarks: WatermarkPolicy{EventTime: 1}}
	velocity := &Node{Name: "velocity", Parallelism: 1, Operator: func(int) (op.Operator, error) {
		w, _ := op.NewWindowAgg(cfg)
		return w, nil
	}}
	sink := &Node{Name: "out", Parallelism: 1, Operator: func(int) (op.Operator, error) { return &windowRows{mu: &mu, rows: &rows}, nil }}
	g := &Graph{Nodes: []*Node{in, velocity, sink}, Edges: []*Edge{
		{From: in, To: velocity, Partitioning: Hash, Key: []string{"key"}},
		{From: velocity, To: sink, Partitioning: Forward},
	}}
	st, err := Run(context.Background(), g, opts)
	slices.Sort(rows)
	return rows, st, err
}

// TestMemoryBudgetStopsARunThatOutgrowsIt holds 20,000 keys in one window under a budget of
// 256 KiB: the run must end with a BudgetError naming the window step, not grow on.
func TestMemoryBudgetStopsARunThatOutgrowsIt(t *testing.T) {
	opts := DefaultOptions()
	opts.MemoryBudget = 256 << 10
	_, st, err := countPerMinute(t, &minutes{minutes: []int{1}, keys: []int{20_000}}, 1, opts)
	var be *BudgetError
	if !errors.As(err, &be) {
		t.Fatalf("run ended with %v, want a BudgetError", err)
	}
	if be.Step != "velocity" || be.StepBytes <= opts.MemoryBudget || be.Budget != opts.MemoryBudget {
		t.Errorf("budget error %+v", be)
	}
	if !strings.Contains(err.Error(), "step velocity holds ") || !strings.Contains(err.Error(), "above --memory-budget 256.0 KiB: raise it, shorten the window, or add parallelism") {
		t.Errorf("error reads %q", err)
	}
	if out, _ := st.Node("out"); out.RowsIn != 0 {
		t.Errorf("the window fired %d rows before the stop", out.RowsIn)
	}
}

// TestMemoryBudgetPausesSourcesAhead runs a source whose partition 0 sends 50 keys a minute
// for 800 minutes while partition 1, one key a minute, holds the watermark back: it sends
// nothing until partition 0 has paused for the budget. Without the pause partition 0 would
// fill every window, about twice the budget of 1 MiB; with it, partition 1's rows move the
// watermark, windows fire, the state falls and partition 0 goes on. The run must complete
// with the rows of a run without a budget. (The state may pass the high-water mark by what
// is in flight and by a step of its slices' growth, a quarter of them at most: the budget
// leaves room for both.)
func TestMemoryBudgetPausesSourcesAhead(t *testing.T) {
	const minutesOf, keys = 800, 50
	want, _, err := countPerMinute(t, &minutes{minutes: []int{minutesOf, minutesOf}, keys: []int{keys, 1}}, 2, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	if len(want) != minutesOf*(keys+1) {
		t.Fatalf("an unbounded run fired %d rows, want %d", len(want), minutesOf*(keys+1))
	}

	gate := make(chan struct{})
	var once sync.Once
	opts := DefaultOptions()
	opts.MemoryBudget = 1 << 20
	var pausedAt int64
	opts.MemoryPaused = func(node string, sub int, state int64) {
		once.Do(func() {
			pausedAt = state
			close(gate)
		})
	}
	src := &minutes{minutes: []int{minutesOf, minutesOf}, keys: []int{keys, 1}, gates: []chan struct{}{nil, gate}}
	got, st, err := countPerMinute(t, src, 2, opts)
	if err != nil {
		t.Fatalf("run under a budget: %v", err)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("run under a budget fired %d rows, unlike the %d of a run without", len(got), len(want))
	}
	tx, _ := st.Node("tx")
	// Partition 1 may run ahead in turn once it reads, and pause too.
	if tx.Subtasks[0].MemoryPauses == 0 || tx.MemoryPauses != tx.Subtasks[0].MemoryPauses+tx.Subtasks[1].MemoryPauses {
		t.Errorf("pauses per subtask: %d, %d (%d in all); want the one ahead to pause",
			tx.Subtasks[0].MemoryPauses, tx.Subtasks[1].MemoryPauses, tx.MemoryPauses)
	}
	if high := int64(float64(opts.MemoryBudget) * highWater); pausedAt <= high {
		t.Errorf("paused with %d bytes of state, at or under the high-water mark %d", pausedAt, high)
	}
}

func TestMustWait(t *testing.T) {
	const high, heapLimit = 750, 1250
	for _, c := range []struct {
		state, heap, heapLimit int64
		holds, want            bool
	}{
		{state: 700, heap: 1000, heapLimit: heapLimit, want: false},
		{state: 800, heap: 1000, heapLimit: heapLimit, want: true},
		{state: 800, heap: 1000, heapLimit: heapLimit, holds: true, want: false}, // it holds the watermark back
		{state: 100, heap: 1300, heapLimit: heapLimit, want: true},               // the heap, whatever holds it
		{state: 100, heap: 1300, heapLimit: heapLimit, holds: true, want: false},
		{state: 100, heap: 1 << 40, heapLimit: 0, want: false}, // the heap not watched
	} {
		if got := mustWait(c.state, high, c.heap, c.heapLimit, c.holds); got != c.want {
			t.Errorf("mustWait(state %d, heap %d of %d, holds %v) = %v", c.state, c.heap, c.heapLimit, c.holds, got)
		}
	}
}

// TestAPausedSourceGoesOnToItsBarrier pauses a source ahead of the watermark with the state
// above the high-water mark, then starts a checkpoint: the source must go on, or a step
// aligning on the barriers would hold back the rows of the source behind, whose watermark
// alone can make the state fall, and wait for its barrier forever.
func TestAPausedSourceGoesOnToItsBarrier(t *testing.T) {
	ahead, behind := &NodeStats{Name: "tx", Subtask: 0}, &NodeStats{Name: "tx", Subtask: 1}
	ahead.Watermark.Store(120_000)
	behind.Watermark.Store(60_000)
	paused := make(chan struct{})
	g := newMemoryGuard(1000, 0, []*NodeStats{ahead, behind}, func(string, int, int64) { close(paused) })
	g.handled(0, 900) // above the high-water mark of 750
	trigger := make(chan uint64, 1)
	admitted := make(chan error)
	go func() { admitted <- g.admit(context.Background(), context.Background(), ahead, trigger) }()
	<-paused // the source waits
	trigger <- 7
	g.kick() // as the coordinator does once it has triggered a checkpoint
	if err := <-admitted; err != nil {
		t.Fatal(err)
	}
	if ahead.MemoryPauses.Load() != 1 {
		t.Errorf("%d pauses counted, want 1", ahead.MemoryPauses.Load())
	}
	// The source behind is never held, and one ahead goes on at once while a barrier waits.
	if err := g.admit(context.Background(), context.Background(), behind, nil); err != nil {
		t.Fatal(err)
	}
	if err := g.admit(context.Background(), context.Background(), ahead, trigger); err != nil {
		t.Fatal(err)
	}
}
