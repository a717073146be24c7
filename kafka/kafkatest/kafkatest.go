// Package kafkatest runs a Kafka protocol server (franz-go's kfake) inside a test, one that
// can be stopped and started again with what it held, and reads back what a topic holds as a
// read_committed consumer sees it.
package kafkatest

import (
	"context"
	"maps"
	"net"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Cluster starts a one-broker cluster holding topic with the given number of partitions
// (none when topic is empty), closed when the test ends, and returns its address.
func Cluster(t testing.TB, topic string, partitions int32) []string {
	t.Helper()
	return NewCluster(t, topic, partitions).ListenAddrs()
}

// NewCluster is Cluster for a test that also controls or observes the brokers.
func NewCluster(t testing.TB, topic string, partitions int32) *kfake.Cluster {
	t.Helper()
	opts := []kfake.Opt{kfake.NumBrokers(1)}
	if topic != "" {
		opts = append(opts, kfake.SeedTopics(partitions, topic))
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// endValue is the value of the record ReadCommitted appends to every partition.
const endValue = "\x00kafkatest-end"

// ReadCommitted returns every record of topic that a read_committed consumer sees, but the
// end markers of earlier calls. To know that it has read everything, it first produces an end
// marker to every partition, outside any transaction, and reads until it has seen each one:
// records of committed transactions come before it, aborted ones never come, and a
// transaction still open holds the read back until it ends (the test fails after a minute).
// opts are more client options, such as SASL.
func ReadCommitted(t testing.TB, brokers []string, topic string, opts ...kgo.Opt) []*kgo.Record {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	prod, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(brokers...), kgo.RecordPartitioner(kgo.ManualPartitioner())}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	defer prod.Close()
	ends, err := kadm.NewClient(prod).ListEndOffsets(ctx, topic)
	if err != nil {
		t.Fatalf("list the partitions of %s: %v", topic, err)
	}
	want := map[int32]int64{} // partition -> the offset of the end marker it gets
	var markers []*kgo.Record
	ends.Each(func(o kadm.ListedOffset) {
		markers = append(markers, &kgo.Record{Topic: topic, Partition: o.Partition, Value: []byte(endValue)})
	})
	if err := prod.ProduceSync(ctx, markers...).FirstErr(); err != nil {
		t.Fatalf("produce end markers to %s: %v", topic, err)
	}
	for _, m := range markers {
		want[m.Partition] = m.Offset
	}
	cons, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(topic),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart())}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	defer cons.Close()
	var out []*kgo.Record
	for len(want) > 0 {
		fs := cons.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("read %s: end markers of partitions %v not seen: %v", topic, slices.Sorted(maps.Keys(want)), err)
		}
		fs.EachError(func(tp string, p int32, err error) { t.Fatalf("read %s partition %d: %v", tp, p, err) })
		fs.EachRecord(func(r *kgo.Record) {
			if string(r.Value) == endValue {
				if r.Offset == want[r.Partition] {
					delete(want, r.Partition)
				}
				return
			}
			out = append(out, r)
		})
	}
	return out
}

// Values returns the values of recs as strings, sorted.
func Values(recs []*kgo.Record) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = string(r.Value)
	}
	slices.Sort(out)
	return out
}

// Broker is a one-broker cluster that keeps its logs, groups and transactions in a
// directory, so that a test can stop it and start it again on the same address with what it
// held, as a broker restart does.
type Broker struct {
	t    testing.TB
	dir  string
	port int
	c    *kfake.Cluster
}

// StartBroker starts a restartable broker on a free port, keeping its data under dir, and
// stops it when the test ends.
func StartBroker(t testing.TB, dir string) *Broker {
	t.Helper()
	b := &Broker{t: t, dir: dir}
	b.Start()
	t.Cleanup(b.Stop)
	return b
}

// Start starts the broker again on its address, with what it held when it stopped.
func (b *Broker) Start() {
	b.t.Helper()
	if b.c != nil {
		return
	}
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.Ports(b.port), kfake.DataDir(b.dir))
	if err != nil {
		b.t.Fatalf("start the broker on port %d with the data of %s: %v", b.port, b.dir, err)
	}
	b.c = c
	_, port, err := net.SplitHostPort(c.ListenAddrs()[0])
	if err == nil {
		b.port, err = strconv.Atoi(port)
	}
	if err != nil {
		b.t.Fatalf("the broker's address %s: %v", c.ListenAddrs()[0], err)
	}
}

// Stop closes the broker's listener and every connection to it, saving what it holds.
func (b *Broker) Stop() {
	if b.c != nil {
		b.c.Close()
		b.c = nil
	}
}

// Addr is the broker's address, the same across restarts.
func (b *Broker) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(b.port)) }
