package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// runCapturing runs the CLI in process and returns what it printed on stderr, where run
// prints the ledger.
func runCapturing(t *testing.T, args ...string) (string, error) {
	t.Helper()
	root := newRoot()
	var out, errOut bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	return errOut.String(), err
}

// writeGz writes lines gzip-compressed to path, cut to keep of its bytes when keep > 0.
func writeGz(t *testing.T, path string, lines []string, keep float64) {
	t.Helper()
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	for _, l := range lines {
		fmt.Fprintln(zw, l)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	b := z.Bytes()
	if keep > 0 {
		b = b[:int(float64(len(b))*keep)]
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// ledgerLine matches a line of the ledger `run` prints and gives its numbers.
var ledgerNumbers = regexp.MustCompile(`\d+`)

// ledgerOf finds the ledger line of kind (source or view) name and returns its numbers.
func ledgerOf(t *testing.T, printed, kind, name string) []int64 {
	t.Helper()
	for _, line := range strings.Split(printed, "\n") {
		f := strings.Fields(line)
		if len(f) > 2 && f[0] == kind && f[1] == name {
			var out []int64
			for _, n := range ledgerNumbers.FindAllString(strings.Join(f[2:], " "), -1) {
				v, _ := strconv.ParseInt(n, 10, 64)
				out = append(out, v)
			}
			return out
		}
	}
	t.Fatalf("no ledger line for %s %s in:\n%s", kind, name, printed)
	return nil
}

// TestPoisonInputDoesNotStopTheRun runs millrace run, with its checkpoints, over a truncated
// .gz and rows that a CAST and a sum fail on: it ends well, the dead letter and the error rows
// are in their sinks with their reasons, and the ledger balances. With on_error: fail the
// run fails on the first of them.
func TestPoisonInputDoesNotStopTheRun(t *testing.T) {
	dir := t.TempDir()
	var good, cut []string
	for i := range 3000 {
		s, n := strconv.Itoa(i), int64(1)
		if i == 7 {
			s = "seven"
		}
		switch i {
		case 11: // key k1 starts near the top of int64: its other rows add up to less than 2000
			n = 1<<63 - 1 - 2000
		case 13: // and this one would take it past
			n = 5000
		}
		line := fmt.Sprintf(`{"id":%d,"ts":%d,"k":"k%d","s":%q,"n":%d}`, i, 1_700_000_000_000+int64(i)*1000, i%2, s, n)
		if i < 1500 {
			good = append(good, line)
		} else {
			cut = append(cut, line)
		}
	}
	writeGz(t, filepath.Join(dir, "a.jsonl.gz"), good, 0)
	writeGz(t, filepath.Join(dir, "b.jsonl.gz"), cut, 0.5)
	specText := func(onError string) string {
		return fmt.Sprintf(`name: poison-%s
sources:
  tx: {kind: file, path: "*.jsonl.gz", columns: {id: int64, ts: timestamp, k: string, s: string, n: int64}, event_time: ts, on_error: %s}
views:
  parsed: {from: tx, select: {id: id, v: "CAST(s AS int64)"}, on_error: %s}
  totals: {from: tx, group_by: [k], window: {tumble: 24h}, select: {total: sum(n)}, on_error: %s}
sinks:
  dead:   {from: tx.dead_letters, kind: jsonl, path: out/dead.jsonl}
  parsed: {from: parsed, kind: jsonl, path: out/parsed.jsonl}
  totals: {from: totals, kind: jsonl, path: out/totals.jsonl}
`, onError, onError, onError, onError)
	}
	errSinks := `  parse_errors: {from: parsed.errors, kind: jsonl, path: out/parse_errors.jsonl}
  sum_errors:   {from: totals.errors, kind: jsonl, path: out/sum_errors.jsonl}
`
	t.Chdir(dir)
	if err := os.WriteFile("continue.yaml", []byte(specText("continue")+errSinks), 0o644); err != nil {
		t.Fatal(err)
	}
	printed, err := runCapturing(t, "run", "continue.yaml", "-p", "2", "--listen", "")
	if err != nil {
		t.Fatalf("run: %v\n%s", err, printed)
	}
	dead := string(readFile(t, "out/dead.jsonl"))
	if strings.Count(dead, "\n") != 1 || !strings.Contains(dead, `b.jsonl.gz`) || !strings.Contains(dead, "gzip stream cannot be decoded past byte") {
		t.Errorf("dead letters:\n%s", dead)
	}
	parseErrors := string(readFile(t, "out/parse_errors.jsonl"))
	if strings.Count(parseErrors, "\n") != 1 || !strings.Contains(parseErrors, `\"s\":\"seven\"`) || !strings.Contains(parseErrors, `is not a valid int64`) {
		t.Errorf("errors of parsed:\n%s", parseErrors)
	}
	sumErrors := string(readFile(t, "out/sum_errors.jsonl"))
	if strings.Count(sumErrors, "\n") != 1 || !strings.Contains(sumErrors, `"expression":"sum(n)"`) || !strings.Contains(sumErrors, `\"__arg_0_0\":5000`) || !strings.Contains(sumErrors, "overflows int64") {
		t.Errorf("errors of totals:\n%s", sumErrors)
	}
	src := ledgerOf(t, printed, "source", "tx") // read, accepted, rejected, late
	if len(src) != 4 || src[0] != src[1]+src[2]+src[3] || src[2] != 1 || src[1] <= 1500 || src[1] >= 3000 {
		t.Errorf("source ledger %v:\n%s", src, printed)
	}
	parsed := ledgerOf(t, printed, "view", "parsed") // in, kept, filtered, errors, out
	if len(parsed) != 5 || parsed[0] != src[1] || parsed[0] != parsed[1]+parsed[2]+parsed[3] || parsed[3] != 1 || parsed[4] != parsed[1] {
		t.Errorf("view ledger %v:\n%s", parsed, printed)
	}
	if rows := strings.Count(string(readFile(t, "out/parsed.jsonl")), "\n"); int64(rows) != parsed[4] {
		t.Errorf("%d rows in out/parsed.jsonl, the ledger says %d", rows, parsed[4])
	}

	if err := os.WriteFile("fail.yaml", []byte(specText("fail")), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = runCapturing(t, "run", "fail.yaml", "-p", "2", "--listen", "")
	if err == nil || !regexp.MustCompile(`gzip stream is damaged|is not a valid int64|overflows int64`).MatchString(err.Error()) {
		t.Errorf("run with on_error: fail: %v; want the damage, the CAST or the overflow", err)
	}
}
