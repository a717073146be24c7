package op

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// The left rows of these tests carry their own upper bound, until, as Nexmark's auctions
// carry their expiry.
var (
	untilLeft = arrow.NewSchema([]arrow.Field{
		{Name: "k", Type: arrow.BinaryTypes.String}, {Name: "t", Type: stateTime}, {Name: "until", Type: stateTime, Nullable: true}}, nil)
	untilOut = arrow.NewSchema([]arrow.Field{
		{Name: "k", Type: arrow.BinaryTypes.String}, {Name: "t", Type: stateTime, Nullable: true}, {Name: "until", Type: stateTime, Nullable: true},
		{Name: "rid", Type: arrow.PrimitiveTypes.Int64, Nullable: true}, {Name: "r_t", Type: stateTime, Nullable: true},
		{Name: "event_time", Type: stateTime}}, nil)
)

func untilConfig(lo int64, rightOuter bool) IntervalJoinConfig {
	return IntervalJoinConfig{Key: [2][]int{{0}, {1}}, Time: [2]int{1, 2}, Lower: lo, UntilColumn: true, Until: 2,
		Outer: [2]bool{false, rightOuter}, Carry: []int{0, 2}, Left: untilLeft, Right: joinRight, Out: untilOut}
}

// untilEvent is a row of a join test with bounds from a column: a left row's until is -1 for
// null, a right row has none.
type untilEvent struct {
	joinEvent
	until int64
}

func (e untilEvent) batch(t testing.TB) arrow.RecordBatch {
	if e.side == 1 {
		return e.joinEvent.batch(t, memory.DefaultAllocator)
	}
	until := strconv.FormatInt(e.until, 10)
	if e.until < 0 {
		until = "NULL"
	}
	return batch(t, memory.DefaultAllocator, untilLeft, []string{e.key}, []string{strconv.FormatInt(e.t, 10)}, []string{until})
}

// name identifies a row in the output: a left row by its time and bound, a right row by id.
func (e untilEvent) name() string {
	if e.side == 0 {
		return fmt.Sprintf("%d..%d", e.t, e.until)
	}
	return strconv.FormatInt(e.id, 10)
}

// referenceUntilJoin pairs every left row with every right row of its key whose time is at
// least lo after the left's and at most its until; unmatched right rows too when rightOuter.
func referenceUntilJoin(events []untilEvent, lo int64, rightOuter bool) []string {
	var out []string
	matched := map[int64]bool{}
	for _, l := range events {
		for _, r := range events {
			if l.side != 0 || r.side != 1 || l.key != r.key || l.until < 0 || r.t-l.t < lo || r.t > l.until {
				continue
			}
			matched[r.id] = true
			out = append(out, fmt.Sprintf("%s|%s|%s|%d", l.key, l.name(), r.name(), max(l.t, r.t)))
		}
	}
	for _, r := range events {
		if r.side == 1 && rightOuter && !matched[r.id] {
			out = append(out, fmt.Sprintf("%s|-|%s|%d", r.key, r.name(), r.t))
		}
	}
	slices.Sort(out)
	return out
}

// untilRows renders output rows as the reference does.
func untilRows(recs []arrow.RecordBatch) []string {
	var out []string
	for _, r := range recs {
		for i := range int(r.NumRows()) {
			left := "-"
			if r.Column(1).IsValid(i) {
				until := "-1"
				if r.Column(2).IsValid(i) {
					until = strconv.FormatInt(int64(r.Column(2).(*array.Timestamp).Value(i)), 10)
				}
				left = fmt.Sprintf("%d..%s", r.Column(1).(*array.Timestamp).Value(i), until)
			}
			out = append(out, fmt.Sprintf("%s|%s|%s|%d", r.Column(0).ValueStr(i), left, r.Column(3).ValueStr(i),
				r.Column(5).(*array.Timestamp).Value(i)))
		}
		r.Release()
	}
	slices.Sort(out)
	return out
}

// TestIntervalJoinUntilColumnMatchesReference joins left rows that each carry their own
// upper bound (some before their own time, some null, some far ahead) with right rows, inner
// and right outer, against a nested loop over all rows, at parallelism 1 to 8, with every
// subtask's state snapshotted by key group halfway and restored at another parallelism.
// Rows arrive out of order within the watermark, which advances as the rows still to come
// allow; every kept row must be gone once the final watermark has passed.
func TestIntervalJoinUntilColumnMatchesReference(t *testing.T) {
	parallelisms := []int{1, 2, 3, 4, 5, 6, 7, 8}
	if testing.Short() {
		parallelisms = []int{1, 3, 8}
	}
	for seed := range uint64(2) {
		rng := rand.New(rand.NewPCG(seed, 9))
		var events []untilEvent
		for _, e := range randomJoinEvents(seed, 600, 40) {
			u := untilEvent{joinEvent: e}
			if e.side == 0 {
				switch rng.IntN(10) {
				case 0:
					u.until = -1
				case 1:
					u.until = max(e.t-int64(rng.IntN(50)), 0)
				default:
					u.until = e.t + int64(rng.IntN(400))
				}
			}
			events = append(events, u)
		}
		for _, lo := range []int64{0, -30, 10} {
			for _, rightOuter := range []bool{false, true} {
				want := referenceUntilJoin(events, lo, rightOuter)
				for _, p := range parallelisms {
					got := runUntilJoin(t, untilConfig(lo, rightOuter), events, p, 9-p)
					if !slices.Equal(got, want) {
						t.Fatalf("seed %d, lower %d, right outer %v, p %d then %d: %d rows, want %d; first difference %s",
							seed, lo, rightOuter, p, 9-p, len(got), len(want), firstJoinDifference(got, want))
					}
				}
			}
		}
	}
}

