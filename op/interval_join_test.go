package op

import (
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

var (
	joinLeft = arrow.NewSchema([]arrow.Field{
		{Name: "k", Type: arrow.BinaryTypes.String}, {Name: "t", Type: stateTime}, {Name: "lid", Type: arrow.PrimitiveTypes.Int64}}, nil)
	joinRight = arrow.NewSchema([]arrow.Field{
		{Name: "rid", Type: arrow.PrimitiveTypes.Int64}, {Name: "k", Type: arrow.BinaryTypes.String}, {Name: "t", Type: stateTime}}, nil)
	joinOut = arrow.NewSchema([]arrow.Field{
		{Name: "k", Type: arrow.BinaryTypes.String}, {Name: "t", Type: stateTime, Nullable: true}, {Name: "lid", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "rid", Type: arrow.PrimitiveTypes.Int64, Nullable: true}, {Name: "r_t", Type: stateTime, Nullable: true},
		{Name: "event_time", Type: stateTime}}, nil)
)

func joinConfig(lo, hi int64, leftOuter, rightOuter bool) IntervalJoinConfig {
	return IntervalJoinConfig{Key: [2][]int{{0}, {1}}, Time: [2]int{1, 2}, Lower: lo, Upper: hi,
		Outer: [2]bool{leftOuter, rightOuter}, Carry: []int{0, 2}, Left: joinLeft, Right: joinRight, Out: joinOut}
}

// joinRows renders output rows as key|lid|rid|event time, "-" for null, sorted.
func joinRows(t testing.TB, recs []arrow.RecordBatch) []string {
	t.Helper()
	var out []string
	for _, r := range recs {
		for i := range int(r.NumRows()) {
			v := func(c int) string {
				if r.Column(c).IsNull(i) {
					return "-"
				}
				return r.Column(c).ValueStr(i)
			}
			out = append(out, v(0)+"|"+v(2)+"|"+v(3)+"|"+strconv.FormatInt(int64(r.Column(5).(*array.Timestamp).Value(i)), 10))
		}
		r.Release()
	}
	slices.Sort(out)
	return out
}

// joinEvent is a row of one side of a join test.
type joinEvent struct {
	side int
	key  string
	t    int64
	id   int64
}

func (e joinEvent) batch(t testing.TB, mem memory.Allocator) arrow.RecordBatch {
	id, ts := strconv.FormatInt(e.id, 10), strconv.FormatInt(e.t, 10)
	if e.side == 0 {
		return batch(t, mem, joinLeft, []string{e.key}, []string{ts}, []string{id})
	}
	return batch(t, mem, joinRight, []string{id}, []string{e.key}, []string{ts})
}

// referenceJoin joins every left row with every right row, one pair at a time.
func referenceJoin(events []joinEvent, lo, hi int64, leftOuter, rightOuter bool) []string {
	var out []string
	matched := map[joinEvent]bool{}
	for _, l := range events {
		for _, r := range events {
			if l.side != 0 || r.side != 1 || l.key != r.key || r.t-l.t < lo || r.t-l.t > hi {
				continue
			}
			matched[l], matched[r] = true, true
			out = append(out, fmt.Sprintf("%s|%d|%d|%d", l.key, l.id, r.id, max(l.t, r.t)))
		}
	}
	for _, e := range events {
		switch {
		case matched[e]:
		case e.side == 0 && leftOuter:
			out = append(out, fmt.Sprintf("%s|%d|-|%d", e.key, e.id, e.t))
		case e.side == 1 && rightOuter:
			out = append(out, fmt.Sprintf("%s|-|%d|%d", e.key, e.id, e.t))
		}
	}
	slices.Sort(out)
	return out
}

// TestIntervalJoinBoundaries checks each boundary by hand: equal times join, both bounds
// are inclusive, a row one millisecond outside does not join, and an unmatched row of an
// outer side comes out once, when the watermark passes its bound and not at it.
func TestIntervalJoinBoundaries(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)
	j, err := NewIntervalJoin(joinConfig(-5, 10, true, true))
	if err != nil {
		t.Fatal(err)
	}
	if err := j.Open(Context{Mem: mem}); err != nil {
		t.Fatal(err)
	}
	var out collect
	feed := func(events ...joinEvent) {
		t.Helper()
		for _, e := range events {
			if err := j.Process(e.side, e.batch(t, mem), &out); err != nil {
				t.Fatal(err)
			}
		}
	}
	watermark := func(wm int64) []string {
		t.Helper()
		if err := j.OnWatermark(wm, &out); err != nil {
			t.Fatal(err)
		}
		rows := joinRows(t, out.recs)
		out.recs = nil
		return rows
	}
	feed(joinEvent{0, "a", 100, 1})
	feed(joinEvent{1, "a", 100, 10}, joinEvent{1, "a", 110, 11}, joinEvent{1, "a", 95, 12},
		joinEvent{1, "a", 111, 13}, joinEvent{1, "a", 94, 14}, joinEvent{1, "b", 100, 15})
	if got, want := joinRows(t, out.recs), []string{"a|1|10|100", "a|1|11|110", "a|1|12|100"}; !slices.Equal(got, want) {
		t.Fatalf("pairs: got %v, want %v", got, want)
	}
	out.recs = nil
	if held := j.HeldWatermark(); held != 94 {
		t.Fatalf("held watermark %d, want 94 (the earliest right row kept)", held)
	}
	// The left row at 100 waits for a right row up to 110: the watermark 110 keeps it.
	if got := watermark(99); len(got) != 0 {
		t.Fatalf("at watermark 99: %v", got)
	}
	// A right row at t waits for left rows down to t - 10 ... up to t + 5: the row at 94
	// waits for the watermark to pass 99, 95 to pass 100.
	if got, want := watermark(100), []string{"a|-|14|94"}; !slices.Equal(got, want) {
		t.Fatalf("at watermark 100: got %v, want %v", got, want)
	}
	if got := watermark(110); !slices.Equal(got, []string{"b|-|15|100"}) {
		t.Fatalf("at watermark 110: %v", got)
	}
	if got, want := watermark(117), []string{"a|-|13|111"}; !slices.Equal(got, want) {
		t.Fatalf("at watermark 117: got %v, want %v", got, want)
	}
	if got := watermark(MaxWatermark); len(got) != 0 {
		t.Fatalf("matched rows came out again: %v", got)
	}
	if j.table.kept != 0 || j.table.live != 0 || j.HeldWatermark() != MaxWatermark {
		t.Fatalf("after the final watermark %d rows and %d keys are kept, held %d", j.table.kept, j.table.live, j.HeldWatermark())
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestIntervalJoinInnerCountsUnmatched(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)
	j, err := NewIntervalJoin(joinConfig(0, 10, false, false))
	if err != nil {
		t.Fatal(err)
	}
	if err := j.Open(Context{Mem: mem}); err != nil {
		t.Fatal(err)
	}
	var out collect
	for _, e := range []joinEvent{{0, "a", 100, 1}, {0, "a", 50, 2}, {1, "a", 105, 3}, {1, "c", 0, 4}} {
		if err := j.Process(e.side, e.batch(t, mem), &out); err != nil {
			t.Fatal(err)
		}
	}
	if err := j.OnWatermark(MaxWatermark, &out); err != nil {
		t.Fatal(err)
	}
	if got := joinRows(t, out.recs); !slices.Equal(got, []string{"a|1|3|105"}) {
		t.Fatalf("got %v", got)
	}
	if j.Dropped() != 2 || j.HeldWatermark() != MaxWatermark {
		t.Fatalf("dropped %d, want 2; held %d", j.Dropped(), j.HeldWatermark())
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestIntervalJoinRefusesBadBounds(t *testing.T) {
	if _, err := NewIntervalJoin(joinConfig(10, 0, false, false)); err == nil || !strings.Contains(err.Error(), "lower bound 10 ms is above upper bound 0 ms") {
		t.Fatalf("got %v", err)
	}
}

// joinTestOwner gives a string key the owner among n that its key group (of 256) falls to.
func joinTestOwner(n int) KeyOwner {
	return func(keys []arrow.Array) ([]int, error) {
		out := make([]int, keys[0].Len())
		for i := range out {
			out[i] = joinTestGroup(keys[0].(*array.String).Value(i)) * n / 256
		}
		return out, nil
	}
}

func joinTestGroup(key string) int {
	h := fnv.New32a()
	h.Write([]byte(key))
	return int(h.Sum32() % 256)
}

// randomJoinEvents makes rows of both sides over a few keys, and an order of arrival in
// which each row is at most disorder behind the latest row before it.
func randomJoinEvents(seed uint64, n int, disorder int64) []joinEvent {
	rng := rand.New(rand.NewPCG(seed, 1))
	events := make([]joinEvent, n)
	for i := range events {
		events[i] = joinEvent{side: rng.IntN(2), key: "k" + strconv.Itoa(rng.IntN(12)), t: int64(rng.IntN(4000)), id: int64(i)}
		if rng.IntN(20) == 0 && i > 0 {
			events[i].t = events[i-1].t // equal times
		}
	}
	slices.SortStableFunc(events, func(a, b joinEvent) int { return int(a.t - b.t) })
	for i := range events { // swap neighbours that are less than disorder apart
		if k := i + 1 + rng.IntN(3); k < n && events[k].t-events[i].t < disorder && rng.IntN(2) == 0 {
			events[i], events[k] = events[k], events[i]
		}
	}
	return events
}

// runJoin runs events through p subtasks of a join, as a keyed exchange would spread them,
// with the watermark after every few rows the least time of the rows still to come. After
// stopAt rows every subtask is snapshotted and the state restored into p2 fresh subtasks,
// through Rescale or, with byGroup, through snapshots by key group restored in bundles.
func runJoin(t *testing.T, cfg IntervalJoinConfig, events []joinEvent, p, p2, stopAt int, byGroup bool) ([]string, int64) {
	t.Helper()
	mem := memory.DefaultAllocator // the boundary tests check for leaks; this one for answers
	open := func(n int) []*IntervalJoin {
		js := make([]*IntervalJoin, n)
		for i := range js {
			var err error
			if js[i], err = NewIntervalJoin(cfg); err != nil {
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
	// sent is what each subtask passed on as its watermark: no row it emits may be behind.
	sent := make([]int64, p)
	check := func(sub, from int) {
		t.Helper()
		for _, r := range out.recs[from:] {
			times := r.Column(5).(*array.Timestamp)
			for i := range int(r.NumRows()) {
				if int64(times.Value(i)) < sent[sub] {
					t.Fatalf("subtask %d emitted a row at %d after passing on the watermark %d", sub, times.Value(i), sent[sub])
				}
			}
		}
	}
	for i, e := range events {
		if i == stopAt {
			js = restoreJoins(t, js, cfg, p2, byGroup, open)
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
				sent[sub] = max(sent[sub], min(wm, j.HeldWatermark()))
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
	return joinRows(t, out.recs), dropped
}

// restoreJoins snapshots every subtask and restores the state into n fresh ones.
func restoreJoins(t *testing.T, js []*IntervalJoin, cfg IntervalJoinConfig, n int, byGroup bool, open func(int) []*IntervalJoin) []*IntervalJoin {
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

// TestIntervalJoinMatchesReference compares every join type, with bounds on both sides of
// zero, against a nested loop over all rows, at parallelism 1 to 8, and with a snapshot
// restored at another parallelism (by Rescale and by key group) halfway.
func TestIntervalJoinMatchesReference(t *testing.T) {
	types := []struct {
		name        string
		left, right bool
	}{{"inner", false, false}, {"left", true, false}, {"right", false, true}, {"full", true, true}}
	bounds := [][2]int64{{0, 100}, {-50, 50}, {-200, -20}, {0, 0}}
	parallelisms := []int{1, 2, 3, 4, 5, 6, 7, 8}
	if testing.Short() {
		parallelisms = []int{1, 3, 8}
	}
	for seed := range uint64(2) {
		events := randomJoinEvents(seed, 500, 40)
		for _, b := range bounds {
			for _, ty := range types {
				want := referenceJoin(events, b[0], b[1], ty.left, ty.right)
				cfg := joinConfig(b[0], b[1], ty.left, ty.right)
				for _, p := range parallelisms {
					p2 := 9 - p
					for _, byGroup := range []bool{false, true} {
						got, _ := runJoin(t, cfg, events, p, p2, len(events)/2, byGroup)
						if !slices.Equal(got, want) {
							t.Fatalf("seed %d, within %v, %s, p %d then %d (by key group %v): %d rows, want %d; first difference %s",
								seed, b, ty.name, p, p2, byGroup, len(got), len(want), firstJoinDifference(got, want))
						}
					}
				}
			}
		}
	}
}

func firstJoinDifference(got, want []string) string {
	for i := range min(len(got), len(want)) {
		if got[i] != want[i] {
			return fmt.Sprintf("at %d: %s, want %s", i, got[i], want[i])
		}
	}
	return "in length"
}
