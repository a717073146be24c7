package format_test

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"millrace/format"
	"millrace/gen"
	"millrace/schema"
)

// TestReadersStreamInBoundedMemory reads files several times larger than the heap they may
// use, so a reader that loaded its input whole would fail.
func TestReadersStreamInBoundedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("writes and reads ~250 MB of text")
	}
	const rows = 600_000
	const budget = 64 << 20
	dir := t.TempDir()
	cfg := gen.DefaultConfig()
	cfg.Rows = rows
	for _, name := range []string{"tx.jsonl", "tx.csv.zst", "tx.parquet"} {
		path := filepath.Join(dir, name)
		f, err := format.CreateFile(path)
		if err != nil {
			t.Fatal(err)
		}
		kind, _, _ := format.Detect(path)
		if _, err := gen.Write(context.Background(), cfg, f, kind, format.WriteOptions{RowGroupRows: 100_000}, nil); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		st, _ := os.Stat(path)

		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		base, peak := ms.HeapAlloc, ms.HeapAlloc
		r, err := format.Open(path, "", schema.Transaction(), format.ReadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for {
			rec, dead, err := r.Read()
			if err == io.EOF {
				break
			}
			if err != nil || len(dead) > 0 {
				t.Fatalf("%s: %v %v", name, err, dead)
			}
			n += int(rec.NumRows())
			rec.Release()
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapAlloc)
		}
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
		if n != rows {
			t.Fatalf("%s: read %d rows, want %d", name, n, rows)
		}
		t.Logf("%s: %d MB on disk, heap grew by at most %d MB", name, st.Size()>>20, (peak-base)>>20)
		if peak-base > budget {
			t.Errorf("%s: heap grew by %d MB reading it, more than %d MB", name, (peak-base)>>20, budget>>20)
		}
	}
}
