package sink

import (
	"bytes"
	"context"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"millrace/format"
	"millrace/objstore"
	"millrace/objstore/objstoretest"
)

// s3Sink starts an S3 server for the test, its handler passed through wrap, and returns
// the options of a part-file sink of kind writing to it, partitioned by channel, and the
// store, to read back what is visible.
func s3Sink(t *testing.T, kind format.Kind, wrap func(http.Handler) http.Handler) (func() FileOptions, objstore.Store) {
	t.Helper()
	url := objstoretest.S3Handler(t, wrap) + "/lake/"
	store, err := objstore.Open(t.Context(), url, objstore.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	spool := t.TempDir()
	return func() FileOptions {
		return FileOptions{Path: url, Kind: kind, PartitionBy: []Partitioner{byChannel()}, RollRows: 100, Write: testWrite,
			Store: store, Spool: spool}
	}, store
}

// objects reads every object of store but the marker, by key.
func objects(t *testing.T, store objstore.Store) map[string][]byte {
	t.Helper()
	objs, err := store.List(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, o := range objs {
		if o.Key == storeMarker {
			continue
		}
		if out[o.Key], err = store.Get(context.Background(), o.Key); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func uploadsLeft(t *testing.T, store objstore.Store) []objstore.Upload {
	t.Helper()
	ups, err := store.(objstore.Uploads).ListUploads(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	return ups
}

// storeCase is a directory case of ckptCases, whose output an S3 sink must equal byte for
// byte.
func storeCases() []ckptCase {
	return slices.DeleteFunc(ckptCases(), func(c ckptCase) bool { return c.single })
}

// A sink writing to S3 publishes the objects a directory sink publishes as files, with the
// same bytes, each only when the checkpoint that uploaded it is committed.
func TestStoreSinkPublishesAtCommit(t *testing.T) {
	recs := batchesOf(t, 3000, 250)
	for _, c := range storeCases() {
		t.Run(c.name, func(t *testing.T) {
			want := reference(t, c, recs)
			opts, store := s3Sink(t, c.opts("").Kind, nil)
			s := start(t, opts(), 0, 1, nil)
			process(t, s, recs[:3]...)
			snapshot(t, s, 1)
			if got := objects(t, store); len(got) != 0 {
				t.Fatalf("before the commit of checkpoint 1, visible: %v", slices.Sorted(maps.Keys(got)))
			}
			if len(uploadsLeft(t, store)) == 0 {
				t.Fatal("checkpoint 1 uploaded nothing")
			}
			commit(t, s, 1)
			if got := objects(t, store); len(got) == 0 {
				t.Fatal("the commit of checkpoint 1 published nothing")
			}
			runFrom(t, s, recs, 3)
			sameTree(t, "in S3", objects(t, store), want)
			if ups := uploadsLeft(t, store); len(ups) != 0 {
				t.Fatalf("uploads left in progress: %v", ups)
			}
			files, err := Published(opts(), s.schema)
			if err != nil {
				t.Fatal(err)
			}
			var n int64
			for _, f := range files {
				if !strings.HasPrefix(f.Path, opts().Path) {
					t.Errorf("published %s, not under %s", f.Path, opts().Path)
				}
				n += f.Rows
			}
			if len(files) != len(want) || n != 3000 {
				t.Fatalf("Published lists %d files of %d rows, want %d files of 3000", len(files), n, len(want))
			}
		})
	}
}

// A run that crashes after a checkpoint uploaded its files resumes: from that checkpoint,
// Restore completes its uploads; from the one before, it aborts them. Either way every row
// is published once and no upload is left.
func TestStoreSinkRecovers(t *testing.T) {
	recs := batchesOf(t, 3000, 250)
	c := storeCases()[2] // Parquet
	want := reference(t, c, recs)
	for _, from := range []int{1, 2} {
		opts, store := s3Sink(t, format.Parquet, nil)
		s := start(t, opts(), 0, 1, nil)
		process(t, s, recs[:3]...)
		st1 := snapshot(t, s, 1)
		commit(t, s, 1)
		committed := objects(t, store)
		process(t, s, recs[3:6]...)
		st2 := snapshot(t, s, 2)
		process(t, s, recs[6:8]...)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		sameTree(t, "after the crash", objects(t, store), committed)
		if len(uploadsLeft(t, store)) == 0 {
			t.Fatal("checkpoint 2 left no upload in progress")
		}
		state, next := st1, 3
		if from == 2 {
			state, next = st2, 6
		}
		r := start(t, opts(), 0, 1, state)
		if ups := uploadsLeft(t, store); len(ups) != 0 {
			t.Fatalf("resumed from checkpoint %d: uploads left in progress %v", from, ups)
		}
		runFrom(t, r, recs, next)
		sameTree(t, "resumed", objects(t, store), want)
	}
}

// A part that fails in the middle of a checkpoint's uploads fails the snapshot and leaves
// nothing visible and no upload behind; the run that resumes from the checkpoint before
// publishes every row once.
func TestStoreSinkFailedUploadLeavesNothing(t *testing.T) {
	recs := batchesOf(t, 3000, 250)
	c := storeCases()[0] // JSONL
	want := reference(t, c, recs)
	var failing atomic.Bool
	var failed atomic.Int32
	opts, store := s3Sink(t, format.JSONL, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if failing.Load() && r.Method == http.MethodPut && r.URL.Query().Has("partNumber") && failed.Add(1) > 1 {
				http.Error(w, "denied", http.StatusForbidden)
				return
			}
			h.ServeHTTP(w, r)
		})
	})
	s := start(t, opts(), 0, 1, nil)
	process(t, s, recs[:3]...)
	st1 := snapshot(t, s, 1)
	commit(t, s, 1)
	committed := objects(t, store)
	process(t, s, recs[3:6]...)
	failing.Store(true)
	if _, err := s.Snapshot(2); err == nil || !strings.Contains(err.Error(), "pre-commit for checkpoint 2") {
		t.Fatalf("snapshot with a failing part: %v", err)
	}
	failing.Store(false)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	sameTree(t, "after the failed upload", objects(t, store), committed)
	r := start(t, opts(), 0, 1, st1)
	if ups := uploadsLeft(t, store); len(ups) != 0 {
		t.Fatalf("after restore: uploads left in progress %v", ups)
	}
	runFrom(t, r, recs, 3)
	sameTree(t, "resumed", objects(t, store), want)
}

// A file larger than a part goes up in several parts and comes back whole; a run without
// checkpoints publishes each file when it rolls.
func TestStoreSinkLargeFileWithoutCheckpoints(t *testing.T) {
	recs := batchesOf(t, 80_000, 4000)
	var parts atomic.Int32
	opts, store := s3Sink(t, format.JSONL, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPut && r.URL.Query().Has("partNumber") {
				parts.Add(1)
			}
			h.ServeHTTP(w, r)
		})
	})
	o := opts()
	o.PartitionBy, o.Dir, o.RollRows = nil, true, 1<<30
	s, err := NewFile(recs[0].Schema(), o)
	if err != nil {
		t.Fatal(err)
	}
	if err := feed(t, s, recs, 1); err != nil {
		t.Fatal(err)
	}
	got := objects(t, store)
	if len(got) != 1 {
		t.Fatalf("objects %v, want one", slices.Sorted(maps.Keys(got)))
	}
	for key, body := range got {
		if len(body) <= uploadPartSize || int(parts.Load()) != (len(body)+uploadPartSize-1)/uploadPartSize {
			t.Fatalf("%s: %d bytes sent in %d parts", key, len(body), parts.Load())
		}
		if n := bytes.Count(body, []byte("\n")); n != 80_000 {
			t.Fatalf("%s: %d lines, want 80000", key, n)
		}
	}
	if ups := uploadsLeft(t, store); len(ups) != 0 {
		t.Fatalf("uploads left in progress: %v", ups)
	}
}
