package sink

import (
	"testing"

	"millrace/format"
	"millrace/op"
)

func TestNames(t *testing.T) {
	part := partName("", 3, 12, format.Parquet)
	if part != "part-003-00012.parquet" {
		t.Fatalf("part name %q", part)
	}
	if got := partName("w1-0a1b2c3d", 3, 12, format.Parquet); got != "part-w1-0a1b2c3d-003-00012.parquet" {
		t.Fatalf("part name with a prefix %q", got)
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
		entry  string
		prefix string
		sub    int
		want   bool
	}{
		{".part-003-00012.parquet.writing", "", 3, true},
		{".part-003-00012.parquet.ckpt-7", "", 3, true},
		{".part-003-00012.parquet.tmp-123", "", 3, true},
		{".part-003-00012.parquet.ckpt-7", "", 30, false},
		{".part-030-00012.parquet.ckpt-7", "", 3, false},
		{"part-003-00012.parquet", "", 3, false}, // published
		{".part-a-1f-003-00012.parquet.ckpt-7", "a-1f", 3, true},
		{".part-a-1f-003-00012.parquet.writing", "a-1f", 3, true},
		{".part-a-1f-003-00012.parquet.ckpt-7", "a-2f", 3, false},
		{".part-a-1f-003-00012.parquet.ckpt-7", "a-1f", 4, false},
		{".part-a-1f-003-00012.parquet.ckpt-7", "", 3, false},
		{".part-003-00012.parquet.ckpt-7", "a-1f", 3, false},
		// A prefix never claims the files of a longer one that starts with it and a
		// subtask's number.
		{".part-a-003-12345678-003-00012.parquet.writing", "a", 3, false},
		{".part-a-003-12345678-003-00012.parquet.writing", "a-003-12345678", 3, true},
		{".part-000-00012.parquet.writing", "000", 0, false},
	} {
		if got := ownsPart(tc.entry, owner{Prefix: tc.prefix, Subtask: tc.sub}); got != tc.want {
			t.Errorf("ownsPart(%q, %q, %d) = %v", tc.entry, tc.prefix, tc.sub, got)
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
