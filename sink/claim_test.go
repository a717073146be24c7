package sink

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"millrace/op"
	"millrace/schema"
)

// writeAll runs a sink without checkpoints over 100 transactions.
func writeAll(t *testing.T, opts FileOptions) {
	t.Helper()
	s, err := NewFile(schema.Transaction(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Open(op.Context{Node: "out", Parallelism: 1}); err != nil {
		t.Fatal(err)
	}
	for _, r := range batchesOf(t, 100, 50) {
		if err := s.Process(0, r, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Finish(nil); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestAFileMillraceDidNotWriteIsKept(t *testing.T) {
	path := filepath.Join(t.TempDir(), "notes.jsonl")
	mine := []byte("{\"mine\": true}\n")
	if err := os.WriteFile(path, mine, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := NewFile(schema.Transaction(), FileOptions{Path: path})
	if err == nil || !strings.Contains(err.Error(), path+" already exists and millrace did not write it") || !strings.Contains(err.Error(), "overwrite: true") {
		t.Fatalf("NewFile over a file of the user's: %v", err)
	}
	if got, _ := os.ReadFile(path); string(got) != string(mine) {
		t.Fatalf("the user's file changed: %q", got)
	}

	// overwrite: true replaces it, and claims the path: later runs need not say so.
	writeAll(t, FileOptions{Path: path, Overwrite: true})
	if got, _ := os.ReadFile(path); strings.Count(string(got), "\n") != 100 {
		t.Fatalf("after overwrite the file holds %d lines, want 100", strings.Count(string(got), "\n"))
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(path), ".notes.jsonl.millrace")); err != nil {
		t.Fatalf("no marker: %v", err)
	}
	writeAll(t, FileOptions{Path: path})
}

func TestASinkReplacesWhatItWrote(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out", "tx.csv")
	writeAll(t, FileOptions{Path: path})
	writeAll(t, FileOptions{Path: path})
	if got, _ := os.ReadFile(path); strings.Count(string(got), "\n") != 101 {
		t.Fatalf("the second run's file holds %d lines, want a header and 100 rows", strings.Count(string(got), "\n"))
	}
}

func TestADirectoryOfOtherFilesIsKept(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "lake")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	// Hidden files alone do not make a directory someone else's.
	if err := os.WriteFile(filepath.Join(dir, ".keep"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := NewFile(schema.Transaction(), FileOptions{Path: dir, Dir: true, Kind: "jsonl"}); err != nil {
		t.Fatalf("a directory holding only hidden files: %v", err)
	}
	for _, name := range []string{"a.csv", "b.csv", "c.csv", "d.csv"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("x\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	_, err := NewFile(schema.Transaction(), FileOptions{Path: dir, Dir: true, Kind: "jsonl"})
	if err == nil || !strings.Contains(err.Error(), "holds files millrace did not write (a.csv, b.csv, c.csv and 1 more)") {
		t.Fatalf("NewFile into a directory of the user's: %v", err)
	}
	writeAll(t, FileOptions{Path: dir, Dir: true, Kind: "jsonl", Overwrite: true})
	writeAll(t, FileOptions{Path: dir, Dir: true, Kind: "jsonl"}) // claimed by the run before
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if got := strings.Join(names, " "); got != ".keep .millrace a.csv b.csv c.csv d.csv part-000-00001.jsonl" {
		t.Fatalf("directory holds %s", got)
	}
}

func TestAFileWhereADirectoryGoesIsNamed(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lake")
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, overwrite := range []bool{false, true} {
		_, err := NewFile(schema.Transaction(), FileOptions{Path: path, Dir: true, Kind: "jsonl", Overwrite: overwrite})
		if err == nil || err.Error() != path+" is a file, where the sink writes a directory of part files: move it, or write to another path" {
			t.Errorf("overwrite %v: NewFile over a file where a directory goes: %v", overwrite, err)
		}
	}
}
