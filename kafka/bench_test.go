package kafka

import (
	"bytes"
	"context"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"millrace/format"
	"millrace/gen"
	"millrace/kafka/kafkatest"
	"millrace/schema"
)

// benchRecords is the number of transactions the benchmark topic holds.
const benchRecords = 200_000

// benchTopic fills a 4-partition topic with generated transactions as JSON, one per record,
// spread round-robin.
func benchTopic(b *testing.B) testCluster {
	b.Helper()
	c := newTestCluster(b, 4, "tx")
	cfg := gen.DefaultConfig()
	cfg.Rows, cfg.Seed = benchRecords, 1
	var buf bytes.Buffer
	if _, err := gen.Write(context.Background(), cfg, &buf, format.JSONL, format.WriteOptions{}, nil); err != nil {
		b.Fatal(err)
	}
	lines := bytes.Split(bytes.TrimSuffix(buf.Bytes(), []byte("\n")), []byte("\n"))
	recs := make([]*kgo.Record, len(lines))
	for i, l := range lines {
		recs[i] = &kgo.Record{Topic: "tx", Partition: int32(i % 4), Value: l}
	}
	c.produce(b, recs...)
	return c
}

// BenchmarkConsumeJSON reads the whole topic, one goroutine, through the source (consume,
// decode every column into Arrow batches) and through a bare franz-go loop that decodes
// each value with encoding/json into a struct.
func BenchmarkConsumeJSON(b *testing.B) {
	c := benchTopic(b)
	b.Run("source", func(b *testing.B) {
		s := newSource(b, c, Options{Schema: schema.Transaction()})
		for b.Loop() {
			rows := 0
			for p := range s.Partitions() {
				r, err := s.Open(b.Context(), p, nil)
				if err != nil {
					b.Fatal(err)
				}
				for got := 0; got < benchRecords/4; {
					rec, dead, err := r.Read(b.Context())
					if err != nil {
						b.Fatal(err)
					}
					if len(dead) > 0 {
						b.Fatalf("dead letters: %v", dead[0])
					}
					if rec != nil {
						got += int(rec.NumRows())
						rows += int(rec.NumRows())
						rec.Release()
					}
				}
				if err := r.Close(); err != nil {
					b.Fatal(err)
				}
			}
			if rows != benchRecords {
				b.Fatalf("%d rows", rows)
			}
		}
		b.ReportMetric(float64(benchRecords*b.N)/b.Elapsed().Seconds(), "records/s")
	})
	b.Run("bare", func(b *testing.B) { kafkatest.BareConsume(b, c.brokers, "tx", 4, benchRecords) })
}
