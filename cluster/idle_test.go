package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"millrace/kafka/kafkatest"
)

// idleSpec is workerSpec with an idle timeout of one second on the source.
const idleSpec = `
name: wtest
sources:
  tx:
    kind: kafka
    brokers: ["%[1]s"]
    topic: tx
    start: earliest
    columns: {card_id: string, ts: timestamp, amount: float64}
    event_time: ts
    watermark: 1s
    idle_timeout: 1s
views:
  counts:
    from: tx
    group_by: [card_id]
    window: {tumble: 10s}
    select: {n: count(*), spend: sum(amount)}
sinks:
  out: {from: counts, kind: kafka, brokers: ["%[1]s"], topic: counts, key: card_id, create: {partitions: 2}}
`

// TestIdleSourcePartitionLetsTheKeyedStageFire runs two workers over a topic of four
// partitions of which the last never gets a record. The workers' clock, a day after the
// rows' event times, stands still until the group has committed every row of the other
// three partitions, then moves 100ms at each reading: a second later every source
// partition's unit is idle, its markers across the exchange follow the clock, and the
// keyed stage fires every window, each with all its rows, though the source never ends.
// Without idle partitions crossing the exchange the empty partition holds the keyed
// stage's watermark at its start and no window fires.
func TestIdleSourcePartitionLetsTheKeyedStageFire(t *testing.T) {
	brokers := kafkatest.Cluster(t, "tx", 4)
	want := produceToPartitions(t, brokers, 3)
	stateDir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	var clock atomic.Int64 // milliseconds, a day after the rows; both workers read it
	clock.Store(time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC).UnixMilli())
	var running atomic.Bool
	for _, name := range []string{"w1", "w2"} {
		opts := workerOptionsOf(t, fmt.Appendf(nil, idleSpec, brokers[0]), brokers, stateDir, name)
		opts.Engine.Now = func() time.Time {
			if !running.Load() {
				return time.UnixMilli(clock.Load())
			}
			return time.UnixMilli(clock.Add(100))
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- Run(ctx, opts)
		}()
	}
	waitCommitted(t, brokers, "wtest", "tx", map[int32]int64{0: 1000, 1: 1000, 2: 1000})
	running.Store(true)
	got := countWindows(t, values(committed(t, brokers, "counts", len(want))))
	cancel()
	wg.Wait()
	for range 2 {
		if err := <-errs; err != nil {
			t.Errorf("worker: %v", err)
		}
	}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("window %s: %d rows counted, want %d", k, got[k], n)
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d windows, want %d", len(got), len(want))
	}
}

// produceToPartitions produces 3000 rows of 30 cards, 50ms apart, to the first parts
// partitions of topic tx (card i to partition i mod parts), and returns the rows of each
// card's window: card/window-end -> rows.
func produceToPartitions(t *testing.T, brokers []string, parts int) map[string]int {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.DefaultProduceTopic("tx"), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	want := map[string]int{} // card/window-end -> rows
	base := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	var recs []*kgo.Record
	for i := range 3000 {
		c := i % 30
		card := fmt.Sprintf("c%02d", c)
		ts := base.Add(time.Duration(i) * 50 * time.Millisecond)
		v, _ := json.Marshal(map[string]any{"card_id": card, "ts": ts.Format(time.RFC3339Nano), "amount": 1.5})
		p := int32(c % parts)
		recs = append(recs, &kgo.Record{Key: []byte(card), Value: v, Partition: p})
		want[fmt.Sprintf("%s/%s", card, ts.Truncate(10*time.Second).Add(10*time.Second).Format(time.RFC3339))]++
	}
	if err := cl.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	return want
}

// waitCommitted waits until group has committed at least the offsets ends of topic's
// partitions, asking the brokers each time a commit may have come (the workers commit at
// every checkpoint).
func waitCommitted(t *testing.T, brokers []string, group, topic string, ends map[int32]int64) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for range tick.C {
		offsets, err := adm.FetchOffsets(context.Background(), group)
		if err != nil {
			continue // the group is being formed
		}
		done := true
		for p, end := range ends {
			o, ok := offsets.Lookup(topic, p)
			done = done && ok && o.At >= end
		}
		if done {
			return
		}
	}
}
