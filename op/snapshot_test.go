package op

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/axiomhq/hyperloglog"

	"millrace/window"
)

// msg is one message of a test stream: a batch, or a watermark when rec is nil.
type msg struct {
	rec arrow.RecordBatch
	wm  int64
}

func releaseStream(msgs []msg) {
	for _, m := range msgs {
		if m.rec != nil {
			m.rec.Release()
		}
	}
}

// deliver feeds msgs to o (which keeps none of them: each batch is retained for it), then
// calls Finish when finish is set, and returns what o emitted as jsonLines.
func deliver(t *testing.T, o Operator, msgs []msg, finish bool) []string {
	t.Helper()
	var out collect
	for i, m := range msgs {
		var err error
		if m.rec == nil {
			err = o.OnWatermark(m.wm, &out)
		} else {
			m.rec.Retain()
			err = o.Process(0, m.rec, &out)
		}
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
	}
	if finish {
		if err := o.Finish(&out); err != nil {
			t.Fatalf("finish: %v", err)
		}
	}
	return jsonLines(out.recs)
}

// jsonLines renders batches as one JSON object per row, with a line "--" closing each batch
// so that batch boundaries compare too, and releases them.
func jsonLines(recs []arrow.RecordBatch) []string {
	var out []string
	for _, r := range recs {
		for i := range int(r.NumRows()) {
			var b strings.Builder
			b.WriteByte('{')
			for c, col := range r.Columns() {
				if c > 0 {
					b.WriteByte(',')
				}
				v := col.ValueStr(i)
				if r.ColumnName(c) == "state_approx_count_distinct" && col.IsValid(i) {
					v = canonicalHLL(col.(*array.Binary).Value(i))
				}
				b.WriteString(strconv.Quote(r.ColumnName(c)) + ":" + strconv.Quote(v))
			}
			b.WriteByte('}')
			out = append(out, b.String())
		}
		out = append(out, "--")
		r.Release()
	}
	return out
}

// canonicalHLL renders an encoded HyperLogLog sketch so that equal sketches read alike: the
// encoding lists the sketch's recent hashes in the order of a Go map.
func canonicalHLL(enc []byte) string {
	var sk hyperloglog.Sketch
	if err := sk.UnmarshalBinary(enc); err != nil {
		return "not a sketch: " + err.Error()
	}
	sk.Estimate() // sorts the recent hashes into the sparse list
	b, err := sk.MarshalBinary()
	if err != nil {
		return err.Error()
	}
	return fmt.Sprintf("%x", b)
}

// snapshotter returns o as a Snapshotter, failing the test when it is not one.
func snapshotter(t *testing.T, o Operator) Snapshotter {
	t.Helper()
	s, ok := o.(Snapshotter)
	if !ok {
		t.Fatalf("%T is not a Snapshotter", o)
	}
	return s
}

