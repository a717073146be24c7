package plan

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sr"
	"github.com/twmb/franz-go/pkg/sr/srfake"

	"millrace/engine"
	"millrace/kafka/kafkatest"
	"millrace/spec"
)

const kafkaSinkSpec = `
name: k
sources:
  tx: {kind: generator, rows: 3000, seed: 3, partitions: 2}
views:
  big:
    from: tx
    where: amount >= 100
    select: {tx_id: tx_id, card_id: card_id, amount: amount, channel: channel}
sinks:
  out:
    from: big
    kind: kafka
    brokers: [%s]
    topic: %s
    key: card_id
    headers: {channel: upper(channel)}
    %s
`

func planKafka(t *testing.T, brokers []string, topic, extra string) (*Plan, error) {
	t.Helper()
	s, err := spec.Parse(fmt.Appendf(nil, kafkaSinkSpec, brokers[0], topic, extra), "k.yaml", os.LookupEnv)
	if err != nil {
		t.Fatal(err)
	}
	return Build(s, Options{Parallelism: 2})
}

func TestKafkaSinkPublishesEveryRowOnceWithKeyAndHeaders(t *testing.T) {
	brokers := kafkatest.Cluster(t, "big", 3)
	pl, err := planKafka(t, brokers, "big", "")
	if err != nil {
		t.Fatal(err)
	}
	opts := engine.DefaultOptions()
	checkpoints := 0
	opts.Checkpointing = &engine.Checkpointing{Interval: 20 * time.Millisecond,
		Complete: func(*engine.Snapshot) error { checkpoints++; return nil }}
	stats, err := engine.Run(context.Background(), pl.Graph, opts)
	if err != nil {
		t.Fatal(err)
	}
	ledger := pl.Ledger(stats)
	kept := ledger.Views[0].Kept
	got := kafkatest.ReadCommitted(t, brokers, "big")
	if int64(len(got)) != kept || kept == 0 {
		t.Fatalf("%d records after %d checkpoints; the view kept %d", len(got), checkpoints, kept)
	}
	seen := map[string]bool{}
	for _, r := range got {
		var row struct {
			TxID    string `json:"tx_id"`
			CardID  string `json:"card_id"`
			Channel string `json:"channel"`
		}
		if err := json.Unmarshal(r.Value, &row); err != nil {
			t.Fatalf("value %s: %v", r.Value, err)
		}
		if seen[row.TxID] {
			t.Fatalf("tx %s published twice", row.TxID)
		}
		seen[row.TxID] = true
		if string(r.Key) != row.CardID {
			t.Errorf("tx %s: key %q, want card_id %q", row.TxID, r.Key, row.CardID)
		}
		if len(r.Headers) != 1 || r.Headers[0].Key != "channel" || string(r.Headers[0].Value) != strings.ToUpper(row.Channel) {
			t.Errorf("tx %s: headers %v, want channel=%s", row.TxID, r.Headers, strings.ToUpper(row.Channel))
		}
	}
}

func TestKafkaSinkTopicMustExistUnlessCreated(t *testing.T) {
	brokers := kafkatest.Cluster(t, "", 0)
	_, err := planKafka(t, brokers, "nowhere", "")
	want := "k.yaml:11: sinks.out: kafka topic nowhere on " + brokers[0] + ": kafka: topic does not exist"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("plan with a missing topic: %v; want %q", err, want)
	}
	if _, err := planKafka(t, brokers, "made", "create: {partitions: 4}"); err != nil {
		t.Fatal(err)
	}
	if _, err := planKafka(t, brokers, "made", ""); err != nil {
		t.Fatalf("the created topic: %v", err)
	}
	s, err := spec.Parse(fmt.Appendf(nil, strings.Replace(kafkaSinkSpec, "key: card_id", "key: card", 1), brokers[0], "made", ""), "k.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Build(s, Options{Parallelism: 2})
	if err == nil || !strings.Contains(err.Error(), `sinks.out.key: unknown column "card"`) {
		t.Fatalf("a key over an unknown column: %v", err)
	}
}

func TestKafkaSinkAvroRegistersItsSchema(t *testing.T) {
	reg := srfake.New()
	defer reg.Close()
	brokers := kafkatest.Cluster(t, "big", 1)
	pl, err := planKafka(t, brokers, "big", "format: avro\n    registry: "+reg.URL())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := engine.Run(context.Background(), pl.Graph, engine.DefaultOptions()); err != nil {
		t.Fatal(err)
	}
	cl, err := sr.NewClient(sr.URLs(reg.URL()))
	if err != nil {
		t.Fatal(err)
	}
	ss, err := cl.SchemaByVersion(context.Background(), "big-value", -1)
	if err != nil {
		t.Fatalf("subject big-value: %v", err)
	}
	recs := kafkatest.ReadCommitted(t, brokers, "big")
	if len(recs) == 0 {
		t.Fatal("no records")
	}
	for _, r := range recs {
		id, _, err := new(sr.ConfluentHeader).DecodeID(r.Value)
		if err != nil || id != ss.ID {
			t.Fatalf("record framed with schema %d (%v); the subject's is %d", id, err, ss.ID)
		}
	}
}

func TestKafkaSinkAuthenticatesWithSASL(t *testing.T) {
	const password = "s3cret-sink-pass"
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(2, "big"),
		kfake.EnableSASL(), kfake.Superuser("PLAIN", "millrace", password))
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()
	brokers := cluster.ListenAddrs()
	sasl := `sasl: {mechanism: PLAIN, username: millrace, password: "${KPASS}"}`
	t.Setenv("KPASS", "wrong-"+password)
	if _, err := planKafka(t, brokers, "big", sasl); err == nil || strings.Contains(err.Error(), password) {
		t.Fatalf("plan with a wrong password: %v", err)
	}
	t.Setenv("KPASS", password)
	pl, err := planKafka(t, brokers, "big", sasl)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(pl.String(), password) {
		t.Fatalf("the plan shows the password:\n%s", pl)
	}
	opts := engine.DefaultOptions()
	opts.Checkpointing = &engine.Checkpointing{Interval: 20 * time.Millisecond, Complete: func(*engine.Snapshot) error { return nil }}
	stats, err := engine.Run(context.Background(), pl.Graph, opts)
	if err != nil {
		t.Fatal(err)
	}
	got := kafkatest.ReadCommitted(t, brokers, "big", kgo.SASL(plain.Auth{User: "millrace", Pass: password}.AsMechanism()))
	if kept := pl.Ledger(stats).Views[0].Kept; int64(len(got)) != kept || kept == 0 {
		t.Fatalf("%d records; the view kept %d", len(got), kept)
	}
}
