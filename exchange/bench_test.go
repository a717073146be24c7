package exchange

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"millrace/engine"
	"millrace/kafka"
	"millrace/kafka/kafkatest"
	"millrace/schema"
)

// benchRows is the number of transactions each benchmark moves.
const benchRows = 1_000_000

// BenchmarkExchange moves a million generated transactions, keyed by card, in batches of
// 16384 rows:
//
//   - kafka: Encode, produce to a fresh exchange topic, and read every key group back
//     through the Source, one partition after another;
//   - kafka-ipc: the broker's floor, the batches whole in IPC streams of 4096 rows, one per
//     record of a topic of one partition, read back by a bare client and decoded;
//   - codec: Encode and decode every record, no broker;
//   - ipc: the baseline, the batches written whole as one Arrow IPC stream and read back.
//
// Each reports rows/s.
func BenchmarkExchange(b *testing.B) {
	batches := transactions(b, 11, benchRows, 16384)
	key := cardKey(b)
	b.Run("kafka", func(b *testing.B) {
		brokers := kafkatest.Cluster(b, "", 0)
		cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.RecordPartitioner(kgo.ManualPartitioner()),
			kgo.MaxBufferedRecords(1<<20))
		if err != nil {
			b.Fatal(err)
		}
		defer cl.Close()
		run := 0
		for b.Loop() {
			run++
			topic := fmt.Sprintf("millrace.bench.s%d", run)
			if err := Ensure(b.Context(), kadm.NewClient(cl), topic, KeyGroups); err != nil {
				b.Fatal(err)
			}
			per := make([]int64, KeyGroups)
			for _, batch := range batches {
				recs, err := Encode(batch, key, KeyGroups, topic, "tx/0")
				if err != nil {
					b.Fatal(err)
				}
				for _, r := range recs {
					cl.Produce(b.Context(), r, func(r *kgo.Record, err error) {
						if err != nil {
							b.Errorf("produce to %s/%d: %v", r.Topic, r.Partition, err)
						}
					})
				}
				countRows(b, batch, key, per)
			}
			if err := cl.Flush(b.Context()); err != nil || b.Failed() {
				b.Fatalf("flush: %v", err)
			}
			if got := readAll(b, brokers, topic, per); got != benchRows {
				b.Fatalf("%d rows read of %d", got, benchRows)
			}
		}
		b.ReportMetric(float64(benchRows*b.N)/b.Elapsed().Seconds(), "rows/s")
	})
	b.Run("kafka-ipc", func(b *testing.B) {
		brokers := kafkatest.Cluster(b, "", 0)
		cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.RecordPartitioner(kgo.ManualPartitioner()))
		if err != nil {
			b.Fatal(err)
		}
		defer cl.Close()
		var values [][]byte // streams of 4096 rows, so that each record stays under the broker's 1 MB
		for _, batch := range batches {
			for lo := int64(0); lo < batch.NumRows(); lo += 4096 {
				part := batch.NewSlice(lo, min(lo+4096, batch.NumRows()))
				var buf bytes.Buffer
				w := ipc.NewWriter(&buf, ipc.WithSchema(schema.Transaction()))
				if err := w.Write(part); err != nil {
					b.Fatal(err)
				}
				if err := w.Close(); err != nil {
					b.Fatal(err)
				}
				part.Release()
				values = append(values, buf.Bytes())
			}
		}
		run := 0
		for b.Loop() {
			run++
			topic := fmt.Sprintf("bench.ipc%d", run)
			if _, err := kadm.NewClient(cl).CreateTopic(b.Context(), 1, -1, nil, topic); err != nil {
				b.Fatal(err)
			}
			for _, v := range values {
				cl.Produce(b.Context(), &kgo.Record{Topic: topic, Value: v}, func(r *kgo.Record, err error) {
					if err != nil {
						b.Errorf("produce to %s: %v", r.Topic, err)
					}
				})
			}
			if err := cl.Flush(b.Context()); err != nil || b.Failed() {
				b.Fatalf("flush: %v", err)
			}
			if got := readIPC(b, brokers, topic, len(values)); got != benchRows {
				b.Fatalf("%d rows read of %d", got, benchRows)
			}
		}
		b.ReportMetric(float64(benchRows*b.N)/b.Elapsed().Seconds(), "rows/s")
	})
	b.Run("codec", func(b *testing.B) {
		dec, err := newDecoder(schema.Transaction())
		if err != nil {
			b.Fatal(err)
		}
		defer dec.close()
		bytesOut := 0
		for b.Loop() {
			rows, size := 0, 0
			for _, batch := range batches {
				recs, err := Encode(batch, key, KeyGroups, "bench", "tx/0")
				if err != nil {
					b.Fatal(err)
				}
				for _, r := range recs {
					size += len(r.Value)
					rec, err := dec.decode(string(r.Headers[1].Value), r.Value)
					if err != nil {
						b.Fatal(err)
					}
					rows += int(rec.NumRows())
					rec.Release()
				}
			}
			if rows != benchRows {
				b.Fatalf("%d rows", rows)
			}
			bytesOut = size
		}
		b.ReportMetric(float64(benchRows*b.N)/b.Elapsed().Seconds(), "rows/s")
		b.ReportMetric(float64(bytesOut)/benchRows, "bytes/row")
	})
	b.Run("ipc", func(b *testing.B) {
		size := 0
		var buf bytes.Buffer
		buf.Grow(128 * benchRows) // more than the stream takes: the rounds measure no growing
		for b.Loop() {
			buf.Reset()
			w := ipc.NewWriter(&buf, ipc.WithSchema(schema.Transaction()))
			for _, batch := range batches {
				if err := w.Write(batch); err != nil {
					b.Fatal(err)
				}
			}
			if err := w.Close(); err != nil {
				b.Fatal(err)
			}
			size = buf.Len()
			rd, err := ipc.NewReader(bytes.NewReader(buf.Bytes()))
			if err != nil {
				b.Fatal(err)
			}
			rows := 0
			for rd.Next() {
				rows += int(rd.RecordBatch().NumRows())
			}
			if err := rd.Err(); err != nil {
				b.Fatal(err)
			}
			rd.Release()
			if rows != benchRows {
				b.Fatalf("%d rows", rows)
			}
		}
		b.ReportMetric(float64(benchRows*b.N)/b.Elapsed().Seconds(), "rows/s")
		b.ReportMetric(float64(size)/benchRows, "bytes/row")
	})
}