// checkResumes runs msgs through a fresh operator without a stop, then again stopping after
// the k-th message for each k of ks: Snapshot, Close, a fresh operator, Restore, the rest of
// the messages. The output of the two halves together must equal the uninterrupted output,
// row for row and batch for batch. Then it runs once more stopping at every k of ks in turn,
// and last restores the final snapshot, taken after Finish, which must emit nothing more.
func checkResumes(t *testing.T, fresh func() Operator, msgs []msg, ks []int) {
	t.Helper()
	whole := fresh()
	want := deliver(t, whole, msgs, true)
	final, err := snapshotter(t, whole).Snapshot(FinalCheckpoint)
	if err != nil {
		t.Fatal(err)
	}
	if err := whole.Close(); err != nil {
		t.Fatal(err)
	}
	if len(want) == 0 {
		t.Fatal("the stream produced no output to compare")
	}
	resume := func(state []byte, id int) Operator {
		t.Helper()
		o := fresh()
		if err := snapshotter(t, o).Restore(state); err != nil {
			t.Fatalf("restore the snapshot taken after message %d: %v", id, err)
		}
		return o
	}
	stop := func(o Operator, k int) []byte {
		t.Helper()
		state, err := snapshotter(t, o).Snapshot(uint64(k + 1))
		if err != nil {
			t.Fatalf("snapshot after message %d: %v", k, err)
		}
		if err := o.Close(); err != nil {
			t.Fatal(err)
		}
		return state
	}
	for _, k := range ks {
		first := fresh()
		got := deliver(t, first, msgs[:k], false)
		second := resume(stop(first, k), k)
		got = append(got, deliver(t, second, msgs[k:], true)...)
		if err := second.Close(); err != nil {
			t.Fatal(err)
		}
		compareLines(t, fmt.Sprintf("stopped after message %d of %d", k, len(msgs)), got, want)
	}

	o, at := fresh(), 0
	var got []string
	for _, k := range ks {
		if k < at {
			continue
		}
		got = append(got, deliver(t, o, msgs[at:k], false)...)
		o, at = resume(stop(o, k), k), k
	}
	got = append(got, deliver(t, o, msgs[at:], true)...)
	if err := o.Close(); err != nil {
		t.Fatal(err)
	}
	compareLines(t, fmt.Sprintf("stopped after each of messages %v", ks), got, want)

	o = resume(final, len(msgs))
	if rest := deliver(t, o, nil, true); len(rest) > 0 {
		t.Fatalf("restored from the final snapshot, the operator emitted %d more lines: %s", len(rest), rest[0])
	}
	if err := o.Close(); err != nil {
		t.Fatal(err)
	}
}

// compareLines fails with the first difference between got and want.
func compareLines(t *testing.T, what string, got, want []string) {
	t.Helper()
	for i := range min(len(got), len(want)) {
		if got[i] != want[i] {
			t.Fatalf("%s: line %d is\n%s\nwithout a stop it is\n%s", what, i, got[i], want[i])
		}
	}
	if len(got) != len(want) {
		t.Fatalf("%s: %d lines, without a stop %d", what, len(got), len(want))
	}
}

// stops returns the message counts to stop after: every one of the first few and the last
// few, and a sample in between, a third of them (a tenth with -short).
func stops(r *rand.Rand, n int) []int {
	every := 3
	if testing.Short() {
		every = 10
	}
	var ks []int
	for k := 0; k <= n; k++ {
		if k < 3 || k > n-3 || r.IntN(every) == 0 {
			ks = append(ks, k)
		}
	}
	return ks
}

