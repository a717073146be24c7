package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"millrace/examples/examplestest"
	"millrace/format"
	"millrace/schema"
)

// run runs the CLI in process and returns what it printed on stdout.
func run(t *testing.T, args ...string) (string, error) {
	t.Helper()
	return runLogging(t, io.Discard, args...)
}

// runLogging runs the CLI in process with its stderr going to stderr. A command still
// running 30 s before the test binary's deadline is stuck: its context is cancelled then,
// so that the test fails naming it instead of the binary's timeout.
func runLogging(t *testing.T, stderr io.Writer, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-nearDeadline(t):
			cancel()
		case <-ctx.Done():
		}
	}()
	root := newRoot()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(stderr)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	return out.String(), err
}

// mustRun runs the CLI in process and fails the test, with what the command logged, when
// it fails.
func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	var log lockedBuffer
	out, err := runLogging(t, &log, args...)
	if err != nil {
		t.Fatalf("millrace %s: %v\n%s", strings.Join(args, " "), err, log.String())
	}
	return out
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestGenIsDeterministicPerSeed(t *testing.T) {
	dir := t.TempDir()
	for _, ext := range []string{"jsonl", "csv", "parquet", "jsonl.zst"} {
		a, b, c := filepath.Join(dir, "a."+ext), filepath.Join(dir, "b."+ext), filepath.Join(dir, "c."+ext)
		flags := []string{"gen", "--rows", "20000", "--disorder", "2s", "--dup-rate", "0.01", "--fraud-rate", "0.01"}
		mustRun(t, append(flags, "--seed", "7", "--out", a)...)
		mustRun(t, append(flags, "--seed", "7", "--out", b)...)
		mustRun(t, append(flags, "--seed", "8", "--out", c)...)
		if !bytes.Equal(readFile(t, a), readFile(t, b)) {
			t.Errorf("%s: the same flags gave different bytes", ext)
		}
		if bytes.Equal(readFile(t, a), readFile(t, c)) {
			t.Errorf("%s: different seeds gave the same bytes", ext)
		}
	}
}

func TestGenOutputReadsBackCompletely(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "tx.parquet")
	out := mustRun(t, "gen", "--rows", "30000", "--out", path)
	if !strings.Contains(out, "wrote 30,000 rows to "+path) {
		t.Fatalf("summary: %s", out)
	}
	r, err := format.Open(path, "", schema.Transaction(), format.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var rows int64
	for {
		rec, dead, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil || len(dead) > 0 {
			t.Fatalf("read: %v %v", err, dead)
		}
		rows += rec.NumRows()
		rec.Release()
	}
	if rows != 30000 {
		t.Fatalf("read %d rows", rows)
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o644 {
		t.Fatalf("output mode %v, %v", st.Mode(), err)
	}
}

func TestInspectReportsEveryCorruptRecord(t *testing.T) {
	dir := t.TempDir()
	for _, ext := range []string{"jsonl.gz", "csv"} {
		path := filepath.Join(dir, "dirty."+ext)
		summary := mustRun(t, "gen", "--rows", "20000", "--corrupt-rate", "0.02", "--seed", "3", "--out", path)
		out, err := run(t, "inspect", path, "--schema", "transaction", "--dead", "1000", "--head", "0")
		if err == nil || !strings.Contains(err.Error(), "records refused") {
			t.Fatalf("%s: inspect error %v", ext, err)
		}
		dead := strings.Count(out, "dead letter "+path+":")
		if dead < 300 || !strings.Contains(summary, "corrupt "+humanInt(int64(dead))) {
			t.Fatalf("%s: %d dead letters listed; gen said:\n%s", ext, dead, summary)
		}
		if !strings.Contains(out, "20,000 records") {
			t.Fatalf("%s: totals missing from:\n%s", ext, out[max(0, len(out)-300):])
		}
	}
}

func TestUsageErrorsExitTwo(t *testing.T) {
	dir := t.TempDir()
	cases := map[string][]string{
		"unknown format":          {"gen", "--format", "xml"},
		"corrupt parquet":         {"gen", "--rows", "10", "--corrupt-rate", "0.1", "--out", filepath.Join(dir, "x.parquet")},
		"negative rate":           {"gen", "--rows", "10", "--rate", "-5"},
		"bad start":               {"gen", "--rows", "10", "--start", "tomorrow"},
		"bad surge":               {"gen", "--rows", "10", "--surge", "25:00x3"},
		"unknown flag":            {"gen", "--rowz", "10"},
		"unknown output name":     {"gen", "--rows", "10", "--out", filepath.Join(dir, "x.xlsx")},
		"unknown schema":          {"inspect", "--schema", "trades", "x.jsonl"},
		"bad parquet compression": {"gen", "--rows", "10", "--compression", "lzo", "--out", filepath.Join(dir, "y.parquet")},
		"unknown nexmark query":   {"bench", "nexmark", "--query", "q99", "--events", "10"},
	}
	for name, args := range cases {
		_, err := run(t, args...)
		var u usageError
		if !errors.As(err, &u) {
			t.Errorf("%s: got %v, want a usage error", name, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "x.parquet")); !os.IsNotExist(err) {
		t.Errorf("a refused gen left a file behind")
	}
}

func TestInspectMissingFileNamesIt(t *testing.T) {
	_, err := run(t, "inspect", "no/such/file.jsonl")
	if err == nil || !strings.Contains(err.Error(), "no/such/file.jsonl") {
		t.Fatalf("got %v", err)
	}
}

func TestDemoRunsTheLivePipeline(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "demo")
	out := mustRun(t, "demo", "--dir", dir, "--speed", "600", "--duration", "3s", "--rate", "500", "--listen", "127.0.0.1:0")
	for _, want := range []string{"source tx", "view   velocity", "look at it:"} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q:\n%s", want, out)
		}
	}
	for _, sub := range []string{"velocity/date=*/part-*.parquet", "merchant_volume/part-*.parquet", "alerts/part-*.jsonl"} {
		if files, _ := filepath.Glob(filepath.Join(dir, sub)); len(files) == 0 {
			t.Errorf("demo wrote no %s", sub)
		}
	}
	// Its checkpoints served the run's changes of parallelism only.
	if _, err := os.Stat(filepath.Join(dir, ".checkpoints")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the demo left its checkpoints behind (%v)", err)
	}
	noHidden(t, dir)
}

