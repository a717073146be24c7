package lake

import (
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"millrace/format"
)

// BenchmarkScan reads every column of a file of 200,000 rows in row groups of 50,000 through
// a lake in a directory (listing, footer, ranged reads of whole row groups) and, for
// comparison, as a Parquet file source reads it.
func BenchmarkScan(b *testing.B) {
	data := txFile(b, time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), 200_000, 50_000)
	store := dirStore(b)
	if err := store.Put(b.Context(), "part-0.parquet", data); err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(b.TempDir(), "part-0.parquet")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		b.Fatal(err)
	}
	count := func(b *testing.B, read func() (int64, bool)) {
		var rows int64
		for {
			n, ok := read()
			if !ok {
				break
			}
			rows += n
		}
		if rows != 200_000 {
			b.Fatalf("read %d rows", rows)
		}
	}
	b.Run("lake", func(b *testing.B) {
		for b.Loop() {
			src, err := Open(b.Context(), store, Options{Schema: txSchema})
			if err != nil {
				b.Fatal(err)
			}
			for p := range src.Partitions() {
				r, err := src.Open(b.Context(), p, nil)
				if err != nil {
					b.Fatal(err)
				}
				count(b, func() (int64, bool) {
					rec, _, err := r.Read(b.Context())
					if err == io.EOF {
						return 0, false
					}
					if err != nil {
						b.Fatal(err)
					}
					defer rec.Release()
					return rec.NumRows(), true
				})
				if err := r.Close(); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	b.Run("file", func(b *testing.B) {
		for b.Loop() {
			r, err := format.OpenParquet(path, txSchema, format.ReadOptions{})
			if err != nil {
				b.Fatal(err)
			}
			count(b, func() (int64, bool) {
				rec, _, err := r.Read()
				if err == io.EOF {
					return 0, false
				}
				if err != nil {
					b.Fatal(err)
				}
				defer rec.Release()
				return rec.NumRows(), true
			})
			if err := r.Close(); err != nil {
				b.Fatal(err)
			}
		}
	})
}