// txIn is the raw input of the snapshot tests: a key, the event time and columns for every
// kind of aggregate state.
var txIn = arrow.NewSchema([]arrow.Field{
	{Name: "card", Type: arrow.BinaryTypes.String},
	{Name: "ts", Type: tsType},
	{Name: "amount", Type: amtType, Nullable: true},
	{Name: "merchant", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "score", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
}, nil)

// txStream makes batches of random rows over cards keys, with event times that step by up
// to step ms and lag by up to lag ms, and a watermark (the latest time less lag) after most
// batches; it ends with MaxWatermark. No row is behind a watermark before it.
func txStream(r *rand.Rand, mem memory.Allocator, batches, rows, cards int, step, lag int64) []msg {
	var msgs []msg
	now, wm := int64(1_700_000_000_000), int64(MinWatermark)
	for range batches {
		b := array.NewRecordBuilder(mem, txIn)
		for range 1 + r.IntN(rows) {
			now += r.Int64N(step)
			ts := max(now-r.Int64N(lag+1), wm)
			b.Field(0).(*array.StringBuilder).Append(fmt.Sprintf("c%d", r.IntN(cards)))
			b.Field(1).(*array.TimestampBuilder).Append(arrow.Timestamp(ts))
			if r.IntN(10) == 0 {
				b.Field(2).AppendNull()
			} else {
				if err := b.Field(2).AppendValueFromString(fmt.Sprintf("%d.%02d", r.IntN(2000)-100, r.IntN(100))); err != nil {
					panic(err) // a well-formed decimal
				}
			}
			if r.IntN(8) == 0 {
				b.Field(3).AppendNull()
			} else {
				b.Field(3).(*array.StringBuilder).Append(fmt.Sprintf("m%d", r.IntN(40)))
			}
			if r.IntN(8) == 0 {
				b.Field(4).AppendNull()
			} else {
				b.Field(4).(*array.Float64Builder).Append(float64(r.IntN(1000)) / 8)
			}
		}
		msgs = append(msgs, msg{rec: b.NewRecordBatch()})
		b.Release()
		if r.IntN(3) > 0 && now-lag > wm {
			wm = now - lag
			msgs = append(msgs, msg{wm: wm})
		}
	}
	return append(msgs, msg{wm: MaxWatermark})
}

// txCalls are calls of every aggregate over txIn: count(*), sum(amount), avg(score),
// min(merchant), max(amount), approx_count_distinct(merchant), quantile(score, 0.9). A final
// phase reads states, so its calls have no argument columns.
func txCalls(phase Phase) []AggCall {
	f64, str := arrow.PrimitiveTypes.Float64, arrow.BinaryTypes.String
	calls := []AggCall{
		{Name: "count"},
		{Name: "sum", Args: []int{2}, ArgTypes: []arrow.DataType{amtType}},
		{Name: "avg", Args: []int{4}, ArgTypes: []arrow.DataType{f64}},
		{Name: "min", Args: []int{3}, ArgTypes: []arrow.DataType{str}},
		{Name: "max", Args: []int{2}, ArgTypes: []arrow.DataType{amtType}},
		{Name: "approx_count_distinct", Args: []int{3}, ArgTypes: []arrow.DataType{str}},
		{Name: "quantile", Args: []int{4, -1}, ArgTypes: []arrow.DataType{f64, f64}, Const: []any{nil, 0.9}},
	}
	return forPhase(calls, phase)
}

// forPhase returns calls as an operator of phase takes them: a final phase reads states,
// so its calls have no argument columns.
func forPhase(calls []AggCall, phase Phase) []AggCall {
	if phase == Final {
		for i := range calls {
			calls[i].Args = nil
		}
	}
	return calls
}

// newTxAgg builds and opens a WindowAgg of txCalls over txIn, grouped by card when keys is
// 1 and over all rows when it is 0.
func newTxAgg(t testing.TB, mem memory.Allocator, spec window.Spec, phase Phase, keys int) *WindowAgg {
	t.Helper()
	w, err := NewWindowAgg(WindowAggConfig{Window: spec, Keys: keys, Time: 1, Calls: txCalls(phase), Phase: phase})
	if err != nil {
		t.Fatal(err)
	}
	var f []arrow.Field
	if keys == 1 {
		f = append(f, arrow.Field{Name: "card", Type: arrow.BinaryTypes.String})
	}
	f = append(f, arrow.Field{Name: "window_start", Type: tsType})
	if phase == Partial {
		for i, st := range w.StateTypes() {
			f = append(f, arrow.Field{Name: "state_" + w.cfg.Calls[i].Name, Type: st, Nullable: true})
		}
	} else {
		f = append(f, arrow.Field{Name: "window_end", Type: tsType})
		for i, rt := range w.ResultTypes() {
			f = append(f, arrow.Field{Name: fmt.Sprintf("r%d", i), Type: rt, Nullable: true})
		}
	}
	w.cfg.Out = arrow.NewSchema(f, nil)
	if err := w.Open(Context{Mem: mem}); err != nil {
		t.Fatal(err)
	}
	return w
}

// partialStream runs msgs through a partial aggregation and returns what the final phase
// reads: its state batches, and the watermarks in between.
func partialStream(t *testing.T, mem memory.Allocator, spec window.Spec, keys int, msgs []msg) []msg {
	t.Helper()
	p := newTxAgg(t, mem, spec, Partial, keys)
	var out []msg
	for _, m := range msgs {
		if m.rec == nil {
			out = append(out, m)
			continue
		}
		var c collect
		m.rec.Retain()
		if err := p.Process(0, m.rec, &c); err != nil {
			t.Fatal(err)
		}
		for _, r := range c.recs {
			out = append(out, msg{rec: r})
		}
	}
	return out
}

func TestWindowAggResumesFromASnapshot(t *testing.T) {
	specs := []window.Spec{
		{Kind: window.Tumble, Size: time.Minute},
		{Kind: window.Hop, Size: 5 * time.Minute, Every: time.Minute},
		{Kind: window.Session, Gap: 10 * time.Second},
	}
	for _, spec := range specs {
		for _, phase := range []Phase{Single, Partial, Final} {
			if spec.Kind == window.Session && phase != Single {
				continue
			}
			for _, keys := range []int{1, 0} {
				t.Run(fmt.Sprintf("%s/%s/keys=%d", spec, phase, keys), func(t *testing.T) {
					mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
					defer mem.AssertSize(t, 0)
					r := rand.New(rand.NewPCG(uint64(spec.Kind), uint64(phase)))
					msgs := txStream(r, mem, 24, 150, 9, 3000, 20_000)
					if phase == Final {
						raw := msgs
						msgs = partialStream(t, mem, spec, keys, raw)
						releaseStream(raw)
					}
					defer releaseStream(msgs)
					fresh := func() Operator { return newTxAgg(t, mem, spec, phase, keys) }
					checkResumes(t, fresh, msgs, stops(r, len(msgs)))
				})
			}
		}
	}
}

// TestSessionSnapshotKeepsSlots checks the slot layout a session snapshot records: keys
// whose sessions fired leave free slots, and a restored operator reuses them in the same
// order as the original, so sessions ending together fire in the same order.
func TestSessionSnapshotKeepsSlots(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)
	spec := window.Spec{Kind: window.Session, Gap: time.Second}
	var msgs []msg
	// Ten keys open sessions at once; every other one fires; then keys of the other half
	// and new ones open sessions that end at the same instant.
	var first, second []sessionEvent
	for i := range 10 {
		ts := int64(1000)
		if i%2 == 1 {
			ts = 5000
		}
		first = append(first, sessionEvent{card: fmt.Sprintf("k%d", i), ts: ts, amount: int64(i)})
	}
	for i := 19; i >= 5; i-- {
		second = append(second, sessionEvent{card: fmt.Sprintf("k%d", i), ts: 5500, amount: int64(i)})
	}
	msgs = append(msgs, msg{rec: sessionBatch(mem, first)}, msg{wm: 3000}, msg{rec: sessionBatch(mem, second)}, msg{wm: MaxWatermark})
	defer releaseStream(msgs)
	fresh := func() Operator {
		w := newSessionAgg(t, mem, spec.Gap, 1)
		return w
	}
	checkResumes(t, fresh, msgs, []int{0, 1, 2, 3, 4})
	w := fresh().(*WindowAgg)
	deliver(t, w, msgs[:2], false)
	if len(w.sess.free) != 5 || len(w.sess.keys) != 10 {
		t.Fatalf("after the first sessions fired: %d slots, %d free; want 10 and 5", len(w.sess.keys), len(w.sess.free))
	}
}

