package gen

import (
	"context"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
)

// BenchmarkGenerate measures fast-mode generation into batches of 64Ki rows with the default
// world and fraud rate, and reports rows per second.
func BenchmarkGenerate(b *testing.B) {
	cfg := DefaultConfig()
	cfg.Rows = 0
	g, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	const batch = 1 << 16
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	rows := 0
	for rows < b.N {
		rec, err := g.Next(ctx, memory.DefaultAllocator, batch)
		if err != nil {
			b.Fatal(err)
		}
		rows += int(rec.NumRows())
		rec.Release()
	}
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
}
