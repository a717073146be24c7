package op

import (
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// BenchmarkTopN keeps the 10 highest prices of each of 10,000 keys over batches of 8192
// random rows, in one subtask; rows/s is the figure.
func BenchmarkTopN(b *testing.B) {
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "auction", Type: arrow.PrimitiveTypes.Int64},
		{Name: "bidder", Type: arrow.PrimitiveTypes.Int64},
		{Name: "price", Type: arrow.PrimitiveTypes.Int64},
		{Name: "url", Type: arrow.BinaryTypes.String},
	}, nil)
	rng := rand.New(rand.NewPCG(1, 2))
	var recs []arrow.RecordBatch
	for range 16 {
		bb := array.NewRecordBuilder(memory.DefaultAllocator, schema)
		for range 8192 {
			bb.Field(0).(*array.Int64Builder).Append(rng.Int64N(10_000))
			bb.Field(1).(*array.Int64Builder).Append(rng.Int64N(100_000))
			bb.Field(2).(*array.Int64Builder).Append(rng.Int64N(1_000_000))
			bb.Field(3).(*array.StringBuilder).Append("https://www.nexmark.com/abc/item.htm?query=1")
		}
		recs = append(recs, bb.NewRecordBatch())
		bb.Release()
	}
	top := openTopN(b, TopNConfig{In: schema, Keys: []int{0}, By: 2, Desc: true, N: 10})
	rows := 0
	for b.Loop() {
		for _, r := range recs {
			r.Retain()
			if err := top.Process(0, r, discard{}); err != nil {
				b.Fatal(err)
			}
			rows += int(r.NumRows())
		}
	}
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
}
