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

var dedupSchema = arrow.NewSchema([]arrow.Field{
	{Name: "id", Type: arrow.PrimitiveTypes.Int64}, {Name: "k", Type: arrow.BinaryTypes.String}, {Name: "t", Type: stateTime}}, nil)

// dedupEvent is a row of a dedup test.
type dedupEvent struct {
	key string
	t   int64
	id  int64
}

func (e dedupEvent) batch(t testing.TB, mem memory.Allocator) arrow.RecordBatch {
	return batch(t, mem, dedupSchema, []string{strconv.FormatInt(e.id, 10)}, []string{e.key}, []string{strconv.FormatInt(e.t, 10)})
}

// dedupRows renders rows as key|id|time, sorted, and releases them.
func dedupRows(recs []arrow.RecordBatch) []string {
	var out []string
	for _, r := range recs {
		for i := range int(r.NumRows()) {
			out = append(out, fmt.Sprintf("%s|%s|%d", r.Column(1).ValueStr(i), r.Column(0).ValueStr(i), r.Column(2).(*array.Timestamp).Value(i)))
		}
		r.Release()
	}
	slices.Sort(out)
	return out
}

// referenceDedup goes through the rows one by one, in order of arrival: a row within
// `within` of the first row of an earlier interval of its key is that interval's duplicate,
// any other row opens an interval. It returns the row each interval keeps and the number of
// duplicates.
func referenceDedup(events []dedupEvent, within int64, last bool) ([]string, int) {
	type interval struct {
		start int64
		kept  dedupEvent
	}
	open := map[string][]*interval{}
	var all []*interval
	dups := 0
outer:
	for _, e := range events {
		for _, iv := range open[e.key] {
			if e.t-iv.start <= within && iv.start-e.t <= within {
				dups++
				if last && e.t >= iv.kept.t {
					iv.kept = e
				}
				continue outer
			}
		}
		iv := &interval{start: e.t, kept: e}
		open[e.key] = append(open[e.key], iv)
		all = append(all, iv)
	}
	var out []string
	for _, iv := range all {
		out = append(out, fmt.Sprintf("%s|%d|%d", iv.kept.key, iv.kept.id, iv.kept.t))
	}
	slices.Sort(out)
	return out, dups
}

