package op

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"millrace/window"
)

var windowJoinOut = arrow.NewSchema([]arrow.Field{
	{Name: "k", Type: arrow.BinaryTypes.String}, {Name: "t", Type: stateTime, Nullable: true}, {Name: "lid", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "rid", Type: arrow.PrimitiveTypes.Int64, Nullable: true}, {Name: "r_t", Type: stateTime, Nullable: true},
	{Name: "window_start", Type: stateTime}, {Name: "window_end", Type: stateTime}}, nil)

func windowJoinConfig(w window.Spec, leftOuter, rightOuter bool) WindowJoinConfig {
	return WindowJoinConfig{Key: [2][]int{{0}, {1}}, Time: [2]int{1, 2}, Window: w,
		Outer: [2]bool{leftOuter, rightOuter}, Carry: []int{0, 2}, Left: joinLeft, Right: joinRight, Out: windowJoinOut}
}

// renderWindowJoin renders output rows as key|lid|rid|window start|window end, "-" for null,
// sorted.
func renderWindowJoin(recs []arrow.RecordBatch) []string {
	var out []string
	for _, r := range recs {
		for i := range int(r.NumRows()) {
			v := func(c int) string {
				if r.Column(c).IsNull(i) {
					return "-"
				}
				return r.Column(c).ValueStr(i)
			}
			out = append(out, fmt.Sprintf("%s|%s|%s|%d|%d", v(0), v(2), v(3),
				r.Column(5).(*array.Timestamp).Value(i), r.Column(6).(*array.Timestamp).Value(i)))
		}
		r.Release()
	}
	slices.Sort(out)
	return out
}

// referenceWindowJoin pairs every left row with every right row of its key in each window
// both fall in, by enumerating the windows one at a time.
func referenceWindowJoin(events []joinEvent, w window.Spec, leftOuter, rightOuter bool) []string {
	size, slide := w.Size.Milliseconds(), w.Size.Milliseconds()
	if w.Kind == window.Hop {
		slide = w.Every.Milliseconds()
	}
	in := func(t, start int64) bool { return t >= start && t < start+size }
	var out []string
	for start := -(size/slide + 1) * slide; start <= 5000; start += slide {
		matched := map[joinEvent]bool{}
		for _, l := range events {
			for _, r := range events {
				if l.side == 0 && r.side == 1 && l.key == r.key && in(l.t, start) && in(r.t, start) {
					matched[l], matched[r] = true, true
					out = append(out, fmt.Sprintf("%s|%d|%d|%d|%d", l.key, l.id, r.id, start, start+size))
				}
			}
		}
		for _, e := range events {
			switch {
			case !in(e.t, start) || matched[e]:
			case e.side == 0 && leftOuter:
				out = append(out, fmt.Sprintf("%s|%d|-|%d|%d", e.key, e.id, start, start+size))
			case e.side == 1 && rightOuter:
				out = append(out, fmt.Sprintf("%s|-|%d|%d|%d", e.key, e.id, start, start+size))
			}
		}
	}
	slices.Sort(out)
	return out
}

// keyedJoin is a join whose state is kept by key: what runKeyedJoin drives.
type keyedJoin interface {
	Operator
	GroupSnapshotter
	PartsRestorer
	Dropped() int64
}

