package op

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"millrace/window"
)

// retractIn is the input of the changelog aggregate tests: a card (the group), the change,
// and the values of the row it adds or takes back.
var retractIn = arrow.NewSchema([]arrow.Field{
	{Name: "card", Type: arrow.BinaryTypes.String},
	{Name: "_op", Type: arrow.BinaryTypes.String},
	{Name: "v", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "amt", Type: &arrow.Decimal128Type{Precision: 12, Scale: 2}},
	{Name: "name", Type: arrow.BinaryTypes.String},
	{Name: "ok", Type: arrow.FixedWidthTypes.Boolean},
}, nil)

// retractCalls are every aggregate the changelog aggregate computes, over retractIn.
func retractCalls() []AggCall {
	amt, str := retractIn.Field(3).Type, arrow.BinaryTypes.String
	i64 := arrow.PrimitiveTypes.Int64
	call := func(name string, col int, t arrow.DataType) AggCall {
		return AggCall{Name: name, Text: fmt.Sprintf("%s(%s)", name, retractIn.Field(col).Name), Args: []int{col}, ArgTypes: []arrow.DataType{t}}
	}
	return []AggCall{{Name: "count", Text: "count(*)"}, call("count", 2, i64), call("sum", 2, i64), call("avg", 2, i64),
		call("min", 2, i64), call("max", 2, i64), call("sum", 3, amt), call("avg", 3, amt), call("min", 4, str), call("max", 4, str),
		call("count_if", 5, arrow.FixedWidthTypes.Boolean), call("min", 3, amt)}
}

// retractOut is the output schema of calls over retractIn: what a WindowAgg of the whole
// input emits, then live.
func retractOut(t testing.TB, calls []AggCall) *arrow.Schema {
	t.Helper()
	w, err := NewWindowAgg(WindowAggConfig{Window: window.Spec{Kind: window.Whole}, Keys: 1, Time: -1, Calls: calls, Phase: Single})
	if err != nil {
		t.Fatal(err)
	}
	fields := append([]arrow.Field{}, outSchema(false, w).Fields()...)
	return arrow.NewSchema(append(fields, arrow.Field{Name: "live", Type: arrow.FixedWidthTypes.Boolean}), nil)
}

func newTestRetractAgg(t testing.TB, updates bool) *RetractAgg {
	t.Helper()
	calls := retractCalls()
	r, err := NewRetractAgg(RetractAggConfig{In: retractIn, Keys: 1, Calls: calls, Out: retractOut(t, calls), EmitUpdates: updates})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Open(Context{}); err != nil {
		t.Fatal(err)
	}
	return r
}

// retractRow is a row of the table whose changelog the tests aggregate.
type retractRow struct {
	card, v, amt, name, ok string
}

// randomChangelog makes batches of the changes of a table of rows kept by id: inserts,
// updates that may move a row to another card, and deletes; it returns them with the rows
// the table holds at the end.
func randomChangelog(t *testing.T, mem memory.Allocator, seed uint64, batches int) ([]msg, map[int]retractRow) {
	rng := rand.New(rand.NewPCG(seed, 11))
	table := map[int]retractRow{}
	newRow := func() retractRow {
		v := strconv.Itoa(rng.IntN(2000) - 1000)
		if rng.IntN(8) == 0 {
			v = "NULL"
		}
		return retractRow{card: "card" + strconv.Itoa(rng.IntN(30)), v: v, amt: fmt.Sprintf("%d.%02d", rng.IntN(500), rng.IntN(100)),
			name: string(rune('a' + rng.IntN(6))), ok: strconv.FormatBool(rng.IntN(3) == 0)}
	}
	var msgs []msg
	for b := range batches {
		var cols [6][]string
		add := func(op string, r retractRow) {
			for c, v := range []string{r.card, op, r.v, r.amt, r.name, r.ok} {
				cols[c] = append(cols[c], v)
			}
		}
		for range 40 {
			id := rng.IntN(400)
			old, has := table[id]
			switch {
			case !has:
				r := newRow()
				table[id] = r
				add(OpInsert, r)
			case rng.IntN(3) == 0:
				delete(table, id)
				add(OpDelete, old)
			default:
				r := newRow()
				if rng.IntN(2) == 0 {
					r.card = old.card
				}
				table[id] = r
				add(OpUpdateBefore, old)
				add(OpUpdateAfter, r)
			}
		}
		msgs = append(msgs, msg{rec: batch(t, mem, retractIn, cols[:]...)}, msg{wm: int64(b)})
	}
	return msgs, table
}