// TestDedupBoundaries checks by hand: a row exactly within of the first is a duplicate, one
// millisecond further is not; keeping the first emits at once, keeping the last when the
// watermark passes start + within, and not at it, the latest row, the later of equal ones.
func TestDedupBoundaries(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)
	events := []dedupEvent{{"a", 100, 1}, {"a", 110, 2}, {"a", 90, 3}, {"a", 111, 4}, {"b", 100, 5}, {"a", 110, 6}}
	for _, last := range []bool{false, true} {
		d, err := NewDedup(DedupConfig{Key: []int{1}, Time: 2, Within: 10, KeepLast: last, Schema: dedupSchema})
		if err != nil {
			t.Fatal(err)
		}
		if err := d.Open(Context{Mem: mem}); err != nil {
			t.Fatal(err)
		}
		var out collect
		for _, e := range events {
			if err := d.Process(0, e.batch(t, mem), &out); err != nil {
				t.Fatal(err)
			}
		}
		if !last {
			if got, want := dedupRows(out.recs), []string{"a|1|100", "a|4|111", "b|5|100"}; !slices.Equal(got, want) {
				t.Fatalf("keep first: got %v, want %v", got, want)
			}
			out.recs = nil
		} else if len(out.recs) != 0 || d.HeldWatermark() != 100 {
			t.Fatalf("keep last emitted %d batches before any watermark, holds %d", len(out.recs), d.HeldWatermark())
		}
		if err := d.OnWatermark(110, &out); err != nil {
			t.Fatal(err)
		}
		if got := dedupRows(out.recs); len(got) != 0 {
			t.Fatalf("keep last %v: at watermark 110 (the interval's end) %v came out", last, got)
		}
		out.recs = nil
		if err := d.OnWatermark(111, &out); err != nil {
			t.Fatal(err)
		}
		var want []string
		if last {
			want = []string{"a|6|110", "b|5|100"}
		}
		if got := dedupRows(out.recs); !slices.Equal(got, want) {
			t.Fatalf("keep last %v: at watermark 111 got %v, want %v", last, got, want)
		}
		out.recs = nil
		if err := d.OnWatermark(MaxWatermark, &out); err != nil {
			t.Fatal(err)
		}
		if got := dedupRows(out.recs); last && !slices.Equal(got, []string{"a|4|111"}) || !last && len(got) != 0 {
			t.Fatalf("keep last %v: at the final watermark %v", last, got)
		}
		if d.Duplicates() != 3 || d.keys.len() != 0 || d.open != 0 {
			t.Fatalf("keep last %v: %d duplicates, want 3; %d keys and %d intervals left", last, d.Duplicates(), d.keys.len(), d.open)
		}
		if err := d.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestDedupMatchesReference compares both kinds of dedup with the reference at parallelism
// 1 to 8, the state snapshotted halfway and restored at another parallelism, by Rescale and
// by key group; no subtask emits a row behind the watermark it passed on.
func TestDedupMatchesReference(t *testing.T) {
	parallelisms := []int{1, 2, 3, 4, 5, 6, 7, 8}
	if testing.Short() {
		parallelisms = []int{1, 3, 8}
	}
	for seed := range uint64(2) {
		rng := rand.New(rand.NewPCG(seed, 9))
		events := make([]dedupEvent, 800)
		for i := range events {
			events[i] = dedupEvent{key: "k" + strconv.Itoa(rng.IntN(15)), t: int64(rng.IntN(3000)), id: int64(i)}
		}
		slices.SortStableFunc(events, func(a, b dedupEvent) int { return int(a.t - b.t) })
		for i := range events {
			if k := i + 1 + rng.IntN(3); k < len(events) && events[k].t-events[i].t < 30 && rng.IntN(2) == 0 {
				events[i], events[k] = events[k], events[i]
			}
		}
		for _, last := range []bool{false, true} {
			cfg := DedupConfig{Key: []int{1}, Time: 2, Within: 200, KeepLast: last, Schema: dedupSchema}
			want, dups := referenceDedup(events, cfg.Within, last)
			for _, p := range parallelisms {
				for _, byGroup := range []bool{false, true} {
					got, gotDups := runDedup(t, cfg, events, p, 9-p, len(events)/2, byGroup)
					if !slices.Equal(got, want) || gotDups != int64(dups) {
						t.Fatalf("seed %d, keep last %v, p %d then %d (by key group %v): %d rows and %d duplicates, want %d and %d; %s",
							seed, last, p, 9-p, byGroup, len(got), gotDups, len(want), dups, firstJoinDifference(got, want))
					}
				}
			}
		}
	}
}

func runDedup(t *testing.T, cfg DedupConfig, events []dedupEvent, p, p2, stopAt int, byGroup bool) ([]string, int64) {
	t.Helper()
	mem := memory.DefaultAllocator
	open := func(n int) []*Dedup {
		ds := make([]*Dedup, n)
		for i := range ds {
			var err error
			if ds[i], err = NewDedup(cfg); err != nil {
				t.Fatal(err)
			}
			if err := ds[i].Open(Context{Mem: mem}); err != nil {
				t.Fatal(err)
			}
		}
		return ds
	}
	ds := open(p)
	var out collect
	sent := make([]int64, p)
	check := func(sub, from int) {
		t.Helper()
		for _, r := range out.recs[from:] {
			times := r.Column(2).(*array.Timestamp)
			for i := range int(r.NumRows()) {
				if int64(times.Value(i)) < sent[sub] {
					t.Fatalf("subtask %d emitted a row at %d after passing on the watermark %d", sub, times.Value(i), sent[sub])
				}
			}
		}
	}
	var dups int64
	for i, e := range events {
		if i == stopAt {
			ds, dups = restoreDedups(t, ds, p2, byGroup, open), dups+sumDups(ds)
			sent = make([]int64, p2)
		}
		owner := joinTestGroup(e.key) * len(ds) / 256
		from := len(out.recs)
		if err := ds[owner].Process(0, e.batch(t, mem), &out); err != nil {
			t.Fatal(err)
		}
		check(owner, from)
		if i%5 == 4 {
			wm := int64(MaxWatermark)
			for _, rest := range events[i+1:] {
				wm = min(wm, rest.t)
			}
			for sub, d := range ds {
				from := len(out.recs)
				if err := d.OnWatermark(wm, &out); err != nil {
					t.Fatal(err)
				}
				check(sub, from)
				sent[sub] = max(sent[sub], min(wm, d.HeldWatermark()))
			}
		}
	}
	for _, d := range ds {
		if err := d.OnWatermark(MaxWatermark, &out); err != nil {
			t.Fatal(err)
		}
	}
	dups += sumDups(ds)
	for _, d := range ds {
		if err := d.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return dedupRows(out.recs), dups
}

func sumDups(ds []*Dedup) int64 {
	var n int64
	for _, d := range ds {
		n += d.Duplicates()
	}
	return n
}

// restoreDedups snapshots every subtask and restores the state into n fresh ones.
func restoreDedups(t *testing.T, ds []*Dedup, n int, byGroup bool, open func(int) []*Dedup) []*Dedup {
	t.Helper()
	fresh := open(n)
	if byGroup {
		bundles := make([][][]byte, n)
		for _, d := range ds {
			parts, err := d.SnapshotGroups(3, 256, joinTestOwner(256))
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
		states := make([][]byte, len(ds))
		for i, d := range ds {
			var err error
			if states[i], err = d.Snapshot(3); err != nil {
				t.Fatal(err)
			}
		}
		moved, err := fresh[0].Rescale(states, n, joinTestOwner(n))
		if err != nil {
			t.Fatal(err)
		}
		for i, st := range moved {
			if err := fresh[i].Restore(st); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, d := range ds {
		if err := d.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return fresh
}
