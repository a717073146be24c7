package op

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"millrace/window"
)

// TestWholeInputFiresOnTheFinalWatermarkOnly aggregates rows without an event time column
// over the whole input: no watermark short of the final one fires anything, and the final
// one fires every key once, with the count and sum of all its rows.
func TestWholeInputFiresOnTheFinalWatermarkOnly(t *testing.T) {
	noTime := arrow.NewSchema([]arrow.Field{{Name: "card", Type: arrow.BinaryTypes.String}, {Name: "amount", Type: amtType}}, nil)
	calls := []AggCall{{Name: "count"}, {Name: "sum", Args: []int{1}, ArgTypes: []arrow.DataType{amtType}}}
	w, err := NewWindowAgg(WindowAggConfig{Window: window.Spec{Kind: window.Whole}, Keys: 1, Time: -1, Calls: calls, Phase: Single})
	if err != nil {
		t.Fatal(err)
	}
	w.cfg.Out = outSchema(false, w)
	if err := w.Open(Context{Mem: memory.DefaultAllocator}); err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(3, 4))
	want := map[string][2]int64{}
	var out collect
	for batch := range 5 {
		b := array.NewRecordBuilder(memory.DefaultAllocator, noTime)
		for range 300 {
			card, cents := []string{"a", "b", "c"}[r.IntN(3)], r.Int64N(10_000)
			b.Field(0).(*array.StringBuilder).Append(card)
			b.Field(1).(*array.Decimal128Builder).Append(decimal128.FromI64(cents))
			want[card] = [2]int64{want[card][0] + 1, want[card][1] + cents}
		}
		rec := b.NewRecordBatch()
		b.Release()
		if err := w.Process(0, rec, &out); err != nil {
			t.Fatal(err)
		}
		if err := w.OnWatermark(int64(batch)<<40, &out); err != nil {
			t.Fatal(err)
		}
	}
	if len(out.recs) != 0 {
		t.Fatalf("a watermark short of the final one fired %d batches", len(out.recs))
	}
	if err := w.OnWatermark(MaxWatermark, &out); err != nil {
		t.Fatal(err)
	}
	got := 0
	for _, rec := range out.recs {
		for i := range int(rec.NumRows()) {
			got++
			card := rec.Column(0).ValueStr(i)
			start, end := rec.Column(1).(*array.Timestamp).Value(i), rec.Column(2).(*array.Timestamp).Value(i)
			n, sum := rec.Column(3).(*array.Int64).Value(i), rec.Column(4).(*array.Decimal128).Value(i)
			if start != math.MinInt64 || end != math.MaxInt64 {
				t.Errorf("card %s: window [%d, %d), want the whole input", card, start, end)
			}
			if n != want[card][0] || sum != decimal128.FromI64(want[card][1]) {
				t.Errorf("card %s: count %d sum %s, want %v", card, n, sum.ToString(2), want[card])
			}
		}
	}
	if got != len(want) {
		t.Fatalf("%d rows fired, want one per card (%d)", got, len(want))
	}
	if _, err := NewWindowAgg(WindowAggConfig{Window: window.Spec{Kind: window.Tumble, Size: time.Minute}, Keys: 1, Time: -1, Calls: calls}); err == nil {
		t.Fatal("a tumbling window without an event time column was accepted")
	}
}
