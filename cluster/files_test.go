package cluster

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"millrace/plan"
	"millrace/spec"
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
