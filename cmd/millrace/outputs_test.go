package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRunListsItsSinks runs a spec with relative paths from another working directory: the
// sinks write under the working directory, run names their absolute paths as it starts,
// and ends by listing each sink's files and rows.
func TestRunListsItsSinks(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	mustRun(t, "gen", "--rows", "3000", "--seed", "3", "--out", "data/tx.jsonl")
	spec := `name: outputs
sources:
  tx: {kind: file, path: data/tx.jsonl, schema: transaction}
views:
  big: {from: tx, where: amount > 100}
sinks:
  all: {from: tx, kind: jsonl, path: out/all.jsonl}
  parts: {from: big, kind: parquet, path: out/big}
  screen: {from: big, kind: stdout}
`
	if err := os.WriteFile("spec.yaml", []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	root := newRoot()
	var out, errs bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errs)
	root.SetArgs([]string{"run", "spec.yaml", "-p", "2", "--listen", "", "--no-checkpoint"})
	if err := root.ExecuteContext(context.Background()); err != nil {
		t.Fatalf("run: %v\n%s", err, errs.String())
	}
	log := errs.String()
	big := int64(strings.Count(out.String(), "\n"))
	if big == 0 || big >= 3000 {
		t.Fatalf("stdout holds %d rows", big)
	}
	abs, err := filepath.EvalSymlinks(dir)
	if err != nil {
		t.Fatal(err)
	}
	start := "sinks:\n  all: jsonl " + filepath.Join(abs, "out", "all.jsonl") + "\n  parts: parquet " + filepath.Join(abs, "out", "big") + "/ (part files)\n  screen: jsonl stdout\n"
	if !strings.Contains(log, start) {
		t.Errorf("the start of the run does not say where the sinks write:\n%s\nwant\n%s", log, start)
	}
	parts, err := filepath.Glob(filepath.Join("out", "big", "part-*.parquet"))
	if err != nil || len(parts) == 0 {
		t.Fatalf("part files: %v %v", parts, err)
	}
	end := "sinks:\n  all: 3,000 rows in " + filepath.Join(abs, "out", "all.jsonl") + "\n  parts: " + humanInt(big) + " rows in " + plural(len(parts), "file") + " under " + filepath.Join(abs, "out", "big") + "/\n"
	if !strings.Contains(log, end) || !strings.HasSuffix(log, "  screen: "+humanInt(big)+" rows to stdout\n") {
		t.Errorf("the end of the run does not list the sinks:\n%s\nwant\n%s...", log, end)
	}
	for _, p := range parts {
		if !strings.Contains(log, "\n    "+filepath.Base(p)+"  ") {
			t.Errorf("the end of the run does not list %s:\n%s", p, log)
		}
	}
}

// TestRunKeepsAFileItDidNotWrite refuses, at plan time, a sink path holding a file of the
// user's, and replaces it once the sink says overwrite: true.
func TestRunKeepsAFileItDidNotWrite(t *testing.T) {
	t.Chdir(t.TempDir())
	mustRun(t, "gen", "--rows", "100", "--out", "tx.jsonl")
	theirs := []byte("my notes\n")
	if err := os.WriteFile("notes.jsonl", theirs, 0o644); err != nil {
		t.Fatal(err)
	}
	spec := "name: keep\nsources:\n  tx: {kind: file, path: tx.jsonl, schema: transaction}\nsinks:\n  out: {from: tx, kind: jsonl, path: notes.jsonl%s}\n"
	if err := os.WriteFile("spec.yaml", []byte(strings.Replace(spec, "%s", "", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := run(t, "run", "spec.yaml", "--listen", "", "--no-checkpoint")
	if err == nil || !strings.Contains(err.Error(), "sinks.out: notes.jsonl already exists and millrace did not write it: set overwrite: true") {
		t.Fatalf("run over a file of the user's: %v", err)
	}
	if got := readFile(t, "notes.jsonl"); !bytes.Equal(got, theirs) {
		t.Fatalf("the user's file changed: %q", got)
	}
	if err := os.WriteFile("spec.yaml", []byte(strings.Replace(spec, "%s", ", overwrite: true", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	mustRun(t, "run", "spec.yaml", "--listen", "", "--no-checkpoint")
	if got := readFile(t, "notes.jsonl"); strings.Count(string(got), "\n") != 100 {
		t.Fatalf("after overwrite: true the file holds %d lines, want 100", strings.Count(string(got), "\n"))
	}
}