func TestSnapshotOfAnEmptyOperator(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)
	ops := map[string]func() Operator{
		"tumble": func() Operator {
			return newTxAgg(t, mem, window.Spec{Kind: window.Tumble, Size: time.Minute}, Single, 1)
		},
		"hop final": func() Operator {
			return newTxAgg(t, mem, window.Spec{Kind: window.Hop, Size: time.Minute, Every: time.Second}, Final, 1)
		},
		"session": func() Operator {
			return newTxAgg(t, mem, window.Spec{Kind: window.Session, Gap: time.Minute}, Single, 1)
		},
		"window top": func() Operator { return NewWindowTop(1, 2) },
		"chain": func() Operator {
			return NewChain(NewMap(nil, nil, nil), newTxAgg(t, mem, window.Spec{Kind: window.Tumble, Size: time.Minute}, Single, 1))
		},
	}
	for name, fresh := range ops {
		a := fresh()
		state, err := snapshotter(t, a).Snapshot(1)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		b := fresh()
		if err := snapshotter(t, b).Restore(state); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if s, ok := b.(Stateful); ok && s.StateBytes() != a.(Stateful).StateBytes() {
			t.Errorf("%s: restored from an empty snapshot, the state is %d bytes, not %d", name, s.StateBytes(), a.(Stateful).StateBytes())
		}
		if out := deliver(t, b, []msg{{wm: MaxWatermark}}, true); len(out) > 0 {
			t.Errorf("%s: restored from an empty snapshot, emitted %s", name, out[0])
		}
		t.Logf("%s: an empty snapshot is %d bytes", name, len(state))
		if err := errors.Join(a.Close(), b.Close()); err != nil {
			t.Error(err)
		}
	}
}

