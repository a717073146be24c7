package natsjs

import (
	"context"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// TestEmbeddedKeepsStreamsAcrossRestart stores messages, stops the server and starts it
// again on the same directory and port: the messages are there, and a client that was
// connected before reaches the new server.
func TestEmbeddedKeepsStreamsAcrossRestart(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	e, err := StartEmbedded(ctx, EmbeddedOptions{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	nc, err := Conn{URL: e.URL()}.connect()
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "TX", Subjects: []string{"tx.>"}}); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := js.Publish(ctx, "tx.0", []byte(`{}`)); err != nil {
			t.Fatal(err)
		}
	}
	port := e.Port()
	reconnected := nc.StatusChanged(nats.CONNECTED) // the next one is the reconnection
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	e, err = StartEmbedded(ctx, EmbeddedOptions{Dir: dir, Port: port})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = e.Close() }()
	<-reconnected
	if _, err := js.Publish(ctx, "tx.0", []byte(`{}`)); err != nil {
		t.Fatalf("publish after the restart: %v", err)
	}
	st, err := js.Stream(ctx, "TX")
	if err != nil {
		t.Fatal(err)
	}
	if n := st.CachedInfo().State.Msgs; n != 4 {
		t.Errorf("%d messages in the stream after the restart, want 4", n)
	}
}

func TestEmbeddedNeedsADirectory(t *testing.T) {
	if _, err := StartEmbedded(context.Background(), EmbeddedOptions{}); err == nil {
		t.Fatal("a server without a storage directory started")
	}
}
