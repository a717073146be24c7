package op

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

var temporalJoinOut = arrow.NewSchema([]arrow.Field{
	{Name: "k", Type: arrow.BinaryTypes.String}, {Name: "t", Type: stateTime}, {Name: "lid", Type: arrow.PrimitiveTypes.Int64},
	{Name: "rid", Type: arrow.PrimitiveTypes.Int64, Nullable: true}, {Name: "r_t", Type: stateTime, Nullable: true}}, nil)

func temporalJoinConfig(outer bool) TemporalJoinConfig {
	return TemporalJoinConfig{Key: [2][]int{{0}, {1}}, Time: [2]int{1, 2}, Outer: outer, Carry: []int{0, 2},
		Left: joinLeft, Right: joinRight, Out: temporalJoinOut}
}

// renderTemporalJoin renders output rows as key|lid|rid|left time, "-" for null, sorted.
func renderTemporalJoin(recs []arrow.RecordBatch) []string {
	var out []string
	for _, r := range recs {
		for i := range int(r.NumRows()) {
			rid := "-"
			if !r.Column(3).IsNull(i) {
				rid = r.Column(3).ValueStr(i)
			}
			out = append(out, fmt.Sprintf("%s|%s|%s|%d", r.Column(0).ValueStr(i), r.Column(2).ValueStr(i), rid, r.Column(1).(*array.Timestamp).Value(i)))
		}
		r.Release()
	}
	slices.Sort(out)
	return out
}

// referenceTemporalJoin looks up, for every left row, the right row of its key with the
// latest time at or before the left row's, the last to arrive of those at one time.
func referenceTemporalJoin(events []joinEvent, outer bool) []string {
	var out []string
	for _, l := range events {
		if l.side != 0 {
			continue
		}
		found := false
		var best joinEvent
		for _, r := range events {
			if r.side == 1 && r.key == l.key && r.t <= l.t && (!found || r.t >= best.t) {
				best, found = r, true
			}
		}
		switch {
		case found:
			out = append(out, fmt.Sprintf("%s|%d|%d|%d", l.key, l.id, best.id, l.t))
		case outer:
			out = append(out, fmt.Sprintf("%s|%d|-|%d", l.key, l.id, l.t))
		}
	}
	slices.Sort(out)
	return out
}

