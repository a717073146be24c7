package sink

import (
	"testing"

	"millrace/format"
	"millrace/op"
)

func TestNames(t *testing.T) {
	part := partName(3, 12, format.Parquet)
	if part != "part-003-00012.parquet" {
		t.Fatalf("part name %q", part)
	}
	for _, tc := range []struct{ got, want string }{
		{writingName(partStem(part)), ".part-003-00012.parquet.writing"},
		{pendingName(partStem(part), 7), ".part-003-00012.parquet.ckpt-7"},
		{pendingName(chunkStem("large.jsonl", 0, 4), op.FinalCheckpoint), ".large.jsonl.000-00004.ckpt-final"},
		{publishDir("large.jsonl"), ".large.jsonl.publish"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}

func TestOwnedNames(t *testing.T) {
	for _, tc := range []struct {
		entry string
		sub   int
		want  bool
	}{
		{".part-003-00012.parquet.writing", 3, true},
		{".part-003-00012.parquet.ckpt-7", 3, true},
		{".part-003-00012.parquet.tmp-123", 3, true},
		{".part-003-00012.parquet.ckpt-7", 30, false},
		{".part-030-00012.parquet.ckpt-7", 3, false},
		{"part-003-00012.parquet", 3, false}, // published
	} {
		if got := ownsPart(tc.entry, tc.sub); got != tc.want {
			t.Errorf("ownsPart(%q, %d) = %v", tc.entry, tc.sub, got)
		}
	}
	for _, tc := range []struct {
		entry string
		want  bool
	}{
		{".large.jsonl.000-00004.writing", true},
		{".large.jsonl.000-00004.ckpt-12", true},
		{".large.jsonl.000-00004.ckpt-final", true},
		{".large.jsonl.publish", true},
		{".large.jsonl.tmp-42", true},
		{"large.jsonl", false},
		{".large.jsonl.gz.000-00004.writing", false}, // another sink's, large.jsonl.gz
		{".large.jsonl.gz.publish", false},
		{".large.jsonl.notes", false},
		{".large.jsonl.x-00004.writing", false},
	} {
		if got := ownsSingle(tc.entry, "large.jsonl"); got != tc.want {
			t.Errorf("ownsSingle(%q) = %v", tc.entry, got)
		}
	}
}
