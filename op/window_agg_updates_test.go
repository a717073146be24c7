package op

import (
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"millrace/window"
)

// TestWholeInputEmitsUpdates aggregates the whole input with EmitUpdates: after each batch
// every card the batch reached comes out once with its count and sum over every row so far,
// and the others do not; the groups stay open.
func TestWholeInputEmitsUpdates(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)
	noTime := arrow.NewSchema([]arrow.Field{{Name: "card", Type: arrow.BinaryTypes.String}, {Name: "amount", Type: amtType}}, nil)
	calls := []AggCall{{Name: "count"}, {Name: "sum", Args: []int{1}, ArgTypes: []arrow.DataType{amtType}}}
	w, err := NewWindowAgg(WindowAggConfig{Window: window.Spec{Kind: window.Whole}, Keys: 1, Time: -1, Calls: calls, Phase: Single, EmitUpdates: true})
	if err != nil {
		t.Fatal(err)
	}
	w.cfg.Out = outSchema(false, w)
	if err := w.Open(Context{Mem: mem}); err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(5, 6))
	sums := map[string][2]int64{}
	for range 6 {
		b := array.NewRecordBuilder(mem, noTime)
		reached := map[string]bool{}
		for range 1 + r.IntN(4) {
			card, cents := []string{"a", "b", "c", "d", "e"}[r.IntN(5)], r.Int64N(10_000)
			b.Field(0).(*array.StringBuilder).Append(card)
			b.Field(1).(*array.Decimal128Builder).Append(decimal128.FromI64(cents))
			sums[card] = [2]int64{sums[card][0] + 1, sums[card][1] + cents}
			reached[card] = true
		}
		rec := b.NewRecordBatch()
		b.Release()
		var out collect
		if err := w.Process(0, rec, &out); err != nil {
			t.Fatal(err)
		}
		if len(out.recs) != 1 || int(out.recs[0].NumRows()) != len(reached) {
			t.Fatalf("a batch reaching %d cards emitted %d batches", len(reached), len(out.recs))
		}
		got := out.recs[0]
		for i := range int(got.NumRows()) {
			card := got.Column(0).ValueStr(i)
			n, sum := got.Column(3).(*array.Int64).Value(i), got.Column(4).(*array.Decimal128).Value(i)
			if !reached[card] || n != sums[card][0] || sum != decimal128.FromI64(sums[card][1]) {
				t.Fatalf("card %s (reached %v): count %d sum %s, want %v", card, reached[card], n, sum.ToString(2), sums[card])
			}
			delete(reached, card)
		}
		got.Release()
	}
	if w.Groups() != len(sums) {
		t.Fatalf("%d groups open, want %d", w.Groups(), len(sums))
	}
	var out collect
	if err := w.OnWatermark(MaxWatermark, &out); err != nil {
		t.Fatal(err)
	}
	for _, rec := range out.recs {
		rec.Release()
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}
