package op

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"millrace/window"
)

// BenchmarkWindowAggHop folds 64K rows over 20K cards into 10-minute windows every minute
// (10 groups per row), count and sum, firing as the watermark moves.
func BenchmarkWindowAggHop(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	const n = 1 << 16
	var recs []arrow.RecordBatch
	t := int64(1_700_000_000_000)
	for range 8 {
		bld := array.NewRecordBuilder(memory.DefaultAllocator, rawIn)
		for range n {
			t += r.Int64N(20)
			bld.Field(0).(*array.StringBuilder).Append(fmt.Sprintf("c%d", r.IntN(20000)))
			bld.Field(1).(*array.TimestampBuilder).Append(arrow.Timestamp(t))
			bld.Field(2).(*array.Decimal128Builder).Append(decimal128.FromI64(r.Int64N(100000)))
		}
		recs = append(recs, bld.NewRecordBatch())
		bld.Release()
	}
	spec := window.Spec{Kind: window.Hop, Size: 10 * time.Minute, Every: time.Minute}
	rows := 0
	b.ResetTimer()
	for b.Loop() {
		w, err := NewWindowAgg(WindowAggConfig{Window: spec, Keys: 1, Time: 1, Phase: Single,
			Calls: []AggCall{{Name: "count"}, {Name: "sum", Args: []int{2}, ArgTypes: []arrow.DataType{amtType}}}})
		if err != nil {
			b.Fatal(err)
		}
		w.cfg.Out = outSchema(false, w)
		if err := w.Open(Context{Mem: memory.DefaultAllocator}); err != nil {
			b.Fatal(err)
		}
		var out collect
		for _, rec := range recs {
			rec.Retain()
			if err := w.Process(0, rec, &out); err != nil {
				b.Fatal(err)
			}
			wm := int64(rec.Column(1).(*array.Timestamp).Value(n - 1))
			if err := w.OnWatermark(wm, &out); err != nil {
				b.Fatal(err)
			}
			rows += n
		}
		if err := w.OnWatermark(MaxWatermark, &out); err != nil {
			b.Fatal(err)
		}
		for _, o := range out.recs {
			o.Release()
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(rows), "ns/row")
}
