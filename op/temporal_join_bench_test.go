package op

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
)

// BenchmarkTemporalJoin joins 100,000 left rows with 100,000 versions over 1,000 keys (a
// hundred versions a key, one every 1,000 ms), the watermark a batch behind the input: rows
// a second, rows out reported.
func BenchmarkTemporalJoin(b *testing.B) {
	const n = 100_000
	left, right := benchRows(n, 1_000, false), benchRows(n, 1_000, true)
	b.ResetTimer()
	rows := 0
	for range b.N {
		j, err := NewTemporalJoin(temporalJoinConfig(true))
		if err != nil {
			b.Fatal(err)
		}
		if err := j.Open(Context{Mem: memory.DefaultAllocator}); err != nil {
			b.Fatal(err)
		}
		var out countRows
		for i := range left {
			left[i].Retain()
			right[i].Retain()
			if err := j.Process(0, left[i], &out); err != nil {
				b.Fatal(err)
			}
			if err := j.Process(1, right[i], &out); err != nil {
				b.Fatal(err)
			}
			if err := j.OnWatermark(int64(i*4096), &out); err != nil {
				b.Fatal(err)
			}
		}
		if err := j.OnWatermark(MaxWatermark, &out); err != nil {
			b.Fatal(err)
		}
		rows = out.n
		if err := j.Close(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(2*n*b.N)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(rows), "rows-out")
}
