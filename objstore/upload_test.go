package objstore

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
)

// An upload is invisible until it completes, and then appears whole, its parts in order.
func TestS3UploadAppearsAtCompletion(t *testing.T) {
	s, _ := openFlaky(t, DefaultRetry())
	ctx := context.Background()
	first := bytes.Repeat([]byte("a"), MinPartSize)
	last := []byte("the end")
	id, err := s.StartUpload(ctx, "d/part-1.parquet")
	if err != nil {
		t.Fatal(err)
	}
	var parts []Part
	for i, data := range [][]byte{first, last} {
		p, err := s.UploadPart(ctx, "d/part-1.parquet", id, i+1, data)
		if err != nil {
			t.Fatal(err)
		}
		parts = append(parts, p)
	}
	if objs, err := s.List(ctx, "d/"); err != nil || len(objs) != 0 {
		t.Fatalf("before completion List = %v, %v; want nothing", objs, err)
	}
	ups, err := s.ListUploads(ctx, "d/")
	if err != nil || len(ups) != 1 || ups[0] != (Upload{Key: "d/part-1.parquet", ID: id}) {
		t.Fatalf("ListUploads = %v, %v; want the one upload", ups, err)
	}
	if err := s.CompleteUpload(ctx, "d/part-1.parquet", id, parts); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(ctx, "d/part-1.parquet")
	if err != nil || !bytes.Equal(got, append(first, last...)) {
		t.Fatalf("Get after completion: %d bytes, %v; want the two parts", len(got), err)
	}
	if err := s.CompleteUpload(ctx, "d/part-1.parquet", id, parts); !errors.Is(err, ErrNoUpload) {
		t.Fatalf("second completion: %v, want ErrNoUpload", err)
	}
	if ups, err := s.ListUploads(ctx, "d/"); err != nil || len(ups) != 0 {
		t.Fatalf("ListUploads after completion = %v, %v; want none", ups, err)
	}
}

// An aborted upload leaves nothing, and a part that failed once is sent again.
func TestS3UploadAbortedLeavesNothing(t *testing.T) {
	s, f := openFlaky(t, DefaultRetry())
	ctx := context.Background()
	id, err := s.StartUpload(ctx, "part-2.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	f.failFirst(1, func(r *http.Request) bool { return r.Method == http.MethodPut && r.URL.Query().Has("partNumber") })
	if _, err := s.UploadPart(ctx, "part-2.jsonl", id, 1, []byte("{}\n")); err != nil {
		t.Fatalf("a part after one transient failure: %v", err)
	}
	if n := f.count(func(r string) bool { return strings.HasPrefix(r, "PUT") && strings.Contains(r, "partNumber=1") }); n != 2 {
		t.Fatalf("the part was sent %d times, want 2", n)
	}
	if err := s.AbortUpload(ctx, "part-2.jsonl", id); err != nil {
		t.Fatal(err)
	}
	if err := s.AbortUpload(ctx, "part-2.jsonl", id); err != nil {
		t.Fatalf("a second abort: %v", err)
	}
	if ups, err := s.ListUploads(ctx, ""); err != nil || len(ups) != 0 {
		t.Fatalf("ListUploads after abort = %v, %v", ups, err)
	}
	if objs, err := s.List(ctx, ""); err != nil || len(objs) != 0 {
		t.Fatalf("List after abort = %v, %v", objs, err)
	}
}
