package kafka

import (
	"context"
	"testing"

	"millrace/kafka/kafkatest"
	"millrace/op"
)

// BenchmarkSinkProduce measures rows produced per second to a 4-partition topic of an
// in-process cluster, one checkpoint per 10,000 rows: exactly once (staged in the state,
// produced in a transaction at the commit) against at least once (produced as rows arrive,
// flushed at the checkpoint).
func BenchmarkSinkProduce(b *testing.B) {
	const perCheckpoint = 10_000
	for _, d := range []Delivery{ExactlyOnce, AtLeastOnce} {
		b.Run(string(d), func(b *testing.B) {
			brokers := kafkatest.Cluster(b, "bench", 4)
			newSink, err := NewSinkFactory(context.Background(), sinkSchema, SinkOptions{Conn: Conn{Brokers: brokers}, Topic: "bench", Delivery: d, ID: "millrace.bench.out", Key: columnEval(0)})
			if err != nil {
				b.Fatal(err)
			}
			s := newSink()
			if err := s.Open(op.Context{Node: "sink.out", Parallelism: 1, Checkpointing: true}); err != nil {
				b.Fatal(err)
			}
			defer func() { _ = s.Close() }()
			b.ResetTimer()
			for i := range b.N {
				rec := rows(i*perCheckpoint, perCheckpoint)
				if err := s.Process(0, rec, nil); err != nil {
					b.Fatal(err)
				}
				if _, err := s.Snapshot(uint64(i + 1)); err != nil {
					b.Fatal(err)
				}
				if err := s.Commit(uint64(i + 1)); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*perCheckpoint)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}
