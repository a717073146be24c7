package main

import (
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"millrace/kafka/kafkatest"
)

func TestGenToKafkaProducesEveryRecordKeyedByCard(t *testing.T) {
	brokers := kafkatest.Cluster(t, "", 0)
	to := "kafka://" + brokers[0] + "/tx?partitions=3"
	flags := []string{"gen", "--rows", "5000", "--seed", "4", "--dup-rate", "0.01", "--corrupt-rate", "0.01"}
	out := mustRun(t, append(flags, "--to", to)...)
	if !strings.Contains(out, "wrote 5,000 rows to "+to) {
		t.Errorf("gen said %q", out)
	}
	file := filepath.Join(t.TempDir(), "tx.jsonl")
	mustRun(t, append(flags, "--out", file)...)
	want := strings.Split(strings.TrimSuffix(string(readFile(t, file)), "\n"), "\n")
	slices.Sort(want)

	recs := kafkatest.ReadCommitted(t, brokers, "tx")
	if got := kafkatest.Values(recs); !slices.Equal(got, want) {
		t.Fatalf("%d records in the topic; the same flags write %d lines to a file", len(got), len(want))
	}
	keyed := 0
	for _, r := range recs {
		var row struct {
			CardID *string `json:"card_id"`
		}
		if json.Unmarshal(r.Value, &row) != nil || row.CardID == nil {
			continue // a corrupt record: its key is whatever could be read, if anything
		}
		if string(r.Key) != *row.CardID {
			t.Fatalf("record %s: key %q, want its card_id", r.Value, r.Key)
		}
		keyed++
	}
	if keyed < 4900 {
		t.Errorf("only %d of %d records keyed by card_id", keyed, len(recs))
	}
}

func TestGenToNeedsAKnownTarget(t *testing.T) {
	brokers := kafkatest.Cluster(t, "", 0)
	for to, want := range map[string]string{
		"s3://bucket/tx":                 `unknown scheme "s3"; want kafka://HOST:PORT/TOPIC or nats://HOST:PORT/SUBJECT`,
		"localhost:9092":                 "want kafka://HOST:PORT/TOPIC",
		"kafka://" + brokers[0] + "/":    "want kafka://HOST:PORT/TOPIC",
		"kafka://" + brokers[0] + "/gap": "kafka topic gap on " + brokers[0] + ": kafka: topic does not exist",
	} {
		_, err := run(t, "gen", "--rows", "10", "--to", to)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("--to %s: %v; want %q", to, err, want)
		}
	}
	if _, err := run(t, "gen", "--rows", "10", "--to", "kafka://"+brokers[0]+"/x?partitions=1", "--out", filepath.Join(t.TempDir(), "x.jsonl")); err == nil {
		t.Errorf("--to with --out: no error")
	}
}
