package plan

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"millrace/format"
	"millrace/gen"
	"millrace/ingest"
	"millrace/listen"
	"millrace/schema"
	"millrace/source"
	"millrace/source/sourcetest"
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

// TestHTTPSourceConforms posts records, some of them corrupt, to HTTP ingest over a real
// socket and runs the source conformance suite on the http source a plan makes of them.
func TestHTTPSourceConforms(t *testing.T) {
	ctx := context.Background()
	svc, err := ingest.Open(ctx, t.TempDir(), []ingest.Endpoint{{Source: "tx", Schema: schema.Transaction()}})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := svc.Close(); err != nil {
			t.Error(err)
		}
	}()
	srv, err := listen.Serve(listen.Config{Addr: "127.0.0.1:0"}, svc.Handler())
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := srv.Close(); err != nil {
			t.Error(err)
		}
	}()
	cfg := gen.DefaultConfig()
	cfg.Rows, cfg.CorruptRate = 900, 0.03
	var body bytes.Buffer
	if _, err := gen.Write(ctx, cfg, &body, format.JSONL, format.WriteOptions{}, nil); err != nil {
		t.Fatal(err)
	}
	ans, err := (&ingest.Client{}).Post(ctx, srv.URL()+"/ingest/tx", body.Bytes(), "")
	if err != nil {
		t.Fatal(err)
	}
	if ans.Records != 900 || ans.DeadLetters == 0 {
		t.Fatalf("answer %+v: want 900 records, some refused", ans)
	}
	s, err := spec.Parse([]byte("name: posted\nsources:\n  tx: {kind: http, schema: transaction}\nsinks:\n  out: {from: tx, kind: jsonl, path: out.jsonl}\n"), "posted.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	sourcetest.Run(t, sourcetest.Subject{
		New: func(t *testing.T) source.Source {
			p, err := Build(s, Options{Parallelism: 1, IngestURL: svc.URL()})
			if err != nil {
				t.Fatal(err)
			}
			return p.Graph.Nodes[0].Source
		},
		PerPartition: []int64{900},
		Waits:        true,
	})
}