// countRows adds the rows of batch in each key group to per.
func countRows(b *testing.B, batch arrow.RecordBatch, key []int, per []int64) {
	hashes := make([]uint64, batch.NumRows())
	if err := engine.HashRows(batch, key, hashes); err != nil {
		b.Fatal(err)
	}
	for _, h := range hashes {
		per[engine.KeyGroup(h, len(per))]++
	}
}

// readAll reads every key group of topic through a Source until it has yielded the rows per
// says it holds, and returns the rows read.
func readAll(b *testing.B, brokers []string, topic string, per []int64) int {
	parts := make([]int32, KeyGroups)
	for i := range parts {
		parts[i] = int32(i)
	}
	src, err := NewSource(b.Context(), SourceOptions{Conn: kafka.Conn{Brokers: brokers}, Topic: topic, Partitions: parts,
		Schema: schema.Transaction(), Upstream: []string{"tx/0"}})
	if err != nil {
		b.Fatal(err)
	}
	total := 0
	for i := range parts {
		r, err := src.Open(context.Background(), i, nil)
		if err != nil {
			b.Fatal(err)
		}
		for got := int64(0); got < per[i]; {
			rec, _, err := r.Read(b.Context())
			if err != nil {
				b.Fatal(err)
			}
			if rec != nil {
				got += rec.NumRows()
				total += int(rec.NumRows())
				rec.Release()
			}
		}
		if err := r.Close(); err != nil {
			b.Fatal(err)
		}
	}
	return total
}

// readIPC reads the records of partition 0 of topic with a bare client, each an IPC stream,
// and returns the rows they hold.
func readIPC(b *testing.B, brokers []string, topic string, records int) int {
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.FetchMaxPartitionBytes(16<<20),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {0: kgo.NewOffset().AtStart()}}))
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	rows := 0
	for n := 0; n < records; {
		fetches := cl.PollFetches(b.Context())
		if err := fetches.Err(); err != nil {
			b.Fatal(err)
		}
		for it := fetches.RecordIter(); !it.Done(); n++ {
			rd, err := ipc.NewReader(bytes.NewReader(it.Next().Value))
			if err != nil {
				b.Fatal(err)
			}
			for rd.Next() {
				rows += int(rd.RecordBatch().NumRows())
			}
			if err := rd.Err(); err != nil {
				b.Fatal(err)
			}
			rd.Release()
		}
	}
	return rows
}
