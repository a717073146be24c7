package lake

import (
	"context"
	"io"
	"testing"
	"time"

	"millrace/format"
	"millrace/objstore"
)

// watching is a store that reports the offset of every ranged read on a channel.
type watching struct {
	objstore.Store
	reads chan int64
}

func (w *watching) GetRange(ctx context.Context, key string, off, n int64) ([]byte, error) {
	w.reads <- off
	return w.Store.GetRange(ctx, key, off, n)
}

func TestReaderFetchesTheNextRowGroupAhead(t *testing.T) {
	base := dirStore(t)
	if err := base.Put(t.Context(), "part-0.parquet", txFile(t, time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), 300, 100)); err != nil {
		t.Fatal(err)
	}
	store := &watching{Store: base, reads: make(chan int64, 100)}
	src, err := Open(t.Context(), store, Options{Schema: txSchema, Read: format.ReadOptions{BatchRows: 10}})
	if err != nil {
		t.Fatal(err)
	}
	for len(store.reads) > 0 {
		<-store.reads // the footer's
	}
	spans := src.files[0].spans
	if len(spans) != 3 || len(spans[0]) != 1 {
		t.Fatalf("spans %v: want 3 row groups whose chunks lie together", spans)
	}
	r, err := src.Open(t.Context(), 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := r.Close(); err != nil {
			t.Error(err)
		}
	}()
	rec, _, err := r.Read(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	rec.Release()
	// The reader has read 10 rows of row group 0; row group 1 is fetched without its asking.
	guard := time.NewTimer(30 * time.Second) // fails the test, never paces it
	defer guard.Stop()
	seen := map[int64]int{}
	for seen[spans[1][0].from] == 0 {
		select {
		case off := <-store.reads:
			seen[off]++
		case <-guard.C:
			t.Fatalf("row group 1 was not fetched while the reader decodes row group 0")
		}
	}
	if seen[spans[2][0].from] > 0 {
		t.Fatalf("row group 2 was fetched while the reader is in row group 0")
	}
	rows := 10
	for {
		rec, _, err := r.Read(t.Context())
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		rows += int(rec.NumRows())
		rec.Release()
	}
	if rows != 300 {
		t.Errorf("read %d rows, want 300", rows)
	}
	close(store.reads)
	for off := range store.reads {
		seen[off]++
	}
	// The magic bytes, and each row group's chunks in one ranged read, once.
	want := map[int64]int{0: 1, spans[0][0].from: 1, spans[1][0].from: 1, spans[2][0].from: 1}
	if len(seen) != len(want) {
		t.Errorf("ranged reads at %v, want %v", seen, want)
	}
	for off, n := range want {
		if seen[off] != n {
			t.Errorf("ranged reads at %v, want %v", seen, want)
			break
		}
	}
}
