package plan

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"millrace/engine"
	"millrace/reload"
	"millrace/spec"
)

// lineWriter sends every complete line written to it on a channel.
type lineWriter struct {
	pending []byte
	lines   chan string
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.pending = append(w.pending, p...)
	for {
		i := strings.IndexByte(string(w.pending), '\n')
		if i < 0 {
			return len(p), nil
		}
		w.lines <- string(w.pending[:i])
		w.pending = w.pending[i+1:]
	}
}

// streamBatch is how many rows a stream source cuts a batch of: format's default batch size.
// The test writes a batch's worth of rows at a time, so that each write is processed whole.
const streamBatch = 16384

// TestRulesReloadWhileRunning runs a pipeline reading standard input and writing alerts to
// standard output, and changes its rules file between batches: each batch (one record that
// alerts and rows that do not) is written only once the alert of the one before it has come
// out, so every batch meets the rules file as the test left it. A changed file alerts by its rules from the next record on, with its
// version; a file that does not compile keeps the rules in use, and the plan's reload status
// says why.
func TestRulesReloadWhileRunning(t *testing.T) {
	dir := t.TempDir()
	rulesFile := filepath.Join(dir, "rules.yaml")
	put := func(text string) {
		t.Helper()
		if err := os.WriteFile(rulesFile+".new", []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(rulesFile+".new", rulesFile); err != nil {
			t.Fatal(err)
		}
	}
	v1 := "rules:\n  - {name: any, when: amount > 0, reason: every payment}\n"
	v2 := "rules:\n  - {name: big, when: amount >= 100, severity: high, reason: a big payment}\n  - {name: any, when: amount > 0, reason: every payment}\n"
	put(v1)
	s, err := spec.Parse([]byte(fmt.Sprintf(`
name: live-rules
sources:
  tx: {kind: file, path: -, columns: {id: string, amount: "decimal(18,2)", ts: timestamp}, event_time: ts}
views:
  alerts:
    from: tx
    rules: {file: %s}
sinks:
  out: {from: alerts, kind: stdout}
`, rulesFile)), "live.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	in, feed := io.Pipe()
	out := &lineWriter{lines: make(chan string, 16)}
	pl, err := Build(s, Options{Parallelism: 1, Stdin: in, Stdout: out})
	if err != nil {
		t.Fatal(err)
	}
	status := pl.Reloads[0]
	done := make(chan error, 1)
	go func() {
		_, err := engine.Run(context.Background(), pl.Graph, engine.DefaultOptions())
		done <- err
	}()
	type alert struct {
		ID, Rule string
		Version  string `json:"rules_version"`
	}
	step := 0
	// Every batch's rows are a second later than the last batch's, so the watermark moves
	// and the stdout sink flushes.
	// next writes a batch of a record and rows that match no rule, and returns the alerts
	// the pipeline emits for it, which end with one by the rule any. It waits for them as
	// long as the test binary runs: the stdin source cuts a batch every streamBatch rows.
	next := func(id string, amount int) []alert {
		t.Helper()
		step++
		filler := strings.Repeat(fmt.Sprintf(`{"id": "f", "amount": 0, "ts": %d}`+"\n", step*1000), streamBatch-1)
		if _, err := fmt.Fprintf(feed, `{"id": %q, "amount": %d, "ts": %d}`+"\n%s", id, amount, step*1000, filler); err != nil {
			t.Fatal(err)
		}
		var got []alert
		for {
			select {
			case line := <-out.lines:
				var a alert
				if err := json.Unmarshal([]byte(line), &a); err != nil {
					t.Fatalf("%s: %v", line, err)
				}
				got = append(got, a)
				if a.Rule == "any" {
					return got
				}
			case err := <-done:
				t.Fatalf("the run ended: %v", err)
			}
		}
	}
	same := func(got []alert, want ...alert) {
		t.Helper()
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("alerts %v, want %v", got, want)
		}
	}
	ver1, ver2 := reload.Version([]byte(v1)), reload.Version([]byte(v2))
	same(next("r1", 500), alert{"r1", "any", ver1})
	put(v2)
	same(next("r2", 500), alert{"r2", "big", ver2}, alert{"r2", "any", ver2})
	if status.Reloads() != 1 || status.Version() != ver2 {
		t.Fatalf("status: %d reloads, version %s", status.Reloads(), status.Version())
	}
	put("rules:\n  - {name: big, when: amont >= 10, reason: a typo}\n")
	same(next("r3", 50), alert{"r3", "any", ver2})
	if status.Failures() != 1 || !strings.Contains(status.LastError(), `unknown column "amont"`) {
		t.Fatalf("status: %d failures, last error %q", status.Failures(), status.LastError())
	}
	put(v1)
	same(next("r4", 500), alert{"r4", "any", ver1})
	if err := feed.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if len(out.pending) > 0 || len(out.lines) > 0 {
		t.Fatalf("output after the last alert: %q", out.pending)
	}
}
