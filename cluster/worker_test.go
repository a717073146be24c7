package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"millrace/engine"
	"millrace/kafka"
	"millrace/kafka/kafkatest"
	"millrace/objstore"
	"millrace/plan"
	"millrace/spec"
)

// workerSpec counts each card's rows in 10-second windows, from topic tx to topic counts.
const workerSpec = `
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
views:
  counts:
    from: tx
    group_by: [card_id]
    window: {tumble: 10s}
    select: {n: count(*), spend: sum(amount)}
sinks:
  out: {from: counts, kind: kafka, brokers: ["%[1]s"], topic: counts, key: card_id, create: {partitions: 2}}
`

// TestTwoWorkersInOneProcessCountEveryRowOnce runs two workers as goroutines, so that the
// race detector sees the worker's own goroutines (group callbacks, generations, checkpoint
// commits, status), over rows whose windows the test counts itself.
func TestTwoWorkersInOneProcessCountEveryRowOnce(t *testing.T) {
	brokers := kafkatest.Cluster(t, "tx", 4)
	want := produceCards(t, brokers)
	stateDir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for _, name := range []string{"w1", "w2"} {
		opts := workerOptions(t, brokers, stateDir, name)
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- Run(ctx, opts)
		}()
	}
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

// produceCards produces 4000 rows of 37 cards, 50ms apart, to topic tx, and returns the
// rows of each card's window that a run over the topic fires: card/window-end -> rows.
func produceCards(t *testing.T, brokers []string) map[string]int {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.DefaultProduceTopic("tx"))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	want := map[string]int{} // card/window-end -> rows
	base := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	latest := map[string]time.Time{} // per card, the rows of a card being in one partition
	var recs []*kgo.Record
	for i := range 4000 {
		card := fmt.Sprintf("c%02d", i%37)
		ts := base.Add(time.Duration(i) * 50 * time.Millisecond)
		v, _ := json.Marshal(map[string]any{"card_id": card, "ts": ts.Format(time.RFC3339Nano), "amount": 1.5})
		recs = append(recs, &kgo.Record{Key: []byte(card), Value: v})
		latest[card] = ts
		want[fmt.Sprintf("%s/%s", card, ts.Truncate(10*time.Second).Add(10*time.Second).Format(time.RFC3339))]++
	}
	if err := cl.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	// The windows the watermark passes: the least over the partitions of their latest
	// event time, less 1s. Which cards share a partition the topic's partitioner says.
	partLatest := map[int32]time.Time{}
	for _, r := range recs {
		ts := latest[string(r.Key)]
		if ts.After(partLatest[r.Partition]) {
			partLatest[r.Partition] = ts
		}
	}
	var wm time.Time
	for _, ts := range partLatest {
		if wm.IsZero() || ts.Before(wm) {
			wm = ts
		}
	}
	wm = wm.Add(-time.Second)
	for k := range want {
		end, _ := time.Parse(time.RFC3339, k[len("c00/"):])
		if end.After(wm) {
			delete(want, k)
		}
	}
	return want
}

// values are the records' values.
func values(recs []*kgo.Record) [][]byte {
	out := make([][]byte, len(recs))
	for i, r := range recs {
		out[i] = r.Value
	}
	return out
}

// countWindows adds up the rows of counts' windows, JSON lines: card/window-end -> rows.
func countWindows(t *testing.T, values [][]byte) map[string]int {
	t.Helper()
	got := map[string]int{}
	for _, v := range values {
		var row struct {
			Card string    `json:"card_id"`
			End  time.Time `json:"window_end"`
			N    int       `json:"n"`
		}
		if err := json.Unmarshal(v, &row); err != nil {
			t.Fatalf("window %s: %v", v, err)
		}
		got[fmt.Sprintf("%s/%s", row.Card, row.End.Format(time.RFC3339))] += row.N
	}
	return got
}

// workerOptions plans workerSpec for one worker.
func workerOptions(t *testing.T, brokers []string, stateDir, name string) Options {
	t.Helper()
	return workerOptionsOf(t, fmt.Appendf(nil, workerSpec, brokers[0]), brokers, stateDir, name)
}

// workerOptionsOf plans a spec for one worker.
func workerOptionsOf(t *testing.T, text []byte, brokers []string, stateDir, name string) Options {
	t.Helper()
	s, err := spec.Parse(text, "wtest.yaml", func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	relay := &Relay{}
	p, err := plan.Build(s, plan.Options{Parallelism: 1, Outbox: relay.Outbox})
	if err != nil {
		t.Fatal(err)
	}
	l, err := Cut(p)
	if err != nil {
		t.Fatal(err)
	}
	store, err := objstore.Open(context.Background(), stateDir, objstore.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	eopts := engine.DefaultOptions()
	eopts.Monitor = &engine.Monitor{}
	return Options{Plan: p, Layout: l, Relay: relay, Conn: kafka.Conn{Brokers: brokers}, Worker: name, Store: store,
		Interval: 50 * time.Millisecond, Engine: eopts, Log: slog.New(slog.DiscardHandler)}
}

// committed reads topic, committed records only, until it holds n.
func committed(t *testing.T, brokers []string, topic string, n int) []*kgo.Record {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(topic),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var out []*kgo.Record
	for len(out) < n {
		fs := cl.PollFetches(context.Background())
		fs.EachError(func(_ string, _ int32, err error) { t.Fatal(err) })
		out = append(out, fs.Records()...)
	}
	slices.SortFunc(out, func(a, b *kgo.Record) int { return a.Timestamp.Compare(b.Timestamp) })
	return out
}
