package op

import (
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// featInput is the schema of the feature tests: a card, its event time, an amount, a
// merchant and a position.
var featInput = arrow.NewSchema([]arrow.Field{
	{Name: "card", Type: arrow.BinaryTypes.String},
	{Name: "ts", Type: &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "UTC"}},
	{Name: "x", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "m", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "lat", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	{Name: "lon", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
}, nil)

// newTestFeatures makes a Features over featInput with every feature function.
func newTestFeatures(t testing.TB, mem memory.Allocator, rng, ttl time.Duration) *Features {
	t.Helper()
	i64, f64, str := arrow.PrimitiveTypes.Int64, arrow.PrimitiveTypes.Float64, arrow.BinaryTypes.String
	call := func(name, fn string, args []Evaluator, types ...arrow.DataType) FeatureCall {
		return FeatureCall{Name: name, Func: fn, Args: args, ArgTypes: types, Text: fn + "(...)"}
	}
	calls := []FeatureCall{
		{Name: "n", Func: "count", Star: true, Text: "count(*)"},
		call("s", "sum", []Evaluator{column(2)}, i64),
		call("avg", "avg", []Evaluator{column(2)}, i64),
		call("c", "count_if", []Evaluator{notNull(2)}, arrow.FixedWidthTypes.Boolean),
		call("d", "count_distinct", []Evaluator{column(3)}, str),
		call("fs", "first_seen", []Evaluator{column(3)}, str),
		call("gap", "seconds_since_prev", nil),
		call("z", "zscore", []Evaluator{column(2)}, i64),
		call("km", "km_from_prev", []Evaluator{column(4), column(5)}, f64, f64),
		call("kmh", "kmh_from_prev", []Evaluator{column(4), column(5)}, f64, f64),
	}
	f, err := NewFeatures(FeaturesConfig{In: featInput, Keys: []int{0}, Time: 1, Range: rng, TTL: ttl, Calls: calls})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Open(Context{Mem: mem}); err != nil {
		t.Fatal(err)
	}
	return f
}

// featRows makes a batch of featInput from rows written "card ts x m lat lon", NULL for null.
func featRows(t testing.TB, mem memory.Allocator, rows ...string) arrow.RecordBatch {
	t.Helper()
	cols := make([][]string, featInput.NumFields())
	for _, r := range rows {
		for i, v := range strings.Fields(r) {
			if i == 1 {
				v = time.UnixMilli(0).UTC().Add(time.Duration(mustInt(t, v)) * time.Millisecond).Format(time.RFC3339Nano)
			}
			cols[i] = append(cols[i], v)
		}
	}
	return batch(t, mem, featInput, cols...)
}

func mustInt(t testing.TB, s string) int64 {
	var v int64
	if _, err := fmt.Sscan(s, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// featLines renders what a Features emitted as "ts: n s avg c d fs gap z km kmh" per row.
func featLines(recs []arrow.RecordBatch) []string {
	var out []string
	for _, r := range recs {
		for i := range int(r.NumRows()) {
			var b strings.Builder
			fmt.Fprintf(&b, "%s@%d:", r.Column(0).ValueStr(i), int64(r.Column(1).(*array.Timestamp).Value(i)))
			for c := featInput.NumFields(); c < int(r.NumCols()); c++ {
				v := r.Column(c).ValueStr(i)
				if f, ok := r.Column(c).(*array.Float64); ok && f.IsValid(i) {
					v = fmt.Sprintf("%.4f", f.Value(i))
				}
				b.WriteString(" " + v)
			}
			out = append(out, b.String())
		}
		r.Release()
	}
	return out
}

// TestFeaturesSemantics checks every feature function on rows chosen for their edges: out of
// order across batches, nulls, peers at one event time, a row exactly one range after
// another (out of range) and one exactly the ttl after its key's last (a fresh start); and
// that rows wait until the watermark is past their event time.
func TestFeaturesSemantics(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)
	f := newTestFeatures(t, mem, 10*time.Second, time.Minute)
	var out collect
	step := func(rec arrow.RecordBatch, wm int64, want int) {
		t.Helper()
		if rec != nil {
			if err := f.Process(0, rec, &out); err != nil {
				t.Fatal(err)
			}
		}
		if err := f.OnWatermark(wm, &out); err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, r := range out.recs {
			n += int(r.NumRows())
		}
		if n != want {
			t.Fatalf("after watermark %d: %d rows out, want %d", wm, n, want)
		}
	}
	var got []string
	take := func() {
		got = append(got, featLines(out.recs)...)
		out.recs = nil
	}
	step(featRows(t, mem,
		"a 10000 1 p 0 0",
		"a 20000 3 q 0 1",
		"a 15000 NULL NULL NULL NULL",
		"b 12000 7 p NULL 5"), 12000, 1)
	take()
	step(nil, 12001, 1) // b@12000 is now before the watermark
	take()
	step(featRows(t, mem,
		"a 20000 5 p 0 2",
		"a 30000 2 q 0 0",
		"a 90000 4 p NULL NULL"), 20000, 1) // a@15000
	take()
	if err := f.Finish(&out); err != nil {
		t.Fatal(err)
	}
	take()
	deg := 6371 * math.Pi / 180 // km along the equator per degree of longitude
	want := []string{
		"a@10000: 1 1 1.0000 1 1 true (null) (null) (null) (null)",
		"b@12000: 1 7 7.0000 1 1 true (null) (null) (null) (null)",
		// x and m NULL: counted by count(*) only; no position.
		"a@15000: 2 1 1.0000 1 1 (null) 5.0000 (null) (null) (null)",
		// Peers: each sees both in range and the history before them (x: 1, one value).
		fmt.Sprintf("a@20000: 3 8 4.0000 2 2 true 5.0000 (null) %.4f %.4f", deg, deg*360),
		fmt.Sprintf("a@20000: 3 8 4.0000 2 2 false 5.0000 (null) %.4f %.4f", 2*deg, 2*deg*360),
		// The position kept of the peers is that of the larger x: (0, 2).
		fmt.Sprintf("a@30000: 1 2 2.0000 1 1 false 10.0000 -0.5000 %.4f %.4f", 2*deg, 2*deg*360),
		// 60s after a@30000, the ttl: a fresh start; a@30000 is out of range.
		"a@90000: 1 4 4.0000 1 1 true (null) (null) (null) (null)",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// featStream makes a deterministic stream of batches of 20 cards' rows, each batch's rows
// out of order by up to 3s, a watermark 3s behind the latest event time after each batch.
func featStream(t testing.TB, mem memory.Allocator, batches int) []msg {
	rnd := rand.New(rand.NewPCG(5, 9))
	var msgs []msg
	now := int64(1_000_000)
	for range batches {
		var rows []string
		for range 40 {
			now += rnd.Int64N(400)
			ts := now - rnd.Int64N(3000)
			x, m, lat, lon := fmt.Sprint(rnd.IntN(1000)), fmt.Sprintf("m%d", rnd.IntN(8)), fmt.Sprintf("%.3f", rnd.Float64()*90), fmt.Sprintf("%.3f", rnd.Float64()*180)
			if rnd.IntN(10) == 0 {
				x, lat = "NULL", "NULL"
			}
			if rnd.IntN(20) == 0 {
				ts = now - now%1000 // peers are likely
			}
			rows = append(rows, fmt.Sprintf("c%d %d %s %s %s %s", rnd.IntN(20), ts, x, m, lat, lon))
		}
		msgs = append(msgs, msg{rec: featRows(t, mem, rows...)}, msg{wm: now - 3000})
	}
	return msgs
}

// TestFeaturesResume stops a Features after various messages, snapshots it and resumes a
// fresh one from the snapshot: the output is the same, batch for batch.
func TestFeaturesResume(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)
	msgs := featStream(t, mem, 30)
	defer releaseStream(msgs)
	fresh := func() Operator { return newTestFeatures(t, mem, 5*time.Second, 20*time.Second) }
	checkResumes(t, fresh, msgs, []int{1, 2, 3, 10, 11, 31, 58})
}

// TestFeaturesRescale runs a Features keyed over 2 subtasks, moves its state to 3 with
// Rescale, then to 1 with SnapshotGroups by key group and RestoreParts, and emits what one
// uninterrupted subtask does.
func TestFeaturesRescale(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)
	msgs := featStream(t, mem, 30)
	defer releaseStream(msgs)
	fresh := func() Operator { return newTestFeatures(t, mem, 5*time.Second, 20*time.Second) }
	want := rowsOnly(deliver(t, fresh(), msgs, true))

	k := &keyedRun{t: t, mem: mem, subs: []Operator{fresh(), fresh()}}
	k.deliver(msgs[:20])
	k.rescale(fresh, 3)
	k.deliver(msgs[20:40])

	// By key group: 16 parts, then every part to the one subtask.
	var parts [][]byte
	for s, o := range k.subs {
		ps, err := o.(GroupSnapshotter).SnapshotGroups(9, 16, cardOwner(16))
		if err != nil {
			t.Fatalf("subtask %d: %v", s, err)
		}
		for _, p := range ps {
			if p != nil {
				parts = append(parts, p)
			}
		}
		if err := o.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if len(parts) < 8 {
		t.Fatalf("%d key groups hold state; the test needs more", len(parts))
	}
	one := fresh()
	if err := one.(PartsRestorer).RestoreParts(parts); err != nil {
		t.Fatal(err)
	}
	if err := one.(PartsRestorer).RestoreParts(parts[:1]); err == nil || !strings.Contains(err.Error(), "in two parts") {
		t.Fatalf("restoring a key twice: %v", err)
	}
	k.subs = []Operator{one}
	k.deliver(msgs[40:])
	compareLines(t, "rescaled 2 to 3 to 1", k.finish(), want)
}

// TestFeaturesForgetKeys checks that a key's state goes once the watermark shows no later
// row could see it, and that StateBytes follows.
func TestFeaturesForgetKeys(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)
	f := newTestFeatures(t, mem, 10*time.Second, time.Minute)
	var out collect
	defer func() {
		featLines(out.recs)
		if err := f.Close(); err != nil {
			t.Error(err)
		}
	}()
	if err := f.Process(0, featRows(t, mem, "a 1000 1 p 1 1", "b 2000 2 q 1 1"), &out); err != nil {
		t.Fatal(err)
	}
	held := f.StateBytes()
	if err := f.OnWatermark(5000, &out); err != nil {
		t.Fatal(err)
	}
	if len(f.slots) != 2 || f.sizes.pending != 0 || f.StateBytes() <= 0 || held <= f.sizes.keyBytes {
		t.Fatalf("after the rows went out: %d keys, %d bytes (%d held)", len(f.slots), f.StateBytes(), held)
	}
	// Past the range the range rows go; running figures stay until the ttl.
	if err := f.OnWatermark(40_000, &out); err != nil {
		t.Fatal(err)
	}
	if len(f.slots) != 2 || f.sizes.entries != 0 {
		t.Fatalf("within the ttl: %d keys, %d rows in range", len(f.slots), f.sizes.entries)
	}
	if err := f.OnWatermark(61_500, &out); err != nil {
		t.Fatal(err)
	}
	if len(f.slots) != 1 || f.keys[f.slots[string(keyBytes("b"))]].key == "" {
		t.Fatalf("61s after a's row, 60s after b's: %d keys left, want b's", len(f.slots))
	}
	if err := f.OnWatermark(122_000, &out); err != nil {
		t.Fatal(err)
	}
	if len(f.slots) != 0 || f.StateBytes() != 0 || f.sizes != (featSizes{}) {
		t.Fatalf("after the ttl of every key: %d keys, %d bytes, sizes %+v", len(f.slots), f.StateBytes(), f.sizes)
	}
	// Without a ttl running figures stay, until the final watermark.
	g := newTestFeatures(t, mem, 10*time.Second, 0)
	defer func() {
		if err := g.Close(); err != nil {
			t.Error(err)
		}
	}()
	if err := g.Process(0, featRows(t, mem, "a 1000 1 p 1 1"), &out); err != nil {
		t.Fatal(err)
	}
	for _, wm := range []int64{5000, 1 << 50} {
		if err := g.OnWatermark(wm, &out); err != nil {
			t.Fatal(err)
		}
		if len(g.slots) != 1 || (g.sizes.entries != 0 && wm > 5000) {
			t.Fatalf("without a ttl, at watermark %d: %d keys, %d rows in range", wm, len(g.slots), g.sizes.entries)
		}
	}
	if err := g.OnWatermark(MaxWatermark, &out); err != nil {
		t.Fatal(err)
	}
	if len(g.slots) != 0 || g.StateBytes() != 0 {
		t.Fatalf("after the final watermark: %d keys, %d bytes", len(g.slots), g.StateBytes())
	}
}

// keyBytes is the KeyEncoder bytes of a one-string key.
func keyBytes(s string) []byte {
	b := []byte{1}
	b = append(b, byte(len(s)))
	return append(b, s...)
}

// holdLog is a HoldMeter whose marks count the batches that came, and which notes how many
// rows of each mark left.
type holdLog struct {
	marks    int64
	released map[int64]int
}

func (h *holdLog) Arrived() int64 { h.marks++; return h.marks }

func (h *holdLog) Released(arrived int64, rows int) { h.released[arrived] += rows }

// TestFeaturesMeasureTheirHold checks that Features tells its HoldMeter, as the watermark
// releases rows, how many of each batch left, so that every row is measured once from the
// arrival of its own batch.
func TestFeaturesMeasureTheirHold(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)
	f := newTestFeatures(t, mem, 10*time.Second, 0)
	hold := &holdLog{released: map[int64]int{}}
	if err := f.Open(Context{Mem: mem, Hold: hold}); err != nil {
		t.Fatal(err)
	}
	var out collect
	defer func() {
		featLines(out.recs)
		if err := f.Close(); err != nil {
			t.Error(err)
		}
	}()
	for _, rows := range [][]string{{"a 1000 1 p 1 1", "b 3000 2 q 1 1"}, {"a 1500 1 p 1 1", "b 4000 2 q 1 1", "c 5000 2 q 1 1"}} {
		if err := f.Process(0, featRows(t, mem, rows...), &out); err != nil {
			t.Fatal(err)
		}
	}
	steps := []struct {
		wm   int64
		want map[int64]int
	}{
		{1000, map[int64]int{}},           // nothing before 1000
		{2000, map[int64]int{1: 1, 2: 1}}, // 1000 of the first batch, 1500 of the second
		{4500, map[int64]int{1: 2, 2: 2}},
		{MaxWatermark, map[int64]int{1: 2, 2: 3}}, // Finish takes the rest
	}
	for _, s := range steps {
		var err error
		if s.wm == MaxWatermark {
			err = f.Finish(&out)
		} else {
			err = f.OnWatermark(s.wm, &out)
		}
		if err != nil {
			t.Fatal(err)
		}
		if !maps.Equal(hold.released, s.want) {
			t.Errorf("after watermark %d: released %v, want %v", s.wm, hold.released, s.want)
		}
	}
}
