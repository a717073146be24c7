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

// BenchmarkFeaturesSnapshot takes snapshots of every feature function's state after 600K
// rows of 200K cards, all within the 10-minute range, with new transactions between two
// snapshots, as between two checkpoints of a busy step: 2,048 rows (about 1% of the cards
// change) or 139,264 (about half of them). It reports the time the capture takes apart,
// that is what a checkpoint holds the subtask for (see Capturer), and the memory of the
// copy the captures keep. The rows between the snapshots are not timed.
func BenchmarkFeaturesSnapshot(b *testing.B) {
	for _, c := range []struct {
		name string
		rows int
	}{{"changed=1%", 2048}, {"changed=50%", 17 * 8192}} {
		b.Run(c.name, func(b *testing.B) { benchFeaturesSnapshot(b, c.rows) })
	}
}

// benchFeaturesSnapshot is BenchmarkFeaturesSnapshot with rows between two snapshots.
func benchFeaturesSnapshot(b *testing.B, rows int) {
	r := rand.New(rand.NewPCG(5, 6))
	f := newTestFeatures(b, memory.DefaultAllocator, 10*time.Minute, time.Hour)
	defer func() { _ = f.Close() }()
	var out collect
	t := int64(1_700_000_000_000)
	feed := func(n int) {
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
	for range 73 {
		feed(8192)
	}
	// took is the wall and CPU time of a snapshot's capture, and the CPU time of the whole
	// snapshot (ns/op is its wall time).
	type took struct{ capture, captureCPU, cpu time.Duration }
	snapshot := func(t *took) int {
		began, cpu0 := time.Now(), proctime.CPU()
		encode, err := f.CaptureSnapshot(1)
		if err != nil {
			b.Fatal(err)
		}
		t.capture += time.Since(began)
		t.captureCPU += proctime.CPU() - cpu0
		st, err := encode()
		if err != nil {
			b.Fatal(err)
		}
		t.cpu += proctime.CPU() - cpu0
		return len(st)
	}
	snapshot(&took{}) // the first checkpoint of the run
	size := 0
	var sum took
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		for n := rows; n > 0; n -= 8192 {
			feed(min(n, 8192))
		}
		b.StartTimer()
		size = snapshot(&sum)
	}
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 / float64(b.N) }
	b.ReportMetric(float64(size), "bytes")
	// The copy the captures keep is memory the step holds, a part of its state bytes.
	b.ReportMetric(float64(f.kept.stateBytes()), "kept-bytes")
	b.ReportMetric(float64(f.StateBytes()), "state-bytes")
	// The capture holds the operator; the encoding runs beside it. On a machine shared with
	// other work the CPU time says more than the wall clock.
	b.ReportMetric(ms(sum.capture), "capture-ms/op")
	b.ReportMetric(ms(sum.captureCPU), "capture-cpu-ms/op")
	b.ReportMetric(ms(sum.cpu), "cpu-ms/op")
}