// reseal replaces the envelope of a snapshot: kind, version, fingerprint and body, with a
// valid checksum.
func reseal(kind, version byte, fp string, body []byte) []byte {
	w := newStateWriter(kind, version, 7, fp)
	w.buf.Write(body)
	return bytes.Clone(w.seal())
}

func TestRestoreRefusesWhatIsNotItsState(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)
	tumble := window.Spec{Kind: window.Tumble, Size: time.Minute}
	r := rand.New(rand.NewPCG(1, 1))
	msgs := txStream(r, mem, 3, 50, 5, 1000, 0)
	defer releaseStream(msgs)
	src := newTxAgg(t, mem, tumble, Single, 1)
	deliver(t, src, msgs[:2], false)
	good, err := src.Snapshot(3)
	if err != nil {
		t.Fatal(err)
	}
	fp := src.StateFingerprint()
	top, err := NewWindowTop(1, 2).Snapshot(1)
	if err != nil {
		t.Fatal(err)
	}
	flipped := bytes.Clone(good)
	flipped[len(flipped)/2] ^= 0x20
	newer := bytes.Clone(good)
	newer[5] = 9
	binary.LittleEndian.PutUint32(newer[len(newer)-4:], crc32.Checksum(newer[:len(newer)-4], castagnoli))
	// A valid envelope around a watermark and rows that are not Arrow IPC.
	var junk bytes.Buffer
	junk.Write(binary.AppendVarint(nil, 5))
	junk.WriteString("these are not Arrow record batches")
	// A valid envelope around an Arrow stream of other columns.
	other := newStateWriter(kindWindowAgg, 1, 1, fp)
	other.varint(5)
	extra := txStream(r, mem, 1, 3, 2, 10, 0)
	defer releaseStream(extra)
	if err := other.records(mem, txIn, extra[0].rec); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		into  Snapshotter
		state []byte
		want  string
	}{
		{"nothing", newTxAgg(t, mem, tumble, Single, 1), nil, "too short"},
		{"text", newTxAgg(t, mem, tumble, Single, 1), []byte("not a snapshot at all, just words"), "not an operator snapshot"},
		{"a flipped bit", newTxAgg(t, mem, tumble, Single, 1), flipped, "corrupt: its checksum"},
		{"cut short", newTxAgg(t, mem, tumble, Single, 1), good[:len(good)-9], "corrupt: its checksum"},
		{"a window top's", newTxAgg(t, mem, tumble, Single, 1), top, "is a window top's snapshot, not a window aggregation's"},
		{"another window", newTxAgg(t, mem, window.Spec{Kind: window.Tumble, Size: time.Hour}, Single, 1), good, "fingerprint"},
		{"another phase", newTxAgg(t, mem, tumble, Final, 1), good, "fingerprint"},
		{"a session", newTxAgg(t, mem, window.Spec{Kind: window.Session, Gap: time.Minute}, Single, 1), good, "not a session window aggregation's"},
		{"a newer version", newTxAgg(t, mem, tumble, Single, 1), newer, "version 9"},
		{"rows that are not Arrow", newTxAgg(t, mem, tumble, Single, 1), reseal(kindWindowAgg, 1, fp, junk.Bytes()), "not an Arrow IPC stream"},
		{"other columns", newTxAgg(t, mem, tumble, Single, 1), bytes.Clone(other.seal()), "state rows have columns (card utf8"},
		{"an aggregation's into a window top", NewWindowTop(1, 2), good, "is a window aggregation's (tumbling or hopping) snapshot, not a window top's"},
		{"an aggregation's into a chain", NewChain(NewWindowTop(1, 2)).(Snapshotter), good, "not a chain's"},
	}
	for _, c := range cases {
		err := c.into.Restore(c.state)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error saying %q", c.name, err, c.want)
		}
		if err := c.into.(Operator).Close(); err != nil {
			t.Error(err)
		}
	}

	into := newTxAgg(t, mem, tumble, Single, 1)
	deliver(t, into, msgs[:1], false)
	if err := into.Restore(good); err == nil || !strings.Contains(err.Error(), "already holds") {
		t.Errorf("restore into a busy operator: got %v", err)
	}
}

