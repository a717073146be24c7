package op

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// BenchmarkFeaturesSnapshot takes a snapshot of every feature function's state after 600K
// rows of 200K cards, all within the 10-minute range, and reports the time its capture
// takes apart: that is what a checkpoint holds the subtask for (see Capturer).
func BenchmarkFeaturesSnapshot(b *testing.B) {
	r := rand.New(rand.NewPCG(5, 6))
	f := newTestFeatures(b, memory.DefaultAllocator, 10*time.Minute, time.Hour)
	defer func() { _ = f.Close() }()
	var out collect
	t := int64(1_700_000_000_000)
	const n, batches = 8192, 73
	for range batches {
		bld := array.NewRecordBuilder(memory.DefaultAllocator, featInput)
		for range n {
			t++
			bld.Field(0).(*array.StringBuilder).Append(fmt.Sprintf("c%d", r.IntN(200000)))
			bld.Field(1).(*array.TimestampBuilder).Append(arrow.Timestamp(t))
			bld.Field(2).(*array.Int64Builder).Append(r.Int64N(100000))
			bld.Field(3).(*array.StringBuilder).Append(fmt.Sprintf("m%d", r.IntN(20000)))
			bld.Field(4).(*array.Float64Builder).Append(r.Float64()*180 - 90)
			bld.Field(5).(*array.Float64Builder).Append(r.Float64()*360 - 180)
		}
		rec := bld.NewRecordBatch()
		bld.Release()
		if err := f.Process(0, rec, &out); err != nil {
			b.Fatal(err)
		}
		if err := f.OnWatermark(t, &out); err != nil {
			b.Fatal(err)
		}
		for _, o := range out.recs {
			o.Release()
		}
		out.recs = out.recs[:0]
	}
	size := 0
	var capture time.Duration
	cpu0 := cpuTime(b)
	b.ResetTimer()
	for b.Loop() {
		began := time.Now()
		encode, err := f.CaptureSnapshot(1)
		if err != nil {
			b.Fatal(err)
		}
		capture += time.Since(began)
		st, err := encode()
		if err != nil {
			b.Fatal(err)
		}
		size = len(st)
	}
	b.ReportMetric(float64(size), "bytes")
	// The capture holds the operator; the encoding runs beside it. On a machine shared with
	// other work the CPU time says more than the wall clock.
	b.ReportMetric(float64(capture.Milliseconds())/float64(b.N), "capture-ms/op")
	b.ReportMetric(float64((cpuTime(b)-cpu0).Milliseconds())/float64(b.N), "cpu-ms/op")
}
