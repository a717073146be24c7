package op

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"millrace/take"
	"millrace/window"
)

// paneSpecs are the hopping windows the pane tests run: sizes that are a multiple of the
// slide, sliced into panes, and one that is not, which keeps per-window states.
var paneSpecs = []window.Spec{
	{Kind: window.Hop, Size: 10 * time.Second, Every: 2 * time.Second, Sliced: true},
	{Kind: window.Hop, Size: time.Minute, Every: 10 * time.Second, Sliced: true},
	{Kind: window.Hop, Size: 10 * time.Second, Every: 3 * time.Second},
}

// paneCalls are txCalls over paneInput's rows and the aggregates they lack:
// count_distinct(merchant), approx_quantile(score, 0.5) and sum(amount) FILTER (WHERE flag).
// A final phase reads states: no argument columns.
func paneCalls(phase Phase) []AggCall {
	f64, str, flag := arrow.PrimitiveTypes.Float64, arrow.BinaryTypes.String, arrow.FixedWidthTypes.Boolean
	calls := append(txCalls(Single),
		AggCall{Name: "count_distinct", Args: []int{3}, ArgTypes: []arrow.DataType{str}},
		AggCall{Name: "approx_quantile", Args: []int{4, -1}, ArgTypes: []arrow.DataType{f64, f64}, Const: []any{nil, 0.5}},
		AggCall{Name: "sum", Args: []int{2, 5}, ArgTypes: []arrow.DataType{amtType, flag}, Filter: true},
	)
	return forPhase(calls, phase)
}

// newPaneAgg builds and opens a WindowAgg of paneCalls grouped by card; with spill set, it
// spills every group after every batch.
func newPaneAgg(t testing.TB, mem memory.Allocator, spec window.Spec, phase Phase, spill string) *WindowAgg {
	t.Helper()
	w, err := NewWindowAgg(WindowAggConfig{Window: spec, Keys: 1, Time: 1, Calls: paneCalls(phase), Phase: phase, RejectOverflow: true})
	if err != nil {
		t.Fatal(err)
	}
	f := []arrow.Field{{Name: "card", Type: arrow.BinaryTypes.String}, {Name: "window_start", Type: tsType}}
	if phase == Partial {
		for i, st := range w.StateTypes() {
			f = append(f, arrow.Field{Name: fmt.Sprintf("state_%d", i), Type: st, Nullable: true})
		}
	} else {
		f = append(f, arrow.Field{Name: "window_end", Type: tsType})
		for i, rt := range w.ResultTypes() {
			f = append(f, arrow.Field{Name: fmt.Sprintf("r%d", i), Type: rt, Nullable: true})
		}
	}
	w.cfg.Out = arrow.NewSchema(f, nil)
	if spill != "" {
		w.spill = &spiller{cfg: SpillConfig{Dir: spill, Above: 1, KeyGroup: cardOwner(8)}}
	}
	if err := w.Open(Context{Mem: mem, Errors: &collect{}}); err != nil {
		t.Fatal(err)
	}
	return w
}

// paneInput is txStream with a boolean column flag (score above 60) and, in a tenth of the
// batches, a few rows moved up to 25 s behind the last watermark: out of order beyond the
// allowance, some of them in windows that have fired.
func paneInput(t testing.TB, r *rand.Rand, mem memory.Allocator) []msg {
	t.Helper()
	raw := txStream(r, mem, 30, 120, 11, 1500, 6_000)
	defer releaseStream(raw)
	fields := append(slices.Clone(txIn.Fields()), arrow.Field{Name: "flag", Type: arrow.FixedWidthTypes.Boolean, Nullable: true})
	in := arrow.NewSchema(fields, nil)
	var out []msg
	wm := int64(MinWatermark)
	for _, m := range raw {
		if m.rec == nil {
			wm = m.wm
			out = append(out, m)
			continue
		}
		n := int(m.rec.NumRows())
		score := m.rec.Column(4).(*array.Float64)
		flag := array.NewBooleanBuilder(mem)
		times := array.NewTimestampBuilder(mem, tsType)
		for i := range n {
			if score.IsNull(i) {
				flag.AppendNull()
			} else {
				flag.Append(score.Value(i) > 60)
			}
			ts := int64(m.rec.Column(1).(*array.Timestamp).Value(i))
			if wm != MinWatermark && r.IntN(10) == 0 {
				ts = wm - r.Int64N(25_000)
			}
			times.Append(arrow.Timestamp(ts))
		}
		cols := slices.Clone(m.rec.Columns())
		cols[1] = times.NewArray()
		cols = append(cols, flag.NewArray())
		out = append(out, msg{rec: array.NewRecordBatch(in, cols, int64(n))})
		cols[1].Release()
		cols[len(cols)-1].Release()
		flag.Release()
		times.Release()
	}
	return out
}

