// Package examplestest starts what the example specs read from, so that tests can plan and
// run them: a Kafka cluster holding the topic tx and a JetStream server holding the streams
// the examples name.
package examplestest

import (
	"context"
	"testing"

	"millrace/kafka/kafkatest"
	"millrace/natsjs"
)

// Brokers starts a Kafka cluster with the topic tx in 4 partitions and a JetStream server
// with the streams TX (subjects tx.0 .. tx.3) and VELOCITY (subject velocity), all stopped
// when the test ends. It returns the environment the examples read their addresses from:
// KAFKA_BROKERS and NATS_URL.
func Brokers(t testing.TB) map[string]string {
	t.Helper()
	brokers := kafkatest.Cluster(t, "tx", 4)
	ctx := context.Background()
	srv, err := natsjs.StartEmbedded(ctx, natsjs.EmbeddedOptions{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Error(err)
		}
	})
	conn := natsjs.Conn{URL: srv.URL()}
	for _, o := range []natsjs.LineOptions{
		{Subject: "tx", Partitions: 4, Stream: "TX"},
		{Subject: "velocity", Stream: "VELOCITY"},
	} {
		w, err := natsjs.NewLineWriter(ctx, conn, o) // creating the writer creates the stream
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return map[string]string{"KAFKA_BROKERS": brokers[0], "NATS_URL": srv.URL()}
}