// retractTableRows renders the groups of a final table as a WindowAgg of the whole input computes
// them from its rows, in the order of the cards.
func retractTableRows(t *testing.T, mem memory.Allocator, table map[int]retractRow) map[string]string {
	t.Helper()
	calls := retractCalls()
	w, err := NewWindowAgg(WindowAggConfig{Window: window.Spec{Kind: window.Whole}, Keys: 1, Time: -1, Calls: calls, Phase: Single})
	if err != nil {
		t.Fatal(err)
	}
	w.cfg.Out = outSchema(false, w)
	if err := w.Open(Context{Mem: mem}); err != nil {
		t.Fatal(err)
	}
	var cols [6][]string
	for _, id := range slices.Sorted(maps.Keys(table)) {
		r := table[id]
		for c, v := range []string{r.card, OpInsert, r.v, r.amt, r.name, r.ok} {
			cols[c] = append(cols[c], v)
		}
	}
	rec := batch(t, mem, retractIn, cols[:]...)
	defer rec.Release()
	lines := deliver(t, w, []msg{{rec: rec}, {wm: MaxWatermark}}, true)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	for _, l := range lines {
		if l != "--" {
			want[cardOf(l)] = l
		}
	}
	return want
}

// cardOf reads the card of a rendered row.
func cardOf(line string) string {
	card, _, _ := strings.Cut(strings.TrimPrefix(line, `{"card":"`), `"`)
	return card
}

// applyGroups applies rendered output rows to table: a row whose live column is true is
// its card's row now, one whose live is false removes the card.
func applyGroups(t *testing.T, table map[string]string, lines []string) {
	t.Helper()
	for _, l := range lines {
		if l == "--" {
			continue
		}
		switch {
		case strings.HasSuffix(l, `,"live":"true"}`):
			table[cardOf(l)] = strings.TrimSuffix(l, `,"live":"true"}`) + "}"
		case strings.HasSuffix(l, `,"live":"false"}`):
			if _, ok := table[cardOf(l)]; !ok {
				t.Fatalf("%s removes a card the table does not hold", l)
			}
			delete(table, cardOf(l))
		default:
			t.Fatalf("row without live: %s", l)
		}
	}
}

// TestRetractAggAppliedIsTheTablesAggregate aggregates the changelog of a table that rows
// enter, change (moving between cards) and leave, spread by card over subtasks that are
// snapshotted and rescaled from 2 to 3 to 1 on the way: the groups its updates leave, and
// the groups a run that emits only at the end writes, are what a window aggregate of the
// whole table computes from the rows it holds at the end. Every aggregate is checked:
// count(*), count, integer and decimal sum and avg, min and max of integers, decimals and
// strings (which must find the next value when the least is taken back), count_if.
func TestRetractAggAppliedIsTheTablesAggregate(t *testing.T) {
	for _, updates := range []bool{true, false} {
		t.Run(fmt.Sprintf("updates %v", updates), func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
			defer mem.AssertSize(t, 0)
			msgs, table := randomChangelog(t, mem, 5, 60)
			defer releaseStream(msgs)
			want := retractTableRows(t, mem, table)
			fresh := func() Operator { return newTestRetractAgg(t, updates) }
			run := &keyedRun{t: t, mem: mem, subs: []Operator{fresh(), fresh()}}
			run.deliver(msgs[:41])
			run.rescale(fresh, 3)
			run.deliver(msgs[41:80])
			run.rescale(fresh, 1)
			run.deliver(msgs[80:])
			for _, o := range run.subs {
				run.out = append(run.out, deliver(t, o, nil, true)...)
				if err := o.Close(); err != nil {
					t.Fatal(err)
				}
			}
			if batches := slices.Index(run.out, "--"); !updates && batches != len(run.out)-1 {
				t.Fatalf("without updates, a batch before the end: %v", run.out[:batches+1])
			}
			got := map[string]string{}
			applyGroups(t, got, run.out)
			if len(want) < 20 {
				t.Fatalf("the table ends with %d cards: too few to check", len(want))
			}
			for card, w := range want {
				if got[card] != w {
					t.Fatalf("card %s:\n%s\nwant\n%s", card, got[card], w)
				}
			}
			if len(got) != len(want) {
				t.Fatalf("%d cards, want %d", len(got), len(want))
			}
		})
	}
}

