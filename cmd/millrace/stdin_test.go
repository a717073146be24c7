package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRunReadsStdin runs a spec whose source has path - with a generated file on standard
// input: every record reaches the sink, the run says it takes no checkpoints and leaves no
// checkpoint behind, and --checkpoint is refused.
func TestRunReadsStdin(t *testing.T) {
	dir := t.TempDir()
	input := filepath.Join(dir, "tx.jsonl")
	mustRun(t, "gen", "--rows", "2500", "--seed", "3", "--out", input)
	out := filepath.Join(dir, "out.jsonl")
	specPath := filepath.Join(dir, "stdin.yaml")
	text := `name: from-stdin
sources:
  tx: {kind: file, path: -, schema: transaction, event_time: ts, watermark: 1h}
sinks:
  out: {from: tx, kind: jsonl, path: ` + out + `}
  dead: {from: tx.dead_letters, kind: jsonl, path: ` + filepath.Join(dir, "dead.jsonl") + `}
`
	if err := os.WriteFile(specPath, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	data := readFile(t, input)
	runWithStdin := func(args ...string) (string, error) {
		root := newRoot()
		var stdout, stderr bytes.Buffer
		root.SetIn(bytes.NewReader(data))
		root.SetOut(&stdout)
		root.SetErr(&stderr)
		root.SetArgs(args)
		err := root.ExecuteContext(context.Background())
		return stderr.String(), err
	}
	t.Chdir(dir)
	stderr, err := runWithStdin("run", specPath, "-p", "2")
	if err != nil {
		t.Fatalf("run: %v\n%s", err, stderr)
	}
	if !strings.Contains(stderr, "source tx reads standard input, which is read once: this run takes no checkpoints") {
		t.Errorf("stderr does not say the run takes no checkpoints:\n%s", stderr)
	}
	if got := bytes.Count(readFile(t, out), []byte("\n")); got != 2500 {
		t.Errorf("the sink got %d rows, want 2500", got)
	}
	if _, err := os.Stat(filepath.Join(dir, ".millrace")); !os.IsNotExist(err) {
		t.Errorf("a run over stdin left checkpoints: %v", err)
	}
	_, err = runWithStdin("run", specPath, "--checkpoint", filepath.Join(dir, "cp"))
	if err == nil || !strings.Contains(err.Error(), "source tx reads standard input, which is read once and cannot be checkpointed") {
		t.Errorf("--checkpoint with stdin: %v", err)
	}
}
