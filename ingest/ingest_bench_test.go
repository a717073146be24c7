package ingest

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"millrace/format"
	"millrace/gen"
	"millrace/listen"
	"millrace/schema"
)

// BenchmarkIngest posts NDJSON bodies of 1000 generated transactions over HTTP to an
// ingest endpoint, each answered 202 only once every record is stored in the embedded
// JetStream stream (file storage), and reports the records stored per second.
func BenchmarkIngest(b *testing.B) {
	const perBody = 1000
	cfg := gen.DefaultConfig()
	cfg.Rows = perBody
	var body bytes.Buffer
	if _, err := gen.Write(context.Background(), cfg, &body, format.JSONL, format.WriteOptions{}, nil); err != nil {
		b.Fatal(err)
	}
	svc, err := Open(context.Background(), b.TempDir(), []Endpoint{{Source: "tx", Schema: schema.Transaction(), MaxBacklog: 1 << 40}})
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = svc.Close() }() // the figures are taken; nothing to check on close
	srv, err := listen.Serve(listen.Config{Addr: "127.0.0.1:0", MaxBody: svc.Handler().MaxBody()}, svc.Handler())
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = srv.Close() }() // as above
	c := &Client{}
	url := srv.URL() + "/ingest/tx"
	b.SetBytes(int64(body.Len()))
	for i := 0; b.Loop(); i++ {
		ans, err := c.Post(context.Background(), url, body.Bytes(), fmt.Sprint("bench-", i))
		if err != nil {
			b.Fatal(err)
		}
		if ans.Records != perBody {
			b.Fatalf("stored %d records", ans.Records)
		}
	}
	b.ReportMetric(float64(b.N*perBody)/b.Elapsed().Seconds(), "records/s")
}
