package format

import (
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"millrace/schema"
)

// benchRows is the size of the benchmark data: about a million transactions, one row group at
// the default row group size.
const benchRows = 1 << 20

// benchBatchRows is the size of the batches the benchmarks write.
const benchBatchRows = 64 << 10

// BenchmarkParquetWrite encodes about a million transactions into a zstd Parquet file that is
// thrown away, in batches of 64K rows.
func BenchmarkParquetWrite(b *testing.B) {
	rec := sampleTransactions(b, memory.DefaultAllocator, benchRows)
	defer rec.Release()
	batches := sliceBatches(rec, benchBatchRows)
	defer releaseBatches(batches)
	b.ResetTimer()
	for b.Loop() {
		w, err := NewParquetWriter(io.Discard, rec.Schema(), WriteOptions{})
		if err != nil {
			b.Fatal(err)
		}
		for _, part := range batches {
			if err := w.Write(part); err != nil {
				b.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(benchRows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkParquetRead reads every column of about a million transactions from a zstd Parquet
// file written by NewParquetWriter, in batches of the default size.
func BenchmarkParquetRead(b *testing.B) {
	rec := sampleTransactions(b, memory.DefaultAllocator, benchRows)
	path := filepath.Join(b.TempDir(), "tx.parquet")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w, err := NewParquetWriter(f, rec.Schema(), WriteOptions{RowGroupRows: benchRows / 2})
	if err == nil {
		err = w.Write(rec)
	}
	if err == nil {
		err = w.Close()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	rec.Release()
	if err != nil {
		b.Fatal(err)
	}
	if st, err := os.Stat(path); err == nil {
		b.ReportMetric(float64(st.Size())/benchRows, "file-bytes/row")
	}
	b.ResetTimer()
	for b.Loop() {
		r, err := OpenParquet(path, schema.Transaction(), ReadOptions{})
		if err != nil {
			b.Fatal(err)
		}
		rows := int64(0)
		err = drain(r, func(rec arrow.RecordBatch, dead []DeadLetter) error {
			if len(dead) > 0 {
				b.Fatalf("dead letters: %v", dead[0])
			}
			rows += rec.NumRows()
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		if err := r.Close(); err != nil {
			b.Fatal(err)
		}
		if rows != benchRows {
			b.Fatalf("read %d rows, want %d", rows, benchRows)
		}
	}
	b.ReportMetric(float64(benchRows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

// sliceBatches cuts rec into batches of n rows that share its buffers.
func sliceBatches(rec arrow.RecordBatch, n int64) []arrow.RecordBatch {
	var out []arrow.RecordBatch
	for off := int64(0); off < rec.NumRows(); off += n {
		out = append(out, rec.NewSlice(off, min(off+n, rec.NumRows())))
	}
	return out
}

func releaseBatches(batches []arrow.RecordBatch) {
	for _, b := range batches {
		b.Release()
	}
}