// runUntilJoin runs events through p subtasks, restores them at p2 halfway, and returns the
// rows they emitted.
func runUntilJoin(t *testing.T, cfg IntervalJoinConfig, events []untilEvent, p, p2 int) []string {
	t.Helper()
	open := func(n int) []*IntervalJoin {
		js := make([]*IntervalJoin, n)
		for i := range js {
			var err error
			if js[i], err = NewIntervalJoin(cfg); err != nil {
				t.Fatal(err)
			}
			if err := js[i].Open(Context{Mem: memory.DefaultAllocator, Subtask: i, Parallelism: n}); err != nil {
				t.Fatal(err)
			}
		}
		return js
	}
	js := open(p)
	var out collect
	for i, e := range events {
		if i == len(events)/2 {
			js = restoreJoins(t, js, cfg, p2, true, open)
		}
		if err := js[joinTestGroup(e.key)*len(js)/256].Process(e.side, e.batch(t), &out); err != nil {
			t.Fatal(err)
		}
		if i%5 == 4 {
			wm := int64(MaxWatermark)
			for _, rest := range events[i+1:] {
				wm = min(wm, rest.t)
			}
			for _, j := range js {
				if err := j.OnWatermark(wm, &out); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	for _, j := range js {
		if err := j.OnWatermark(MaxWatermark, &out); err != nil {
			t.Fatal(err)
		}
		if j.table.kept != 0 || j.table.live != 0 {
			t.Fatalf("after the final watermark a subtask keeps %d rows of %d keys", j.table.kept, j.table.live)
		}
		if err := j.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return untilRows(out.recs)
}

// TestIntervalJoinUntilColumnBoundaries checks by hand that the bound from the column is
// inclusive, that a right row one millisecond after it does not join, and that the left row
// stays kept until the watermark passes its bound, however far that is after its own time.
func TestIntervalJoinUntilColumnBoundaries(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)
	j, err := NewIntervalJoin(untilConfig(0, false))
	if err != nil {
		t.Fatal(err)
	}
	if err := j.Open(Context{Mem: mem}); err != nil {
		t.Fatal(err)
	}
	var out collect
	if err := j.Process(0, batch(t, mem, untilLeft, []string{"a"}, []string{"100"}, []string{"5000"}), &out); err != nil {
		t.Fatal(err)
	}
	if err := j.OnWatermark(4999, &out); err != nil {
		t.Fatal(err)
	}
	if j.table.kept != 1 {
		t.Fatalf("at watermark 4999 the left row bounded at 5000 is gone")
	}
	right := batch(t, mem, joinRight, []string{"1", "2", "3"}, []string{"a", "a", "a"}, []string{"99", "5000", "5001"})
	if err := j.Process(1, right, &out); err != nil {
		t.Fatal(err)
	}
	if got := untilRows(out.recs); !slices.Equal(got, []string{"a|100..5000|2|5000"}) {
		t.Fatalf("joined %v, want only the right row at the bound, 5000", got)
	}
	out.recs = nil
	if err := j.OnWatermark(5001, &out); err != nil {
		t.Fatal(err)
	}
	if j.table.kept != 1 { // the right row at 5001 waits for left rows at up to 5001
		t.Fatalf("after watermark 5001, %d rows kept, want the right row at 5001 only", j.table.kept)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestIntervalJoinUntilColumnRefusesLeftOuter checks that a left or full join takes no
// bound from a column, and that the column must be a timestamp.
func TestIntervalJoinUntilColumnRefusesLeftOuter(t *testing.T) {
	cfg := untilConfig(0, false)
	cfg.Outer[0] = true
	if _, err := NewIntervalJoin(cfg); err == nil {
		t.Error("a left join with an upper bound from a column was accepted")
	}
	cfg = untilConfig(0, false)
	cfg.Until = 0
	if _, err := NewIntervalJoin(cfg); err == nil {
		t.Error("an upper bound from a string column was accepted")
	}
}
