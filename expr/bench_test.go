package expr

import (
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"millrace/schema"
)

// benchRows is the batch size of the benchmarks, the largest batch the engine uses.
const benchRows = 64 << 10

// transactions builds a batch of the built-in transaction schema with plausible values.
func transactions(n int, seed uint64) arrow.RecordBatch {
	rng := rand.New(rand.NewPCG(seed, 1))
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema.Transaction())
	defer b.Release()
	channels := append([]string{"test"}, schema.Channels...)
	for i := 0; i < n; i++ {
		b.Field(schema.TxID).(*array.StringBuilder).Append("tx-0000000000")
		b.Field(schema.TS).(*array.TimestampBuilder).Append(arrow.Timestamp(1704067200000 + int64(i)*1000))
		b.Field(schema.AccountID).(*array.StringBuilder).Append("acc-000000")
		b.Field(schema.CardID).(*array.StringBuilder).Append("card-000000")
		b.Field(schema.MerchantID).(*array.StringBuilder).Append("m-00000")
		b.Field(schema.MCC).(*array.Int32Builder).Append(int32(5000 + rng.IntN(1000)))
		b.Field(schema.AmountCol).(*array.Decimal128Builder).Append(numOf(rng.Int64N(100000)))
		b.Field(schema.Currency).(*array.StringBuilder).Append("EUR")
		b.Field(schema.Country).(*array.StringBuilder).Append("DE")
		b.Field(schema.Channel).(*array.StringBuilder).Append(channels[rng.IntN(len(channels))])
		b.Field(schema.Lat).(*array.Float64Builder).Append(rng.Float64()*180 - 90)
		b.Field(schema.Lon).(*array.Float64Builder).Append(rng.Float64()*360 - 180)
		b.Field(schema.IsFraud).(*array.BooleanBuilder).AppendNull()
	}
	return b.NewRecordBatch()
}

func benchEval(b *testing.B, src string) {
	rec := transactions(benchRows, 1)
	defer rec.Release()
	e, err := CompileString(src, rec.Schema())
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		a, err := e.Eval(rec)
		if err != nil {
			b.Fatal(err)
		}
		a.Release()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/benchRows, "ns/row")
}

// The two headline kernels: a filter predicate and exact decimal arithmetic.
func BenchmarkFilterPredicate(b *testing.B) { benchEval(b, "amount > 100 AND channel <> 'test'") }
func BenchmarkDecimalArith(b *testing.B)    { benchEval(b, "amount * 1.1 + 2") }

// BenchmarkKernels measures one kernel per sub-benchmark over 64K rows.
func BenchmarkKernels(b *testing.B) {
	for _, src := range []string{
		"channel <> 'test'",
		"amount > 100",
		"amount * 1.1",
		"amount + 2",
		"lat > 0.5",
		"mcc + 1",
		"0.908 * mcc",
		"CAST(mcc AS float64)",
		"mcc = 5411",
		"lat IS NULL OR lat > lon",
		"currency IN ('EUR', 'USD', 'GBP')",
		"mcc IN (5411, 5812, 5999, 4111, 5541, 5732, 7011, 4511, 5311, 5912, 5691, 5651, 7832, 5942)",
		"CASE WHEN amount > 500 THEN 'high' WHEN amount > 100 THEN 'mid' ELSE 'low' END",
		"coalesce(lat, 0)",
		"CAST(amount AS string)",
		"upper(channel)",
		"date_trunc('hour', ts)",
		"hour(ts)",
		"ts >= '2024-01-01T06:00:00Z'",
	} {
		b.Run(src, func(b *testing.B) { benchEval(b, src) })
	}
}
