package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// shellBlocks returns the fenced ```sh blocks of a Markdown page, in order.
func shellBlocks(page string) []string {
	var blocks []string
	var cur []string
	in := false
	for _, line := range strings.Split(page, "\n") {
		switch {
		case !in && strings.TrimSpace(line) == "```sh":
			in, cur = true, nil
		case in && strings.TrimSpace(line) == "```":
			in = false
			blocks = append(blocks, strings.Join(cur, "\n"))
		case in:
			cur = append(cur, line)
		}
	}
	return blocks
}

// TestFirstPipelinePage runs the shell blocks of docs/first-pipeline.md as written, one
// after the other in one shell, in a directory beside a copy of the checkout's tools/duckdb,
// with millrace being this build.
func TestFirstPipelinePage(t *testing.T) {
	repo, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	page, err := os.ReadFile(filepath.Join(repo, "docs", "first-pipeline.md"))
	if err != nil {
		t.Fatal(err)
	}
	blocks := shellBlocks(string(page))
	if len(blocks) < 5 {
		t.Fatalf("the page has %d shell blocks, want the steps generate, inspect, spec, run and read", len(blocks))
	}
	root := t.TempDir()
	// A copy of the DuckDB tool, which the page installs: the checkout's stays as it is.
	tool := filepath.Join(root, "tools", "duckdb")
	if err := os.MkdirAll(tool, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"package.json", "package-lock.json", "query.mjs"} {
		b, err := os.ReadFile(filepath.Join(repo, "tools", "duckdb", name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(tool, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	bin := filepath.Join(root, "bin")
	if err := os.Mkdir(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	wrapper := "#!/bin/sh\n" + runMainEnv + "=1 exec '" + self + "' \"$@\"\n"
	if err := os.WriteFile(filepath.Join(bin, "millrace"), []byte(wrapper), 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("bash", "-euo", "pipefail", "-c", strings.Join(blocks, "\n"))
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("the page's commands failed: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	out, log := stdout.String(), stderr.String()
	work := filepath.Join(root, "first-pipeline")
	for _, want := range []string{
		"sinks:\n  hourly: parquet " + filepath.Join(work, "out", "hourly") + "/ (part files)",
		"  large: ",
		"rows in " + filepath.Join(work, "out", "large.jsonl"),
		"  dead: 0 rows in " + filepath.Join(work, "out", "dead.jsonl"),
	} {
		if !strings.Contains(log, want) {
			t.Errorf("run did not print %q:\n%s", want, log)
		}
	}
	if n := strings.Count(out, `"merchant_id":`); n != 5+3 { // DuckDB's top 5 and the 3 lines of head
		t.Errorf("the reading commands printed %d rows with a merchant_id, want 8:\n%s", n, out)
	}
	if !strings.Contains(out, `"spend":"`) {
		t.Errorf("DuckDB printed no exact spend:\n%s", out)
	}
}
