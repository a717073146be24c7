package cluster

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"millrace/kafka/kafkatest"
	"millrace/plan"
	"millrace/spec"
	"millrace/vfs"
	"millrace/vfs/errorfs"
)

// filesSpec reads a file of transactions into a keyed window and a filter, and writes
// files: %s holds the sinks.
const filesSpec = `
name: ftest
sources:
  tx:
    kind: file
    path: %s
    columns: {card_id: string, ts: timestamp, amount: float64}
    event_time: ts
    watermark: 1s
views:
  counts:
    from: tx
    group_by: [card_id]
    window: {tumble: 10s}
    select: {n: count(*)}
  large:
    from: tx
    where: amount > 100
    select: {card_id: card_id, amount: amount}
sinks:
%s`

// cutSpec plans filesSpec with sinks and cuts it.
func cutSpec(t *testing.T, sinks string) (*Layout, error) {
	t.Helper()
	dir := t.TempDir()
	tx := filepath.Join(dir, "tx.jsonl")
	if err := os.WriteFile(tx, []byte(`{"card_id":"c1","ts":"2026-12-01T00:00:00Z","amount":150}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	sinks = strings.ReplaceAll(sinks, "OUT", filepath.Join(dir, "out"))
	s, err := spec.Parse(fmt.Appendf(nil, filesSpec, tx, sinks), "ftest.yaml", func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	p, err := plan.Build(s, plan.Options{Parallelism: 1, Outbox: (&Relay{}).Outbox})
	if err != nil {
		t.Fatal(err)
	}
	return Cut(p)
}

// A cluster writes file sinks as part files into a directory, in the stage of the view they
// read; a sink writing one file, or stdout, is refused by name.
func TestCutTakesPartFileSinks(t *testing.T) {
	l, err := cutSpec(t, `
  counts_out: {from: counts, kind: jsonl, path: OUT/counts}
  large_out: {from: large, kind: parquet, path: OUT/large, partition_by: [card_id]}
`)
	if err != nil {
		t.Fatal(err)
	}
	where := map[string]string{}
	for _, st := range l.Stages {
		for _, f := range st.Files {
			where[f.Sink] = st.Name
			if st.fileSink(f.Node) != f {
				t.Errorf("stage %s does not find its sink %s by node", st.Name, f.Sink)
			}
		}
	}
	if where["counts_out"] != "counts" || where["large_out"] != "tx" {
		t.Fatalf("file sinks by stage %v, want counts_out in the keyed stage counts, large_out in the first stage tx", where)
	}
	if !l.sharedSink("sink.counts_out") || l.sharedSink("sink.large_out") {
		t.Errorf("shared sinks: counts_out %v, large_out %v; want only the keyed stage's", l.sharedSink("sink.counts_out"), l.sharedSink("sink.large_out"))
	}
	var b strings.Builder
	if err := l.Print(&b); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "writes parquet part files of sink large_out under ") {
		t.Errorf("the layout does not show the file sink:\n%s", b.String())
	}
	for _, tc := range []struct{ sinks, want string }{
		{"  one: {from: large, kind: jsonl, path: OUT/large.jsonl}\n", `sink "one" writes one file`},
		{"  term: {from: large, kind: stdout}\n", `sink "term" writes to stdout`},
	} {
		if _, err := cutSpec(t, tc.sinks); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("cut %s: got %v, want %q", strings.TrimSpace(tc.sinks), err, tc.want)
		}
	}
}

// A worker's name becomes part of file names only with what cannot make them ambiguous.
func TestRunPrefix(t *testing.T) {
	for worker, want := range map[string]string{
		"a":                    "a-0a1b2c3d",
		"host.example.com-412": "host_example_com-412-0a1b2c3d",
		"w/1 x":                "w_1_x-0a1b2c3d",
	} {
		if got := runPrefix(worker, "0a1b2c3d"); got != want {
			t.Errorf("runPrefix(%q) = %q, want %q", worker, got, want)
		}
	}
}

// filesWorkerSpec is workerSpec with file sinks: the windows (a keyed stage's sink) and the
// rows read (a first stage's), as JSONL part files under the directory %[2]s.
const filesWorkerSpec = workerSpec + `  counts_files: {from: counts, kind: jsonl, path: "%[2]s/counts"}
  raw_files: {from: tx, kind: jsonl, path: "%[2]s/raw"}
`

// Two workers write file sinks into one directory. The first publishing rename of either
// fails, after the transaction of its checkpoint committed: its run ends, and the
// files it pre-committed are published by the attempt that restores the units that
// checkpoint committed. Every row read is in the raw files once, and the windows' files
// hold the windows the counts topic holds, once each.
func TestWorkersPublishWhatACommittedCheckpointLeft(t *testing.T) {
	brokers := kafkatest.Cluster(t, "tx", 4)
	want := produceCards(t, brokers)
	stateDir, out := t.TempDir(), t.TempDir()
	text := fmt.Appendf(nil, filesWorkerSpec, brokers[0], out)

	var failed atomic.Pointer[errorfs.Op]
	failOnce := errorfs.InjectorFunc(func(op errorfs.Op) error {
		if op.Kind == errorfs.OpRename && !strings.HasPrefix(filepath.Base(op.To), ".") &&
			failed.CompareAndSwap(nil, &op) {
			return errorfs.ErrInjected
		}
		return nil
	})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for _, name := range []string{"w1", "w2"} {
		// Both workers' sinks write through the injector, so the first publishing rename
		// fails whichever worker the group gave the partitions to.
		opts := workerOptionsOf(t, text, brokers, stateDir, name)
		for _, st := range opts.Layout.Stages {
			for _, f := range st.Files {
				f.Options.FS = errorfs.Wrap(vfs.OSFS{}, failOnce)
			}
		}
		wg.Go(func() { errs <- Run(ctx, opts) })
	}
	fromTopic := countWindows(t, values(committed(t, brokers, "counts", len(want))))
	cancel()
	wg.Wait()
	for range 2 {
		if err := <-errs; err != nil {
			t.Errorf("worker: %v", err)
		}
	}
	op := failed.Load()
	if op == nil {
		t.Fatal("no publishing rename was failed")
	}
	if _, err := os.Stat(op.To); err != nil {
		t.Errorf("the file whose publishing failed, %s, was not published later: %v", op.To, err)
	}
	if _, err := os.Stat(op.Path); err == nil {
		t.Errorf("the file whose publishing failed is still pre-committed, as %s", op.Path)
	}

	counts, hidden := partLines(t, filepath.Join(out, "counts"))
	fromFiles := countWindows(t, counts)
	if len(fromFiles) != len(fromTopic) || len(counts) != len(fromTopic) {
		t.Errorf("the counts files hold %d rows of %d windows, the topic %d windows", len(counts), len(fromFiles), len(fromTopic))
	}
	for k, n := range fromTopic {
		if fromFiles[k] != n {
			t.Errorf("window %s: %d rows in the files, %d in the topic", k, fromFiles[k], n)
		}
	}
	raw, rawHidden := partLines(t, filepath.Join(out, "raw"))
	distinct := map[string]bool{}
	for _, l := range raw {
		distinct[string(l)] = true
	}
	if len(raw) != 4000 || len(distinct) != 4000 {
		t.Errorf("the raw files hold %d rows, %d distinct; want each of the 4000 rows read once", len(raw), len(distinct))
	}
	if left := append(hidden, rawHidden...); len(left) > 0 {
		t.Errorf("hidden files left after every worker stopped: %v", left)
	}
}

// partLines reads the lines of the part files under dir, and lists the hidden part files
// left there.
func partLines(t *testing.T, dir string) (lines [][]byte, hidden []string) {
	t.Helper()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		switch {
		case err != nil:
			return err
		case d.IsDir():
			return nil
		case strings.HasPrefix(d.Name(), ".part-"):
			hidden = append(hidden, p)
			return nil
		case !strings.HasPrefix(d.Name(), "part-w"):
			return nil // the marker
		}
		b, err := os.ReadFile(p)
		for l := range bytes.Lines(b) {
			lines = append(lines, bytes.TrimSuffix(l, []byte("\n")))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return lines, hidden
}
