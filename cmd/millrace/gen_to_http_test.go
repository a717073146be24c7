package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"millrace/ingest"
	"millrace/listen"
	"millrace/schema"
)

// TestGenPostsToAnHTTPSource sends generated records to a token-guarded ingest endpoint
// in batches and finds each of them stored once, in order.
func TestGenPostsToAnHTTPSource(t *testing.T) {
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte("gen-post-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	svc, err := ingest.Open(ctx, filepath.Join(dir, "ingest"), []ingest.Endpoint{{Source: "tx", Schema: schema.Transaction()}})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := svc.Close(); err != nil {
			t.Error(err)
		}
	}()
	srv, err := listen.Serve(listen.Config{Addr: "127.0.0.1:0", TokenFile: tokenFile}, svc.Handler())
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := srv.Close(); err != nil {
			t.Error(err)
		}
	}()
	if _, err := run(t, "gen", "--rows", "100", "--to", srv.URL()+"/ingest/tx"); err == nil {
		t.Error("gen posted without the token")
	}
	mustRun(t, "gen", "--rows", "2500", "--seed", "3", "--to", srv.URL()+"/ingest/tx", "--to-token-file", tokenFile)
	want := mustRun(t, "gen", "--rows", "2500", "--seed", "3")

	nc, err := nats.Connect(svc.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	st, err := js.Stream(ctx, ingest.StreamName("tx"))
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 2500 {
		t.Fatalf("the stream holds %d records, want 2500", info.State.Msgs)
	}
	var got []byte
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq; seq++ {
		m, err := st.GetMsg(ctx, seq)
		if err != nil {
			t.Fatal(err)
		}
		got = append(append(got, m.Data...), '\n')
	}
	if string(got) != want {
		t.Error("the stored records differ from what gen writes with the same seed")
	}
}