// TestTemporalJoinBoundaries checks by hand: a version at a row's own time is valid for it,
// a row waits for the watermark to pass it, a version that comes later but is earlier than
// a waiting row still counts, versions replaced behind the watermark are dropped and the
// latest stays.
func TestTemporalJoinBoundaries(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)
	j, err := NewTemporalJoin(temporalJoinConfig(true))
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
		if len(out.recs) != 0 {
			t.Fatalf("emitted before a watermark: %v", renderTemporalJoin(out.recs))
		}
	}
	watermark := func(wm int64) []string {
		t.Helper()
		if err := j.OnWatermark(wm, &out); err != nil {
			t.Fatal(err)
		}
		got := renderTemporalJoin(out.recs)
		out.recs = nil
		return got
	}
	feed(joinEvent{1, "eur", 10, 100}, joinEvent{0, "eur", 10, 1}, joinEvent{0, "eur", 25, 2}, joinEvent{0, "usd", 12, 3})
	if got := watermark(10); len(got) != 0 {
		t.Fatalf("at the rows' time: %v", got)
	}
	// A version at 20 comes after the row at 25 but before the watermark passes it.
	feed(joinEvent{1, "eur", 20, 101})
	if got := watermark(11); !slices.Equal(got, []string{"eur|1|100|10"}) {
		t.Fatalf("past 10: %v", got)
	}
	if got := watermark(26); !slices.Equal(got, []string{"eur|2|101|25", "usd|3|-|12"}) {
		t.Fatalf("past 25: %v", got)
	}
	if e := j.keys["\x01\x03eur"]; e == nil || len(e.versions) != 1 || e.versions[0].time != 20 {
		t.Fatalf("versions kept after the watermark passed 20: %+v", e)
	}
	if _, ok := j.keys["\x01\x03usd"]; ok {
		t.Error("a key without versions or waiting rows is kept")
	}
	feed(joinEvent{0, "eur", 1000, 4})
	if got := watermark(MaxWatermark); !slices.Equal(got, []string{"eur|4|101|1000"}) {
		t.Fatalf("the latest version stays: %v", got)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestTemporalJoinMatchesReference compares the inner and the outer join with a lookup of
// every row's version among all rows, at parallelism 1 to 8, with a snapshot restored at
// another parallelism (by Rescale and by key group) halfway.
func TestTemporalJoinMatchesReference(t *testing.T) {
	parallelisms := []int{1, 2, 3, 4, 5, 6, 7, 8}
	if testing.Short() {
		parallelisms = []int{1, 3, 8}
	}
	for seed := range uint64(3) {
		events := randomJoinEvents(seed, 500, 40)
		for _, outer := range []bool{false, true} {
			want := referenceTemporalJoin(events, outer)
			cfg := temporalJoinConfig(outer)
			newJoin := func() (keyedJoin, error) { return NewTemporalJoin(cfg) }
			for _, p := range parallelisms {
				for _, byGroup := range []bool{false, true} {
					recs, _ := runKeyedJoin(t, newJoin, events, p, 9-p, len(events)/2, byGroup, 1)
					if got := renderTemporalJoin(recs); !slices.Equal(got, want) {
						t.Fatalf("seed %d, outer %v, p %d then %d (by key group %v): %d rows, want %d; first difference %s",
							seed, outer, p, 9-p, byGroup, len(got), len(want), firstJoinDifference(got, want))
					}
				}
			}
		}
	}
}

// TestTemporalJoinInnerCountsUnmatched checks that an inner join drops, and counts, the rows
// that find no version of their key at their time.
func TestTemporalJoinInnerCountsUnmatched(t *testing.T) {
	events := randomJoinEvents(5, 300, 40)
	want := referenceTemporalJoin(events, false)
	cfg := temporalJoinConfig(false)
	recs, dropped := runKeyedJoin(t, func() (keyedJoin, error) { return NewTemporalJoin(cfg) }, events, 3, 3, len(events)+1, false, 1)
	if got := renderTemporalJoin(recs); !slices.Equal(got, want) {
		t.Fatalf("%d rows, want %d", len(got), len(want))
	}
	lefts := 0
	for _, e := range events {
		if e.side == 0 {
			lefts++
		}
	}
	if dropped == 0 || dropped != int64(lefts-len(want)) {
		t.Fatalf("dropped %d of %d left rows, %d joined", dropped, lefts, len(want))
	}
}

// TestTemporalJoinEmitsInExpiryOrder checks the order rows come out in, not only which:
// on each watermark, the keys that have something due come out in order of the earliest
// time due (a waiting row's time, or the time of a version that has an earlier one), ties
// by key, each key's rows in order of arrival. State restored from a snapshot halfway keeps
// that order.
func TestTemporalJoinEmitsInExpiryOrder(t *testing.T) {
	for seed := range uint64(4) {
		events := randomJoinEvents(seed, 600, 40)
		for i := range events { // keys of one length, so that their bytes sort as the strings do
			events[i].key = fmt.Sprintf("k%02s", strings.TrimPrefix(events[i].key, "k"))
		}
		want := referenceTemporalJoinOrder(events)
		got := runTemporalJoinInOrder(t, events, len(events)/2)
		if !slices.Equal(got, want) {
			t.Fatalf("seed %d: %d rows, want %d; first difference %s", seed, len(got), len(want), firstJoinDifference(got, want))
		}
	}
}

// temporalWatermarkAfter is the watermark after the ith row, every fifth row: the least
// time of the rows still to come.
func temporalWatermarkAfter(events []joinEvent, i int) (int64, bool) {
	if i%5 != 4 {
		return 0, false
	}
	wm := int64(MaxWatermark)
	for _, rest := range events[i+1:] {
		wm = min(wm, rest.t)
	}
	return wm, true
}

// runTemporalJoinInOrder runs events through one outer temporal join, with a snapshot
// restored into a fresh one after stopAt rows, and renders its rows as key|lid|rid in the
// order they came out.
func runTemporalJoinInOrder(t *testing.T, events []joinEvent, stopAt int) []string {
	t.Helper()
	mem := memory.DefaultAllocator
	open := func() *TemporalJoin {
		j, err := NewTemporalJoin(temporalJoinConfig(true))
		if err != nil {
			t.Fatal(err)
		}
		if err := j.Open(Context{Mem: mem}); err != nil {
			t.Fatal(err)
		}
		return j
	}
	j := open()
	var out collect
	for i, e := range events {
		if i == stopAt {
			state, err := j.Snapshot(1)
			if err != nil {
				t.Fatal(err)
			}
			if err := j.Close(); err != nil {
				t.Fatal(err)
			}
			if j = open(); j.Restore(state) != nil {
				t.Fatal(j.Restore(state))
			}
		}
		if err := j.Process(e.side, e.batch(t, mem), &out); err != nil {
			t.Fatal(err)
		}
		if wm, ok := temporalWatermarkAfter(events, i); ok {
			if err := j.OnWatermark(wm, &out); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := j.OnWatermark(MaxWatermark, &out); err != nil {
		t.Fatal(err)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	var rows []string
	for _, r := range out.recs {
		for i := range int(r.NumRows()) {
			rid := "-"
			if !r.Column(3).IsNull(i) {
				rid = r.Column(3).ValueStr(i)
			}
			rows = append(rows, r.Column(0).ValueStr(i)+"|"+r.Column(2).ValueStr(i)+"|"+rid)
		}
		r.Release()
	}
	return rows
}

// referenceTemporalJoinOrder replays events as runTemporalJoinInOrder feeds them and says
// what an outer temporal join emits, in order: on each watermark, the keys with a time due
// before it by that time, then key; of each, the waiting rows before the watermark in order
// of arrival with the version valid at their time; then the versions that a later version
// before the watermark replaced are dropped.
func referenceTemporalJoinOrder(events []joinEvent) []string {
	type keyState struct {
		waiting  []joinEvent
		versions []joinEvent // by time, one per time: the last to arrive
	}
	keys := map[string]*keyState{}
	var out []string
	settle := func(wm int64) {
		type dueKey struct {
			at  int64
			key string
		}
		var due []dueKey
		for k, s := range keys {
			at := int64(MaxWatermark)
			for _, w := range s.waiting {
				at = min(at, w.t)
			}
			if len(s.versions) > 1 {
				at = min(at, s.versions[1].t)
			}
			if at < wm {
				due = append(due, dueKey{at, k})
			}
		}
		slices.SortFunc(due, func(a, b dueKey) int { return cmp.Or(cmp.Compare(a.at, b.at), strings.Compare(a.key, b.key)) })
		for _, d := range due {
			s := keys[d.key]
			var keep []joinEvent
			for _, w := range s.waiting {
				if w.t >= wm {
					keep = append(keep, w)
					continue
				}
				rid := "-"
				for _, v := range s.versions {
					if v.t <= w.t {
						rid = strconv.FormatInt(v.id, 10)
					}
				}
				out = append(out, fmt.Sprintf("%s|%d|%s", w.key, w.id, rid))
			}
			s.waiting = keep
			for len(s.versions) > 1 && s.versions[1].t < wm {
				s.versions = s.versions[1:]
			}
		}
	}
	for i, e := range events {
		s := keys[e.key]
		if s == nil {
			s = &keyState{}
			keys[e.key] = s
		}
		if e.side == 0 {
			s.waiting = append(s.waiting, e)
		} else {
			at, found := slices.BinarySearchFunc(s.versions, e.t, func(v joinEvent, t int64) int { return cmp.Compare(v.t, t) })
			if found {
				s.versions[at] = e
			} else {
				s.versions = slices.Insert(s.versions, at, e)
			}
		}
		if wm, ok := temporalWatermarkAfter(events, i); ok {
			settle(wm)
		}
	}
	settle(MaxWatermark)
	return out
}
