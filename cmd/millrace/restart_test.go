package main

import (
	"bufio"
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestAFailingSinkRestartsFromTheCheckpoint blocks a sink's directory with a file: the run
// fails, restarts from its newest checkpoint after a backoff and, once the file is gone,
// completes with the output of a run that never failed. Blocked for good, it gives up
// after --restarts and reports the error.
func TestAFailingSinkRestartsFromTheCheckpoint(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the CLI several times")
	}
	dir, spec := resumeInput(t, "300000", true)
	out := filepath.Join(dir, "got")
	// A directory, not empty, where the sink's first part file goes: the sink claims the
	// directory (the marker says millrace writes there) and fails when it publishes.
	blocker := filepath.Join(out, "per_card", "part-000-00001.parquet")
	block := func() {
		if err := os.MkdirAll(blocker, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, text := range map[string]string{filepath.Join(out, "per_card", ".millrace"): "", filepath.Join(blocker, "x"): "x"} {
			if err := os.WriteFile(name, []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	block()
	args := []string{"run", spec, "-p", "2", "--listen", "", "--checkpoint", filepath.Join(dir, "checkpoints"),
		"--checkpoint-interval", "100ms", "--restarts", "2", "--restart-backoff", "50ms"}
	said, err := runWatching(t, args, func(line string) {
		if strings.HasPrefix(line, "restarting from the newest checkpoint") {
			_ = os.RemoveAll(blocker) // the disk is back
		}
	})
	if err != nil {
		t.Fatalf("%v\n%s", err, said)
	}
	if !strings.Contains(said, "restart 1 of 2") || strings.Contains(said, "restart 2 of 2") {
		t.Errorf("the run said:\n%s", said)
	}
	for _, sink := range []string{"big.jsonl", "per_card"} {
		want, got := sinkRows(t, filepath.Join(dir, "want", sink)), sinkRows(t, filepath.Join(out, sink))
		if len(want) == 0 || !slices.Equal(got, want) {
			t.Errorf("%s: %d rows after a restart, %d without; %s", sink, len(got), len(want), firstDifference(got, want))
		}
	}

	if err := os.RemoveAll(out); err != nil {
		t.Fatal(err)
	}
	block()
	said, err = runWatching(t, append(args, "--fresh"), func(string) {})
	if err == nil || !strings.Contains(err.Error(), "per_card") || !strings.Contains(said, "restart 2 of 2") {
		t.Errorf("blocked for good: %v\n%s", err, said)
	}
}

// runWatching runs the CLI in process, calling see with every line it prints on stderr as
// it prints it, and returns all of them.
func runWatching(t *testing.T, args []string, see func(string)) (string, error) {
	t.Helper()
	pr, pw := io.Pipe()
	var lines []string
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			lines = append(lines, sc.Text())
			see(sc.Text())
		}
	}()
	root := newRoot()
	root.SetOut(io.Discard)
	root.SetErr(pw)
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	_ = pw.Close()
	<-done
	return strings.Join(lines, "\n"), err
}
