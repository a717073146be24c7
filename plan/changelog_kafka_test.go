package plan

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"millrace/engine"
	"millrace/kafka/kafkatest"
	"millrace/spec"
)

// upsertSpec totals each card's spending from a Kafka topic, which never ends, so the view
// emits a changelog: into a compacted topic by card, and into a JSONL file as it is.
const upsertSpec = `
name: upsert
sources:
  tx: {kind: kafka, brokers: [%s], topic: tx, schema: transaction}
views:
  per_card:
    from: tx
    where: channel <> 'atm'
    group_by: [card_id]
    select: {n: count(*), volume: sum(amount), top: max(amount)}
    having: n >= 2 AND volume < 1500
sinks:
  table: {from: per_card, kind: kafka, brokers: [%s], topic: cards, mode: upsert, create: {partitions: 3}}
  changes: {from: per_card, kind: jsonl, path: %s}
`

// TestUpsertTopicHoldsTheTable runs card totals over a Kafka topic of generated
// transactions with exactly-once checkpoints until every record is read, then reads the
// upsert topic back as a compacted table (each card's last record, a tombstone removing it)
// and applies the JSONL changelog: both equal the table computed row by row.
func TestUpsertTopicHoldsTheTable(t *testing.T) {
	dir := t.TempDir()
	const rows = 20_000
	input := changelogInput(t, dir, rows)
	want := referenceCardTotals(t, input)
	brokers := kafkatest.Cluster(t, "tx", 4)
	produceLines(t, brokers, "tx", 4, input)

	out := filepath.Join(dir, "changes.jsonl")
	s, err := spec.Parse(fmt.Appendf(nil, upsertSpec, brokers[0], brokers[0], out), "upsert.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	pl, err := Build(s, Options{Parallelism: 2})
	if err != nil {
		t.Fatal(err)
	}
	if p := pl.String(); !strings.Contains(p, "upsert into a compacted topic keyed by card_id") || !strings.Contains(p, "per whole input, updated each batch") {
		t.Fatalf("plan:\n%s", p)
	}
	stop := make(chan struct{})
	var once sync.Once
	opts := engine.DefaultOptions()
	opts.Stop = stop
	opts.ProgressEvery = 5 * time.Millisecond
	opts.Progress = func(st *engine.Stats) {
		var n int64
		for _, node := range st.Nodes {
			n += node.Read
		}
		if n >= rows {
			once.Do(func() { close(stop) })
		}
	}
	checkpoints := 0
	opts.Checkpointing = &engine.Checkpointing{Interval: 10 * time.Millisecond, Complete: func(*engine.Snapshot) error {
		checkpoints++
		return nil
	}}
	if _, err := engine.Run(context.Background(), pl.Graph, opts); err != nil {
		t.Fatal(err)
	}

	table := map[string]string{}
	tombstones := 0
	for _, r := range kafkatest.ReadCommitted(t, brokers, "cards") {
		var key struct {
			Card string `json:"card_id"`
		}
		if err := json.Unmarshal(r.Key, &key); err != nil || string(r.Key) != fmt.Sprintf(`{"card_id":%q}`, key.Card) {
			t.Fatalf("record key %q: %v", r.Key, err)
		}
		if r.Value == nil {
			tombstones++
			delete(table, key.Card)
			continue
		}
		d := json.NewDecoder(bytes.NewReader(r.Value))
		d.UseNumber()
		var m map[string]any
		if err := d.Decode(&m); err != nil {
			t.Fatalf("record value %q: %v", r.Value, err)
		}
		if _, ok := m["_op"]; ok || m["card_id"] != key.Card {
			t.Fatalf("record %s: %s", r.Key, r.Value)
		}
		table[key.Card] = cardRow(m)
	}
	if !maps.Equal(table, want) || tombstones == 0 {
		t.Fatalf("the compacted topic holds %d cards (%d tombstones), want %d, after %d checkpoints", len(table), tombstones, len(want), checkpoints)
	}
	applied := map[string]string{}
	applyCardChanges(t, applied, changelogRows(t, out))
	if !maps.Equal(applied, want) {
		t.Fatalf("the applied changelog file holds %d cards, want %d", len(applied), len(want))
	}
}

// produceLines produces the lines of a file to topic, round-robin over its partitions.
func produceLines(t *testing.T, brokers []string, topic string, partitions int32, path string) {
	t.Helper()
	body, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	lines := bytes.Split(bytes.TrimSuffix(body, []byte("\n")), []byte("\n"))
	recs := make([]*kgo.Record, len(lines))
	for i, l := range lines {
		recs[i] = &kgo.Record{Topic: topic, Partition: int32(i) % partitions, Value: l}
	}
	if err := cl.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
}