func TestPacedStreamToStdout(t *testing.T) {
	out := mustRun(t, "gen", "--rate", "100", "--flat", "--speed", "36000", "--duration", "1m", "--seed", "5")
	lines := strings.Count(out, "\n")
	if lines < 5000 || lines > 7000 {
		t.Fatalf("a minute at 100/s gave %d records", lines)
	}
}

func TestPlanAndRunTheExample(t *testing.T) {
	dir := t.TempDir()
	mustRun(t, "gen", "--rows", "30000", "--disorder", "2s", "--corrupt-rate", "0.001", "--out", filepath.Join(dir, "tx", "a.jsonl"))
	t.Setenv("TX_PATH", filepath.Join(dir, "tx", "*.jsonl"))
	example, err := filepath.Abs("../../examples/card-velocity.yaml")
	if err != nil {
		t.Fatal(err)
	}
	out := mustRun(t, "plan", example, "-p", "2")
	for _, want := range []string{"velocity.prepare  [prepare, parallelism 2]", "<- velocity.prepare (hash by card_id)", "merchant_volume.partial  [partial aggregate, parallelism 2]", "sink.dead"} {
		if !strings.Contains(out, want) {
			t.Errorf("plan lacks %q:\n%s", want, out)
		}
	}
	js := mustRun(t, "plan", example, "--json")
	if !strings.HasPrefix(js, "{") || !strings.Contains(js, `"partitioning": "hash"`) {
		t.Errorf("plan --json: %s", js[:min(200, len(js))])
	}
	t.Chdir(dir)
	mustRun(t, "run", example, "-p", "2", "--listen", "")
	for _, f := range []string{"out/large.jsonl", "out/dead.jsonl", "out/late.jsonl"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("run did not write %s: %v", f, err)
		}
	}
	if files, _ := filepath.Glob(filepath.Join(dir, "out/velocity/date=*/part-*.parquet")); len(files) == 0 {
		t.Errorf("no velocity part files")
	}
}

func TestSpecMistakesExitTwo(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(path, []byte("name: bad\nsources:\n  tx: {kind: file, path: x.jsonl, schema: transaction}\nviews:\n  v: {from: tx, select: {a: amout}}\nsinks:\n  o: {from: v, kind: stdout}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, cmd := range []string{"plan", "run"} {
		_, err := run(t, cmd, path)
		var u usageError
		if !errors.As(err, &u) || strings.Count(err.Error(), "\n") > 0 {
			t.Errorf("%s: got %v, want one usage error line", cmd, err)
		}
	}
}

func TestEveryExamplePlans(t *testing.T) {
	dir := t.TempDir()
	mustRun(t, "gen", "--rows", "1000", "--out", filepath.Join(dir, "tx.jsonl"))
	mustRun(t, "gen", "--rows", "1000", "--out", filepath.Join(dir, "h.parquet"))
	t.Setenv("TX_PATH", filepath.Join(dir, "tx.jsonl"))
	t.Setenv("HISTORY_PATH", filepath.Join(dir, "h.parquet"))
	t.Setenv("FRAUD_DIR", "../../examples")
	for k, v := range examplestest.Brokers(t) {
		t.Setenv(k, v)
	}
	examples, _ := filepath.Glob("../../examples/*.yaml")
	if len(examples) < 3 {
		t.Fatalf("examples: %v", examples)
	}
	for _, e := range examples {
		if _, err := run(t, "plan", e); err != nil {
			t.Errorf("%s: %v", e, err)
		}
	}
	out, err := run(t, "plan", "--cluster", "../../examples/cluster-velocity.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"stage 0: tx", "stage 1: velocity", "reads topic millrace.cluster-velocity.velocity (256 partitions = key groups, by card_id)",
		"writes velocity.partial -> topic millrace.cluster-velocity.velocity"} {
		if !strings.Contains(out, want) {
			t.Errorf("plan --cluster does not say %q:\n%s", want, out)
		}
	}
	if _, err := run(t, "plan", "--cluster", "../../examples/kafka-velocity.yaml"); err == nil || !strings.Contains(err.Error(), `sink "dead" writes one file, out/kafka-velocity/dead.jsonl`) {
		t.Errorf("plan --cluster of a spec with a single-file sink: %v", err)
	}
}