// TestRetractAggByHand follows one card: the results after each batch, min and max moving
// to the next value when theirs is taken back, and the card emitted as not live once its
// last row goes, then forgotten.
func TestRetractAggByHand(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)
	calls := []AggCall{{Name: "count", Text: "count(*)"},
		{Name: "min", Text: "min(v)", Args: []int{2}, ArgTypes: []arrow.DataType{arrow.PrimitiveTypes.Int64}},
		{Name: "avg", Text: "avg(v)", Args: []int{2}, ArgTypes: []arrow.DataType{arrow.PrimitiveTypes.Int64}}}
	out := arrow.NewSchema([]arrow.Field{{Name: "card", Type: arrow.BinaryTypes.String},
		{Name: "s", Type: arrow.FixedWidthTypes.Timestamp_ms}, {Name: "e", Type: arrow.FixedWidthTypes.Timestamp_ms},
		{Name: "n", Type: arrow.PrimitiveTypes.Int64}, {Name: "lo", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "mean", Type: arrow.PrimitiveTypes.Float64, Nullable: true}, {Name: "live", Type: arrow.FixedWidthTypes.Boolean}}, nil)
	r, err := NewRetractAgg(RetractAggConfig{In: retractIn, Keys: 1, Calls: calls, Out: out, EmitUpdates: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Open(Context{Mem: mem}); err != nil {
		t.Fatal(err)
	}
	step := func(ops, vals []string) []string {
		n := len(ops)
		cards, rest := slices.Repeat([]string{"a"}, n), slices.Repeat([]string{"0.00"}, n)
		rec := batch(t, mem, retractIn, cards, ops, vals, rest, slices.Repeat([]string{"x"}, n), slices.Repeat([]string{"true"}, n))
		defer rec.Release()
		lines := deliver(t, r, []msg{{rec: rec}}, false)
		for i, l := range lines {
			if l != "--" {
				_, l, _ = strings.Cut(l, `"e":`)
				_, lines[i], _ = strings.Cut(l, ",")
			}
		}
		return lines
	}
	row := func(n, lo, mean, live string) string {
		return fmt.Sprintf(`"n":%q,"lo":%q,"mean":%q,"live":%q}`, n, lo, mean, live)
	}
	for i, c := range []struct {
		ops, vals []string
		want      string
	}{
		{[]string{"+I", "+I", "+I"}, []string{"4", "2", "9"}, row("3", "2", "5", "true")},
		{[]string{"-U", "+U"}, []string{"2", "6"}, row("3", "4", "6.333333333333333", "true")},
		{[]string{"-D", "+I"}, []string{"4", "NULL"}, row("3", "6", "7.5", "true")},
		{[]string{"-D", "-D", "-D"}, []string{"6", "9", "NULL"}, row("0", "(null)", "(null)", "false")},
	} {
		if got := step(c.ops, c.vals); !slices.Equal(got, []string{c.want, "--"}) {
			t.Fatalf("batch %d: %v, want %s", i, got, c.want)
		}
	}
	if r.Keys() != 0 || r.StateBytes() != 0 {
		t.Fatalf("holds %d groups, %d bytes after every row left", r.Keys(), r.StateBytes())
	}
	rec := batch(t, mem, retractIn, []string{"a"}, []string{"-D"}, []string{"1"}, []string{"0.00"}, []string{"x"}, []string{"true"})
	defer rec.Release()
	rec.Retain()
	if err := r.Process(0, rec, &collect{}); err == nil || !strings.Contains(err.Error(), "takes back a row the group does not hold") {
		t.Fatalf("a -D of a row never added: %v", err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestRetractAggKeepsNoStringOfItsInput takes the least name of a group and overwrites a
// batch's text once the aggregate has seen it: the values it keeps must be its own copies.
func TestRetractAggKeepsNoStringOfItsInput(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)
	calls := []AggCall{{Name: "min", Text: "min(name)", Args: []int{4}, ArgTypes: []arrow.DataType{arrow.BinaryTypes.String}}}
	r, err := NewRetractAgg(RetractAggConfig{In: retractIn, Keys: 1, Calls: calls, Out: retractOut(t, calls), EmitUpdates: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Open(Context{Mem: mem}); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = r.Close() }()
	first := batch(t, mem, retractIn, []string{"a"}, []string{"+I"}, []string{"1"}, []string{"0.00"}, []string{"m"}, []string{"true"})
	deliver(t, r, []msg{{rec: first}}, false)
	scribble(first) // "m" now reads "z", above "n"
	first.Release()
	second := batch(t, mem, retractIn, []string{"a"}, []string{"+I"}, []string{"2"}, []string{"0.00"}, []string{"n"}, []string{"true"})
	defer second.Release()
	got := deliver(t, r, []msg{{rec: second}}, false)
	if len(got) != 2 || !strings.Contains(got[0], `"r0":"m"`) {
		t.Fatalf("got %v, want the least name still m", got)
	}
}

// TestRetractAggSnapshotsByKeyGroup splits the state by owner and restores the parts into
// one operator, which then carries on as the whole would; a corrupt group state is refused
// with its key.
func TestRetractAggSnapshotsByKeyGroup(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)
	msgs, _ := randomChangelog(t, mem, 9, 20)
	defer releaseStream(msgs)
	whole := newTestRetractAgg(t, true)
	deliver(t, whole, msgs[:20], false)
	parts, err := whole.SnapshotGroups(3, 4, cardOwner(4))
	if err != nil {
		t.Fatal(err)
	}
	restored := newTestRetractAgg(t, true)
	if err := restored.RestoreParts(parts); err != nil {
		t.Fatal(err)
	}
	if restored.Keys() != whole.Keys() || restored.StateBytes() != whole.StateBytes() {
		t.Fatalf("restored %d groups of %d bytes, want %d of %d", restored.Keys(), restored.StateBytes(), whole.Keys(), whole.StateBytes())
	}
	a, b := deliver(t, whole, msgs[20:], true), deliver(t, restored, msgs[20:], true)
	if !slices.Equal(a, b) || len(a) < 20 {
		t.Fatalf("after restoring the parts, %d lines differ from the whole's %d", len(b), len(a))
	}
	if err := restored.RestoreParts(parts); err == nil {
		t.Fatal("restored into an operator that holds groups")
	}
	bad := newTestRetractAgg(t, true)
	rec := whole.stateRows()
	state := rec.Column(1).(*array.Binary).Value(0)
	rec.Release()
	sb := array.NewRecordBuilder(mem, retractAggStateSchema)
	sb.Field(0).(*array.BinaryBuilder).AppendString("k")
	sb.Field(1).(*array.BinaryBuilder).Append(state[:len(state)-1])
	cut := sb.NewRecordBatch()
	sb.Release()
	defer cut.Release()
	if err := bad.load(cut); err == nil || !strings.Contains(err.Error(), "state row 0, key 6b") {
		t.Fatalf("a group state cut short: %v", err)
	}
	for _, o := range []*RetractAgg{whole, restored, bad} {
		if err := o.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