func TestWindowAggFingerprint(t *testing.T) {
	mem := memory.DefaultAllocator
	tumble := window.Spec{Kind: window.Tumble, Size: time.Minute}
	base := newTxAgg(t, mem, tumble, Single, 1).StateFingerprint()
	if again := newTxAgg(t, mem, tumble, Single, 1).StateFingerprint(); again != base {
		t.Fatalf("the fingerprint changes between two equal operators: %s %s", base, again)
	}
	if len(base) != 16 {
		t.Fatalf("fingerprint %q is not 16 hex digits", base)
	}
	differ := map[string]*WindowAgg{
		"window": newTxAgg(t, mem, window.Spec{Kind: window.Hop, Size: time.Minute, Every: time.Second}, Single, 1),
		"phase":  newTxAgg(t, mem, tumble, Final, 1),
		"keys":   newTxAgg(t, mem, tumble, Single, 0),
	}
	calls := txCalls(Single)
	calls[3].Name = "max"
	byName, err := NewWindowAgg(WindowAggConfig{Window: tumble, Keys: 1, Time: 1, Calls: calls, Out: newTxAgg(t, mem, tumble, Single, 1).cfg.Out})
	if err != nil {
		t.Fatal(err)
	}
	differ["function"] = byName
	calls = txCalls(Single)
	calls[2].ArgTypes = []arrow.DataType{arrow.PrimitiveTypes.Int64}
	byType, err := NewWindowAgg(WindowAggConfig{Window: tumble, Keys: 1, Time: 1, Calls: calls, Out: byName.cfg.Out})
	if err != nil {
		t.Fatal(err)
	}
	differ["argument type"] = byType
	for what, w := range differ {
		if w.StateFingerprint() == base {
			t.Errorf("another %s keeps the fingerprint %s", what, base)
		}
	}
	calls = txCalls(Single)
	calls[6].Const = []any{nil, 0.5}
	q, err := NewWindowAgg(WindowAggConfig{Window: tumble, Keys: 1, Time: 1, Calls: calls, Out: byName.cfg.Out})
	if err != nil {
		t.Fatal(err)
	}
	if q.StateFingerprint() != base {
		t.Error("another quantile q changed the fingerprint, though the state keeps the whole sketch")
	}
}

// recraft rewrites a snapshot of w with the rows at pick, in that order, and, when head is not
// nil, head's fields between the watermark and the rows instead of the snapshot's own.
func recraft(t *testing.T, w *WindowAgg, state []byte, pick []int32, head func(*stateWriter)) []byte {
	t.Helper()
	kind := kindWindowAgg
	if w.sess != nil {
		kind = kindSessionAgg
	}
	r, err := openState(state, kind, windowAggStateVersion, w.StateFingerprint())
	if err != nil {
		t.Fatal(err)
	}
	wm, _ := r.varint("watermark")
	var slots *sessionSlots
	if w.sess != nil {
		if slots, err = readSessionSlots(r); err != nil {
			t.Fatal(err)
		}
	}
	mem := allocator(w.ctx)
	recs, err := r.records(mem, w.stateSchema())
	if err != nil {
		t.Fatal(err)
	}
	rows := pickRows(t, mem, recs[0], pick)
	recs[0].Release()
	defer rows.Release()
	sw := newStateWriter(kind, windowAggStateVersion, 1, w.StateFingerprint())
	sw.varint(wm)
	switch {
	case head != nil:
		head(sw)
	case slots != nil:
		sw.uvarint(slots.n)
		sw.uvarint(uint64(len(slots.free)))
		for _, f := range slots.free {
			sw.uvarint(uint64(f))
		}
	}
	if err := sw.records(mem, rows.Schema(), rows); err != nil {
		t.Fatal(err)
	}
	return bytes.Clone(sw.seal())
}

