package format_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"

	"millrace/format"
	"millrace/gen"
	"millrace/proctime"
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
		if n := decodeAll(b, r); n != rows {
			b.Fatalf("decoded %d rows, want %d", n, rows)
		}
	}
	b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

// decodeAll reads r to the end, wanting no dead letters, closes it and returns the rows.
func decodeAll(b *testing.B, r format.Reader) int64 {
	defer r.Close()
	var n int64
	for {
		rec, dead, err := r.Read()
		if err == io.EOF {
			return n
		}
		if err != nil || len(dead) > 0 {
			b.Errorf("read: %v %v", err, dead)
			return n
		}
		n += rec.NumRows()
		rec.Release()
	}
}

// BenchmarkDecodeJSONLRanges decodes a JSONL file of generated transactions whole, and cut
// into 2 and 8 byte ranges that GOMAXPROCS goroutines share, as a file source's splits are
// read (its ranges of 6 MB are far smaller than a split's, to show a reader's own cost):
// cpu-ns/op is the processor time of the whole process (the reading and the collector) per
// read of the file, the measure to compare on a machine that other work shares. With -cpu 1
// it measures what the cut costs, with more what it gains.
func BenchmarkDecodeJSONLRanges(b *testing.B) {
	const rows = 200_000
	data, recs := benchText(b, format.JSONL, rows)
	for _, r := range recs {
		r.Release()
	}
	path := filepath.Join(b.TempDir(), "tx.jsonl")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		b.Fatal(err)
	}
	size := int64(len(data))
	for _, ranges := range []int64{1, 2, 8} {
		b.Run(fmt.Sprintf("ranges=%d", ranges), func(b *testing.B) {
			b.SetBytes(size)
			cpu := proctime.CPU()
			for b.Loop() {
				next, decoded := make(chan int64, ranges), atomic.Int64{}
				for k := range ranges {
					next <- k
				}
				close(next)
				var wg sync.WaitGroup
				for range runtime.GOMAXPROCS(0) {
					wg.Go(func() {
						for k := range next {
							opts := format.ReadOptions{}
							if ranges > 1 {
								opts.Bytes = [2]int64{size * k / ranges, size * (k + 1) / ranges}
							}
							r, err := format.Open(path, format.JSONL, schema.Transaction(), opts)
							if err != nil {
								b.Error(err)
								return
							}
							decoded.Add(decodeAll(b, r))
						}
					})
				}
				wg.Wait()
				if decoded.Load() != rows {
					b.Fatalf("decoded %d rows, want %d", decoded.Load(), rows)
				}
			}
			b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
			b.ReportMetric(float64(proctime.CPU()-cpu)/float64(b.N), "cpu-ns/op")
		})
	}
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
