package main

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"millrace/natsjs"
)

// TestGenToNATSPublishesEveryRecord sends generated records to a stream it creates, split
// into partition subjects by card: the stream holds exactly the lines the same flags write
// to a file, each card's records on one subject.
func TestGenToNATSPublishesEveryRecord(t *testing.T) {
	ctx := context.Background()
	srv, err := natsjs.StartEmbedded(ctx, natsjs.EmbeddedOptions{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	to := "nats://" + strings.TrimPrefix(srv.URL(), "nats://") + "/tx?partitions=3&stream=TX"
	flags := []string{"gen", "--rows", "3000", "--seed", "4", "--corrupt-rate", "0.01"}
	if out := mustRun(t, append(flags, "--to", to)...); !strings.Contains(out, "wrote 3,000 rows to "+to) {
		t.Errorf("gen said %q", out)
	}
	file := filepath.Join(t.TempDir(), "tx.jsonl")
	mustRun(t, append(flags, "--out", file)...)
	want := strings.Split(strings.TrimSuffix(string(readFile(t, file)), "\n"), "\n")
	slices.Sort(want)

	nc, err := nats.Connect(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	cons, err := js.OrderedConsumer(ctx, "TX", jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	batch, err := cons.FetchNoWait(len(want) + 1)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	subjects := map[string]bool{}
	for m := range batch.Messages() {
		got = append(got, string(m.Data()))
		subjects[m.Subject()] = true
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("%d messages in the stream; the same flags write %d lines to a file", len(got), len(want))
	}
	if len(subjects) != 3 {
		t.Errorf("messages on subjects %v, want tx.0, tx.1 and tx.2", subjects)
	}
}

func TestGenToNATSNeedsAStream(t *testing.T) {
	srv, err := natsjs.StartEmbedded(context.Background(), natsjs.EmbeddedOptions{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	_, err = run(t, "gen", "--rows", "10", "--to", srv.URL()+"/nowhere")
	if err == nil || !strings.Contains(err.Error(), "no stream stores nats subject nowhere") {
		t.Errorf("--to a subject no stream stores: %v", err)
	}
}
