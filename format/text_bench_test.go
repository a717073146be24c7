package format_test

import (
	"bytes"
	"context"
	"io"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"

	"millrace/format"
	"millrace/gen"
	"millrace/schema"
)

// benchText returns rows generated transactions encoded as kind, and the batches they came
// from.
func benchText(b *testing.B, kind format.Kind, rows int64) ([]byte, []arrow.RecordBatch) {
	b.Helper()
	cfg := gen.DefaultConfig()
	cfg.Rows = rows
	var buf bytes.Buffer
	if _, err := gen.Write(context.Background(), cfg, &buf, kind, format.WriteOptions{}, nil); err != nil {
		b.Fatal(err)
	}
	g, err := gen.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	var recs []arrow.RecordBatch
	for {
		rec, err := g.Next(context.Background(), nil, 16384)
		if err == io.EOF {
			break
		}
		if err != nil {
			b.Fatal(err)
		}
		recs = append(recs, rec)
	}
	return buf.Bytes(), recs
}

func benchDecode(b *testing.B, kind format.Kind) {
	const rows = 200_000
	data, recs := benchText(b, kind, rows)
	for _, r := range recs {
		r.Release()
	}
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for b.Loop() {
		var r format.Reader
		var err error
		if kind == format.JSONL {
			r, err = format.NewJSONLReader(bytes.NewReader(data), "bench", schema.Transaction(), format.ReadOptions{})
		} else {
			r, err = format.NewCSVReader(bytes.NewReader(data), "bench", schema.Transaction(), format.ReadOptions{})
		}
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for {
			rec, dead, err := r.Read()
			if err == io.EOF {
				break
			}
			if err != nil || len(dead) > 0 {
				b.Fatalf("read: %v %v", err, dead)
			}
			n += int(rec.NumRows())
			rec.Release()
		}
		if n != rows {
			b.Fatalf("decoded %d rows, want %d", n, rows)
		}
		r.Close()
	}
	b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkDecodeJSONL decodes generated transactions from JSONL into batches, every column.
func BenchmarkDecodeJSONL(b *testing.B) { benchDecode(b, format.JSONL) }

// BenchmarkDecodeCSV decodes generated transactions from CSV into batches, every column.
func BenchmarkDecodeCSV(b *testing.B) { benchDecode(b, format.CSV) }

func benchEncode(b *testing.B, kind format.Kind) {
	_, recs := benchText(b, kind, 200_000)
	defer func() {
		for _, r := range recs {
			r.Release()
		}
	}()
	var rows int64
	b.ResetTimer()
	for b.Loop() {
		w, err := format.NewWriter(io.Discard, kind, schema.Transaction(), format.WriteOptions{})
		if err != nil {
			b.Fatal(err)
		}
		for _, r := range recs {
			if err := w.Write(r); err != nil {
				b.Fatal(err)
			}
			rows += r.NumRows()
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkEncodeJSONL writes generated transactions as JSONL.
func BenchmarkEncodeJSONL(b *testing.B) { benchEncode(b, format.JSONL) }

// BenchmarkEncodeCSV writes generated transactions as CSV.
func BenchmarkEncodeCSV(b *testing.B) { benchEncode(b, format.CSV) }