// runKeyedJoin runs events through p subtasks of a join made by newJoin, as a keyed exchange
// would spread them, with the watermark after every few rows the least time of the rows
// still to come. After stopAt rows every subtask is snapshotted and the state restored into
// p2 fresh subtasks, through Rescale or, with byGroup, through snapshots by key group
// restored in bundles. It checks that no subtask emits a row whose event time (column
// timeCol) is behind the watermark it passed on, and returns the output and the rows the
// subtasks dropped.
func runKeyedJoin(t *testing.T, newJoin func() (keyedJoin, error), events []joinEvent, p, p2, stopAt int, byGroup bool, timeCol int) ([]arrow.RecordBatch, int64) {
	t.Helper()
	mem := memory.DefaultAllocator
	open := func(n int) []keyedJoin {
		js := make([]keyedJoin, n)
		for i := range js {
			var err error
			if js[i], err = newJoin(); err != nil {
				t.Fatal(err)
			}
			if err := js[i].Open(Context{Mem: mem, Subtask: i, Parallelism: n}); err != nil {
				t.Fatal(err)
			}
		}
		return js
	}
	js := open(p)
	var out collect
	sent := make([]int64, p)
	check := func(sub, from int) {
		t.Helper()
		for _, r := range out.recs[from:] {
			times := r.Column(timeCol).(*array.Timestamp)
			for i := range int(r.NumRows()) {
				if int64(times.Value(i)) < sent[sub] {
					t.Fatalf("subtask %d emitted a row at %d after passing on the watermark %d", sub, times.Value(i), sent[sub])
				}
			}
		}
	}
	held := func(j keyedJoin) int64 {
		if h, ok := j.(WatermarkHolder); ok {
			return h.HeldWatermark()
		}
		return MaxWatermark
	}
	for i, e := range events {
		if i == stopAt {
			js = restoreKeyedJoins(t, js, p2, byGroup, open)
			sent = make([]int64, p2)
		}
		owner := joinTestGroup(e.key) * len(js) / 256
		from := len(out.recs)
		if err := js[owner].Process(e.side, e.batch(t, mem), &out); err != nil {
			t.Fatal(err)
		}
		check(owner, from)
		if i%5 == 4 {
			wm := int64(MaxWatermark)
			for _, rest := range events[i+1:] {
				wm = min(wm, rest.t)
			}
			for sub, j := range js {
				from := len(out.recs)
				if err := j.OnWatermark(wm, &out); err != nil {
					t.Fatal(err)
				}
				check(sub, from)
				sent[sub] = max(sent[sub], min(wm, held(j)))
			}
		}
	}
	var dropped int64
	for _, j := range js {
		if err := j.OnWatermark(MaxWatermark, &out); err != nil {
			t.Fatal(err)
		}
		dropped += j.Dropped()
		if err := j.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return out.recs, dropped
}

// restoreKeyedJoins snapshots every subtask and restores the state into n fresh ones.
func restoreKeyedJoins(t *testing.T, js []keyedJoin, n int, byGroup bool, open func(int) []keyedJoin) []keyedJoin {
	t.Helper()
	fresh := open(n)
	if byGroup {
		bundles := make([][][]byte, n)
		for _, j := range js {
			parts, err := j.SnapshotGroups(7, 256, joinTestOwner(256))
			if err != nil {
				t.Fatal(err)
			}
			for kg, part := range parts {
				bundles[kg*n/256] = append(bundles[kg*n/256], part)
			}
		}
		for i, b := range bundles {
			if err := fresh[i].RestoreParts(b); err != nil {
				t.Fatal(err)
			}
		}
	} else {
		states := make([][]byte, len(js))
		for i, j := range js {
			var err error
			if states[i], err = j.Snapshot(7); err != nil {
				t.Fatal(err)
			}
		}
		moved, err := fresh[0].Rescale(states, n, joinTestOwner(n))
		if err != nil {
			t.Fatal(err)
		}
		for i, st := range moved {
			if st == nil {
				continue
			}
			if err := fresh[i].Restore(st); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, j := range js {
		if err := j.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return fresh
}

// TestWindowJoinBoundaries checks by hand: rows at a window's first millisecond join, a row
// at its end falls in the next window, a hopping window joins a pair once per window they
// share, and an unmatched row of an outer side comes out once per window, when the
// watermark reaches the window's end and not before.
func TestWindowJoinBoundaries(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)
	hop := window.Spec{Kind: window.Hop, Size: 10 * time.Millisecond, Every: 5 * time.Millisecond}
	j, err := NewWindowJoin(windowJoinConfig(hop, true, false))
	if err != nil {
		t.Fatal(err)
	}
	if err := j.Open(Context{Mem: mem}); err != nil {
		t.Fatal(err)
	}
	var out collect
	feed := func(events ...joinEvent) []string {
		t.Helper()
		for _, e := range events {
			if err := j.Process(e.side, e.batch(t, mem), &out); err != nil {
				t.Fatal(err)
			}
		}
		got := renderWindowJoin(out.recs)
		out.recs = nil
		return got
	}
	watermark := func(wm int64) []string {
		t.Helper()
		if err := j.OnWatermark(wm, &out); err != nil {
			t.Fatal(err)
		}
		got := renderWindowJoin(out.recs)
		out.recs = nil
		return got
	}
	// Windows of 10 every 5: a row at 10 is in [5, 15) and [10, 20); one at 14 as well.
	if got := feed(joinEvent{0, "a", 10, 1}, joinEvent{1, "a", 14, 2}); !slices.Equal(got, []string{"a|1|2|10|20", "a|1|2|5|15"}) {
		t.Fatalf("a pair sharing two windows: %v", got)
	}
	// A right row at 20 shares no window with the left row at 10.
	if got := feed(joinEvent{1, "a", 20, 3}); len(got) != 0 {
		t.Fatalf("a row at the window's end joined: %v", got)
	}
	// A left row of another key joins nothing; it comes out for each of its windows once
	// the watermark reaches that window's end.
	if got := feed(joinEvent{0, "b", 12, 4}); len(got) != 0 {
		t.Fatalf("unmatched: %v", got)
	}
	if got := watermark(14); len(got) != 0 {
		t.Fatalf("before the window's end: %v", got)
	}
	if got := watermark(15); !slices.Equal(got, []string{"b|4|-|5|15"}) {
		t.Fatalf("at the end of [5, 15): %v", got)
	}
	if got := watermark(30); !slices.Equal(got, []string{"b|4|-|10|20"}) {
		t.Fatalf("at the end of [10, 20): %v", got)
	}
	if j.Dropped() != 2 { // the right row at 20, in [15, 25) and in [20, 30)
		t.Errorf("dropped %d right rows, want 2", j.Dropped())
	}
	if j.StateBytes() != 0 || len(j.windows) != 0 {
		t.Errorf("after every window closed: %d bytes, %d windows", j.StateBytes(), len(j.windows))
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestWindowJoinMatchesReference compares every join type, over tumbling and hopping
// windows, against the pairs of every window enumerated one at a time, at parallelism 1 to
// 8, with a snapshot restored at another parallelism (by Rescale and by key group) halfway.
func TestWindowJoinMatchesReference(t *testing.T) {
	types := []struct {
		name        string
		left, right bool
	}{{"inner", false, false}, {"left", true, false}, {"right", false, true}, {"full", true, true}}
	windows := []window.Spec{{Kind: window.Tumble, Size: 100 * time.Millisecond},
		{Kind: window.Hop, Size: 150 * time.Millisecond, Every: 50 * time.Millisecond},
		{Kind: window.Hop, Size: 70 * time.Millisecond, Every: 30 * time.Millisecond}}
	parallelisms := []int{1, 2, 3, 4, 5, 6, 7, 8}
	if testing.Short() {
		parallelisms = []int{1, 3, 8}
	}
	for seed := range uint64(2) {
		events := randomJoinEvents(seed, 400, 40)
		for _, w := range windows {
			for _, ty := range types {
				want := referenceWindowJoin(events, w, ty.left, ty.right)
				cfg := windowJoinConfig(w, ty.left, ty.right)
				newJoin := func() (keyedJoin, error) { return NewWindowJoin(cfg) }
				for _, p := range parallelisms {
					for _, byGroup := range []bool{false, true} {
						recs, _ := runKeyedJoin(t, newJoin, events, p, 9-p, len(events)/2, byGroup, 6)
						if got := renderWindowJoin(recs); !slices.Equal(got, want) {
							t.Fatalf("seed %d, %s, %s, p %d then %d (by key group %v): %d rows, want %d; first difference %s",
								seed, w, ty.name, p, 9-p, byGroup, len(got), len(want), firstJoinDifference(got, want))
						}
					}
				}
			}
		}
	}
}

func TestWindowJoinRefusesOtherWindows(t *testing.T) {
	cfg := windowJoinConfig(window.Spec{Kind: window.Session, Gap: time.Second}, false, false)
	if _, err := NewWindowJoin(cfg); err == nil {
		t.Error("a session window join was made")
	}
}
