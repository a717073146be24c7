package score

import (
	"path/filepath"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"millrace/op"
	"millrace/proctime"
)

// BenchmarkScore scores the shipped fraud model's sample (15 features, 150 trees of depth
// 5), repeated into batches of 8192 rows, on one core: rows/s is scoring throughput per core,
// feature columns read and the score column built included. rows/cpu-s divides by the
// process's CPU time rather than the wall clock, which a loaded machine stretches.
func BenchmarkScore(b *testing.B) {
	rec, names := expected(b)
	defer rec.Release()
	var parts []arrow.RecordBatch
	for n := int64(0); n < 8192; n += rec.NumRows() {
		parts = append(parts, rec.NewSlice(0, min(rec.NumRows(), 8192-n)))
	}
	batch := concatBatches(b, parts)
	defer batch.Release()
	out := arrow.NewSchema(append(batch.Schema().Fields(), arrow.Field{Name: "score", Type: arrow.PrimitiveTypes.Float64}), nil)
	s, err := NewScorer(Config{Path: filepath.Join(models, "fraud.xgb"), Kind: XGBoost, Features: columns(b, batch.Schema(), names...), Out: out})
	if err != nil {
		b.Fatal(err)
	}
	if err := s.Open(op.Context{}); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	cpu0 := proctime.CPU()
	for range b.N {
		scores, err := s.Score(batch)
		if err != nil {
			b.Fatal(err)
		}
		scores.Release()
	}
	rows := float64(b.N) * float64(batch.NumRows())
	b.ReportMetric(rows/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(rows/(proctime.CPU()-cpu0).Seconds(), "rows/cpu-s")
}

// concatBatches joins batches of one schema into one; the caller releases it.
func concatBatches(b *testing.B, recs []arrow.RecordBatch) arrow.RecordBatch {
	cols := make([]arrow.Array, recs[0].NumCols())
	var n int64
	for _, r := range recs {
		n += r.NumRows()
	}
	for c := range cols {
		parts := make([]arrow.Array, len(recs))
		for i, r := range recs {
			parts[i] = r.Column(c)
		}
		a, err := array.Concatenate(parts, memory.DefaultAllocator)
		if err != nil {
			b.Fatal(err)
		}
		cols[c] = a
		defer a.Release()
	}
	for _, r := range recs {
		r.Release()
	}
	return array.NewRecordBatch(recs[0].Schema(), cols, n)
}
