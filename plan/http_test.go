package plan

import (
	"strings"
	"testing"

	"millrace/spec"
)

func TestHTTPSourcePlan(t *testing.T) {
	text := `name: posted
sources:
  tx: {kind: http, schema: transaction, path: /in/tx}
sinks:
  out: {from: tx, kind: jsonl, path: out.jsonl}
`
	s, err := spec.Parse([]byte(text), "posted.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	p, err := Build(s, Options{Parallelism: 4, IngestURL: "nats://127.0.0.1:4222"})
	if err != nil {
		t.Fatal(err)
	}
	want := "take NDJSON or JSON arrays POSTed to /in/tx, stored durably in JetStream stream INGEST_tx before the 202, read through durable consumer millrace-posted-tx"
	if out := p.String(); !strings.Contains(out, want) {
		t.Errorf("plan:\n%s\nwant a step that does %q", out, want)
	}
	if n := p.Graph.Nodes[0]; n.Name != "tx" || n.Parallelism != 1 {
		t.Errorf("source node %s with parallelism %d, want tx with 1: the stream is one partition", n.Name, n.Parallelism)
	}

	csv, err := spec.Parse([]byte(strings.Replace(text, "path: /in/tx}", "format: csv}", 1)), "posted.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Build(csv, Options{Parallelism: 1}); err == nil || !strings.Contains(err.Error(), "sources.tx: http sources take JSON (NDJSON or a JSON array), not csv") {
		t.Errorf("an http source of csv: %v", err)
	}
}
