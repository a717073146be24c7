package op

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"millrace/proctime"
)

// BenchmarkFeatures computes every feature function (count, sum, avg, count_if,
// count_distinct, first_seen, seconds_since_prev, zscore, km_from_prev and kmh_from_prev)
// over 512K rows of 20K cards, 10-minute range and 1-hour ttl, delivered in batches of 8192
// up to 2s out of order with the watermark 2s behind: the throughput of one subtask.
func BenchmarkFeatures(b *testing.B) { benchFeatures(b, false) }

// BenchmarkFeaturesCountSum is BenchmarkFeatures with count(*) and sum(x) alone.
func BenchmarkFeaturesCountSum(b *testing.B) { benchFeatures(b, true) }

func benchFeatures(b *testing.B, countSum bool) {
	r := rand.New(rand.NewPCG(3, 4))
	const n, batches = 8192, 64
	var recs []arrow.RecordBatch
	t := int64(1_700_000_000_000)
	for range batches {
		bld := array.NewRecordBuilder(memory.DefaultAllocator, featInput)
		for range n {
			t += r.Int64N(4)
			bld.Field(0).(*array.StringBuilder).Append(fmt.Sprintf("c%d", r.IntN(20000)))
			bld.Field(1).(*array.TimestampBuilder).Append(arrow.Timestamp(t - r.Int64N(2000)))
			bld.Field(2).(*array.Int64Builder).Append(r.Int64N(100000))
			bld.Field(3).(*array.StringBuilder).Append(fmt.Sprintf("m%d", r.IntN(5000)))
			bld.Field(4).(*array.Float64Builder).Append(r.Float64()*180 - 90)
			bld.Field(5).(*array.Float64Builder).Append(r.Float64()*360 - 180)
		}
		recs = append(recs, bld.NewRecordBatch())
		bld.Release()
	}
	defer func() {
		for _, r := range recs {
			r.Release()
		}
	}()
	rows := 0
	cpu0 := proctime.CPU()
	b.ResetTimer()
	for b.Loop() {
		f := newTestFeatures(b, memory.DefaultAllocator, 10*time.Minute, time.Hour)
		if countSum {
			var err error
			f, err = NewFeatures(FeaturesConfig{In: featInput, Keys: []int{0}, Time: 1, Range: 10 * time.Minute, Calls: []FeatureCall{
				{Name: "n", Func: "count", Star: true, Text: "count(*)"},
				{Name: "s", Func: "sum", Args: []Evaluator{column(2)}, ArgTypes: []arrow.DataType{arrow.PrimitiveTypes.Int64}, Text: "sum(x)"},
			}})
			if err != nil {
				b.Fatal(err)
			}
		}
		var out collect
		wm := int64(0)
		for _, rec := range recs {
			rec.Retain()
			if err := f.Process(0, rec, &out); err != nil {
				b.Fatal(err)
			}
			ts := rec.Column(1).(*array.Timestamp)
			for i := range n {
				wm = max(wm, int64(ts.Value(i))-2000)
			}
			if err := f.OnWatermark(wm, &out); err != nil {
				b.Fatal(err)
			}
			for _, o := range out.recs {
				o.Release()
			}
			out.recs = out.recs[:0]
			rows += n
		}
		if err := f.Finish(&out); err != nil {
			b.Fatal(err)
		}
		for _, o := range out.recs {
			o.Release()
		}
		if err := f.Close(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
	// On a machine shared with other work the wall clock says little; the CPU time the
	// process took (the operator's goroutine and the garbage collector) says what a core does.
	b.ReportMetric(float64(rows)/(proctime.CPU()-cpu0).Seconds(), "rows/cpu-s")
}