// runPanes runs msgs through the two phases at parallelism p: batch i goes to partial
// subtask i mod p, each state row to the final subtask its card hashes to, and every
// watermark to every subtask, partials first. It returns the finals' rows, sorted.
func runPanes(t *testing.T, mem memory.Allocator, spec window.Spec, p int, msgs []msg, spill bool) []string {
	t.Helper()
	owner := cardOwner(p)
	partials, finals := make([]*WindowAgg, p), make([]*WindowAgg, p)
	for i := range p {
		partials[i] = newPaneAgg(t, mem, spec, Partial, "")
		dir := ""
		if spill {
			dir = t.TempDir()
		}
		finals[i] = newPaneAgg(t, mem, spec, Final, dir)
	}
	var out collect
	route := func(states *collect) {
		for _, rec := range states.recs {
			subtasks, err := owner(rec.Columns()[:1])
			if err != nil {
				t.Fatal(err)
			}
			for s, f := range finals {
				var rows []int32
				for i, o := range subtasks {
					if o == s {
						rows = append(rows, int32(i))
					}
				}
				if len(rows) == 0 {
					continue
				}
				part, err := take.Rows(rec, rows)
				if err != nil {
					t.Fatal(err)
				}
				if err := f.Process(0, part, &out); err != nil {
					t.Fatal(err)
				}
			}
			rec.Release()
		}
	}
	for i, m := range msgs {
		var states collect
		if m.rec != nil {
			m.rec.Retain()
			if err := partials[i%p].Process(0, m.rec, &states); err != nil {
				t.Fatal(err)
			}
			route(&states)
			continue
		}
		for _, pa := range partials {
			if err := pa.OnWatermark(m.wm, &states); err != nil {
				t.Fatal(err)
			}
		}
		route(&states)
		for _, f := range finals {
			if err := f.OnWatermark(m.wm, &out); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, f := range finals {
		if f.Groups() != 0 {
			t.Fatalf("a final subtask holds %d groups after the last watermark", f.Groups())
		}
		if spill && f.spill.store == nil {
			t.Fatal("a final subtask never spilled")
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return rowsOnly(jsonLines(out.recs))
}

// TestPanesGiveThePerWindowResults checks that hopping windows aggregated in two phases,
// through panes when the size is a multiple of the slide, give exactly what one phase
// folding every row into each of its windows gives, for every kind of aggregate, at
// parallelism 1 to 8 (1, 3 and 8 with -short), with rows out of order and behind the
// watermark, and at parallelism 3 with the pebble backend spilling every group after every
// batch.
func TestPanesGiveThePerWindowResults(t *testing.T) {
	parallelisms := []int{1, 2, 3, 4, 5, 6, 7, 8}
	if testing.Short() {
		parallelisms = []int{1, 3, 8}
	}
	for _, spec := range paneSpecs {
		for seed := range uint64(2) {
			t.Run(fmt.Sprintf("%s/seed=%d", spec, seed), func(t *testing.T) {
				mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
				defer mem.AssertSize(t, 0)
				msgs := paneInput(t, rand.New(rand.NewPCG(seed, 5)), mem)
				defer releaseStream(msgs)
				single := newPaneAgg(t, mem, spec, Single, "")
				want := rowsOnly(deliver(t, single, msgs, true))
				if len(want) < 100 {
					t.Fatalf("only %d windows to compare", len(want))
				}
				for _, p := range parallelisms {
					spill := p == 3
					got := runPanes(t, mem, spec, p, msgs, spill)
					compareLines(t, fmt.Sprintf("parallelism %d, spilling %v", p, spill), got, want)
				}
			})
		}
	}
}

// TestPanesResumeFromASnapshot stops the final phase of pane-sliced windows after each of
// many messages, restores a fresh one from its snapshot, and checks that it goes on to the
// same rows as without a stop, with the memory backend and the pebble backend.
func TestPanesResumeFromASnapshot(t *testing.T) {
	for i, spec := range paneSpecs[:2] {
		for _, spill := range []bool{false, true} {
			if spill && i == 0 {
				continue // opening a store at every stop is slow: the longer windows have fewer messages
			}
			t.Run(fmt.Sprintf("%s/spill=%v", spec, spill), func(t *testing.T) {
				mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
				defer mem.AssertSize(t, 0)
				r := rand.New(rand.NewPCG(uint64(spec.Size), 3))
				raw := paneInput(t, r, mem)
				msgs := paneStates(t, mem, spec, raw)
				releaseStream(raw)
				defer releaseStream(msgs)
				fresh := func() Operator {
					dir := ""
					if spill {
						dir = t.TempDir()
					}
					return newPaneAgg(t, mem, spec, Final, dir)
				}
				checkResumes(t, fresh, msgs, stops(r, len(msgs)))
			})
		}
	}
}

// paneStates runs raw rows through one partial subtask and returns its pane states, with the
// watermarks in between.
func paneStates(t *testing.T, mem memory.Allocator, spec window.Spec, msgs []msg) []msg {
	t.Helper()
	p := newPaneAgg(t, mem, spec, Partial, "")
	var out []msg
	for _, m := range msgs {
		var c collect
		var err error
		if m.rec == nil {
			err = p.OnWatermark(m.wm, &c)
		} else {
			m.rec.Retain()
			err = p.Process(0, m.rec, &c)
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range c.recs {
			out = append(out, msg{rec: r})
		}
		if m.rec == nil {
			out = append(out, m)
		}
	}
	return out
}

// TestAPaneThatWouldOverflowIsMergedIntoNoneOfItsWindows merges two panes of one key into
// their windows, where the second window set to merge overflows the sum: the pane at fault
// goes to the errors and is taken back from the windows it was already merged into, and the
// other pane is merged into all of its windows.
func TestAPaneThatWouldOverflowIsMergedIntoNoneOfItsWindows(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)
	in := arrow.NewSchema([]arrow.Field{{Name: "k", Type: arrow.BinaryTypes.String}, {Name: "ts", Type: tsType}, {Name: "n", Type: arrow.PrimitiveTypes.Int64}}, nil)
	spec := window.Spec{Kind: window.Hop, Size: 3 * time.Second, Every: time.Second, Sliced: true}
	phase := func(p Phase) *WindowAgg {
		args := []int{2}
		if p == Final {
			args = nil
		}
		w, err := NewWindowAgg(WindowAggConfig{Window: spec, Keys: 1, Time: 1, Phase: p, RejectOverflow: true,
			Calls: []AggCall{{Name: "sum", Text: "sum(n)", Args: args, ArgTypes: []arrow.DataType{arrow.PrimitiveTypes.Int64}}}})
		if err != nil {
			t.Fatal(err)
		}
		w.cfg.Out = outSchema(p == Partial, w)
		return w
	}
	partial, final := phase(Partial), phase(Final)
	var states, out, errs collect
	if err := partial.Open(Context{Mem: mem}); err != nil {
		t.Fatal(err)
	}
	if err := final.Open(Context{Mem: mem, Errors: &errs}); err != nil {
		t.Fatal(err)
	}
	// The pane [0s,1s) is in the windows starting -2s, -1s and 0s, the pane [2s,3s) in those
	// starting 0s, 1s and 2s: the window starting 0s holds both, and the first pane overflows
	// it when merged third, after the second pane was merged there first.
	rec := batch(t, mem, in, []string{"x", "x"}, []string{"1970-01-01T00:00:00.5Z", "1970-01-01T00:00:02.5Z"},
		[]string{"9223372036854775800", "100"})
	if err := partial.Process(0, rec, &states); err != nil {
		t.Fatal(err)
	}
	if len(states.recs) != 1 || states.recs[0].NumRows() != 2 {
		t.Fatalf("the partial phase emitted %v, want the two panes in one batch", states.recs)
	}
	if err := final.Process(0, states.recs[0], &out); err != nil {
		t.Fatal(err)
	}
	if err := final.OnWatermark(MaxWatermark, &out); err != nil {
		t.Fatal(err)
	}
	got := rowsOnly(jsonLines(out.recs))
	want := []string{
		`{"card":"x","window_start":"1970-01-01T00:00:00Z","window_end":"1970-01-01T00:00:03Z","r0":"100"}`,
		`{"card":"x","window_start":"1970-01-01T00:00:01Z","window_end":"1970-01-01T00:00:04Z","r0":"100"}`,
		`{"card":"x","window_start":"1970-01-01T00:00:02Z","window_end":"1970-01-01T00:00:05Z","r0":"100"}`,
	}
	if !slices.Equal(got, want) {
		t.Fatalf("windows\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if len(errs.recs) != 1 || errs.recs[0].NumRows() != 1 {
		t.Fatalf("error rows %v, want one", errs.recs)
	}
	if row := errs.recs[0].Column(0).ValueStr(0); !strings.Contains(row, "1970-01-01T00:00:00Z") {
		t.Errorf("the rejected state %s is not the pane starting at 0s", row)
	}
	errs.recs[0].Release()
}