func TestRestoreRefusesInconsistentGroups(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)
	r := rand.New(rand.NewPCG(2, 2))
	msgs := txStream(r, mem, 6, 40, 3, 2000, 0)
	defer releaseStream(msgs)
	hop := window.Spec{Kind: window.Hop, Size: 5 * time.Minute, Every: time.Minute}
	session := window.Spec{Kind: window.Session, Gap: time.Minute}
	snapshot := func(spec window.Spec) (*WindowAgg, []byte) {
		w := newTxAgg(t, mem, spec, Single, 1)
		deliver(t, w, msgs[:len(msgs)-1], false)
		state, err := w.Snapshot(1)
		if err != nil {
			t.Fatal(err)
		}
		if w.Groups() < 2 {
			t.Fatalf("%s: %d groups, want a few", spec, w.Groups())
		}
		return w, state
	}
	hw, hstate := snapshot(hop)
	sw, sstate := snapshot(session)
	if len(sw.sess.free) != 0 || sw.sess.keys[0].s.Len() == 0 {
		t.Fatalf("the cases below expect slot 0 used and none free, not %d free", len(sw.sess.free))
	}
	cases := []struct {
		name  string
		spec  window.Spec
		state []byte
		want  string
	}{
		{"a group twice", hop, recraft(t, hw, hstate, []int32{0, 1, 0}, nil), "twice"},
		{"a session twice", session, recraft(t, sw, sstate, []int32{0, 0}, func(w *stateWriter) {
			w.uvarint(1) // one slot, 0, that of the first row
			w.uvarint(0)
		}), "overlaps another session"},
		{"a used slot listed free", session, recraft(t, sw, sstate, []int32{0}, func(w *stateWriter) {
			w.uvarint(2)
			w.uvarint(1)
			w.uvarint(0)
		}), "which is free, taken or not among"},
		{"a slot neither free nor used", session, recraft(t, sw, sstate, []int32{0}, func(w *stateWriter) {
			w.uvarint(2)
			w.uvarint(0)
		}), "slots but only 0 free ones and 1 sessions"},
		{"free slots beyond the count", session, recraft(t, sw, sstate, []int32{0}, func(w *stateWriter) {
			w.uvarint(2)
			w.uvarint(1)
			w.uvarint(7)
		}), "free slot 7 of 2"},
	}
	for _, c := range cases {
		w := newTxAgg(t, mem, c.spec, Single, 1)
		if err := w.Restore(c.state); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error saying %q", c.name, err, c.want)
		}
	}
}

// pickRows returns the rows at pick of rec, in that order, repeats allowed.
func pickRows(t *testing.T, mem memory.Allocator, rec arrow.RecordBatch, pick []int32) arrow.RecordBatch {
	t.Helper()
	cols := make([]arrow.Array, rec.NumCols())
	for c, col := range rec.Columns() {
		parts := make([]arrow.Array, len(pick))
		for i, p := range pick {
			parts[i] = array.NewSlice(col, int64(p), int64(p)+1)
		}
		var err error
		if cols[c], err = array.Concatenate(parts, mem); err != nil {
			t.Fatal(err)
		}
		releaseAll(parts)
	}
	out := array.NewRecordBatch(rec.Schema(), cols, int64(len(pick)))
	releaseAll(cols)
	return out
}
