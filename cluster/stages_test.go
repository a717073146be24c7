package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"millrace/kafka/kafkatest"
)

// stagesSpec drops repeated deliveries of a transaction (a keyed stage by tx_id), counts
// each card's unique rows in 10-second windows (a keyed stage by card_id after it), and
// joins each card's payments with its withdrawals 0 to 5 seconds later (a step fed by two
// exchanges).
const stagesSpec = `
name: wtest
sources:
  tx:
    kind: kafka
    brokers: ["%[1]s"]
    topic: tx
    start: earliest
    columns: {tx_id: string, card_id: string, channel: string, ts: timestamp, amount: float64}
    event_time: ts
    watermark: 1s
views:
  unique:
    from: tx
    dedup: {key: tx_id, within: 1m}
  counts:
    from: unique
    group_by: [card_id]
    window: {tumble: 10s}
    select: {n: count(*), spend: sum(amount)}
  pay:
    from: unique
    where: channel = 'pos'
    select: {card_id: card_id, tx_id: tx_id, ts: ts}
  cash:
    from: unique
    where: channel = 'atm'
    select: {card_id: card_id, atm_tx: tx_id, ts: ts}
  pairs:
    from: pay
    join: {stream: cash, on: card_id, within: [0s, 5s]}
    select: {tx_id: tx_id, atm_tx: atm_tx}
sinks:
  out: {from: counts, kind: kafka, brokers: ["%[1]s"], topic: counts, key: card_id, create: {partitions: 2}}
  pairs_out: {from: pairs, kind: kafka, brokers: ["%[1]s"], topic: pairs, create: {partitions: 2}}
`

// TestTwoWorkersRunStagesAfterStagesAndAJoin runs two workers as goroutines over a spec
// whose keyed window follows a keyed dedup and whose join reads two exchanges: every
// window counts each transaction once, however often it was delivered, and every payment
// pairs with the withdrawals of its card that follow within 5 seconds, once.
func TestTwoWorkersRunStagesAfterStagesAndAJoin(t *testing.T) {
	brokers := kafkatest.Cluster(t, "tx", 4)
	windows, pairs := produceDeliveries(t, brokers)
	stateDir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for _, name := range []string{"w1", "w2"} {
		opts := workerOptionsOf(t, fmt.Appendf(nil, stagesSpec, brokers[0]), brokers, stateDir, name)
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- Run(ctx, opts)
		}()
	}
	gotPairs := committed(t, brokers, "pairs", len(pairs))
	gotWindows := countWindows(t, values(committed(t, brokers, "counts", len(windows))))
	cancel()
	wg.Wait()
	for range 2 {
		if err := <-errs; err != nil {
			t.Errorf("worker: %v", err)
		}
	}
	for k, n := range windows {
		if gotWindows[k] != n {
			t.Errorf("window %s: %d rows counted, want %d", k, gotWindows[k], n)
		}
	}
	if len(gotWindows) != len(windows) {
		t.Errorf("%d windows, want %d", len(gotWindows), len(windows))
	}
	var got []string
	for _, r := range gotPairs {
		var row struct {
			Tx  string `json:"tx_id"`
			ATM string `json:"atm_tx"`
		}
		if err := json.Unmarshal(r.Value, &row); err != nil {
			t.Fatal(err)
		}
		got = append(got, row.Tx+"+"+row.ATM)
	}
	slices.Sort(got)
	if !slices.Equal(got, pairs) {
		t.Errorf("%d pairs, want %d: got %v..., want %v...", len(got), len(pairs), got[:min(5, len(got))], pairs[:min(5, len(pairs))])
	}
}

// produceDeliveries produces 3000 transactions of 37 cards, 50ms apart, every seventh
// twice, to topic tx, and returns the unique rows of each card's window that a run over
// the topic fires (card/window-end -> rows) and the payment+withdrawal pairs, sorted.
func produceDeliveries(t *testing.T, brokers []string) (map[string]int, []string) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.DefaultProduceTopic("tx"))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	type tx struct {
		id, card, channel string
		ts                time.Time
	}
	base := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	var txs []tx
	windows := map[string]int{}
	var recs []*kgo.Record
	for i := range 3000 {
		x := tx{fmt.Sprintf("t%05d", i), fmt.Sprintf("c%02d", i%37), []string{"pos", "atm", "ecom"}[i/37%3], base.Add(time.Duration(i) * 50 * time.Millisecond)}
		txs = append(txs, x)
		v, _ := json.Marshal(map[string]any{"tx_id": x.id, "card_id": x.card, "channel": x.channel, "ts": x.ts.Format(time.RFC3339Nano), "amount": 1.5})
		recs = append(recs, &kgo.Record{Key: []byte(x.card), Value: v})
		if i%7 == 0 {
			recs = append(recs, &kgo.Record{Key: []byte(x.card), Value: v})
		}
		windows[fmt.Sprintf("%s/%s", x.card, x.ts.Truncate(10*time.Second).Add(10*time.Second).Format(time.RFC3339))]++
	}
	if err := cl.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	// The windows the watermark passes: the least over the partitions of their latest
	// event time, less 1s.
	partLatest := map[int32]time.Time{}
	for _, r := range recs {
		var row struct {
			TS time.Time `json:"ts"`
		}
		if err := json.Unmarshal(r.Value, &row); err != nil {
			t.Fatal(err)
		}
		if row.TS.After(partLatest[r.Partition]) {
			partLatest[r.Partition] = row.TS
		}
	}
	var wm time.Time
	for _, ts := range partLatest {
		if wm.IsZero() || ts.Before(wm) {
			wm = ts
		}
	}
	wm = wm.Add(-time.Second)
	for k := range windows {
		end, _ := time.Parse(time.RFC3339, k[len("c00/"):])
		if end.After(wm) {
			delete(windows, k)
		}
	}
	var pairs []string
	for _, p := range txs {
		for _, c := range txs {
			if p.channel == "pos" && c.channel == "atm" && p.card == c.card && !c.ts.Before(p.ts) && c.ts.Sub(p.ts) <= 5*time.Second {
				pairs = append(pairs, p.id+"+"+c.id)
			}
		}
	}
	slices.Sort(pairs)
	return windows, pairs
}

// TestAJoinNeedsBothTopicsOfItsKeyGroups checks that a worker given other key groups of a
// join's two topics is refused, naming both sets, and one given the same of both is not.
func TestAJoinNeedsBothTopicsOfItsKeyGroups(t *testing.T) {
	st := &Stage{Name: "pairs", Inputs: []*Exchange{{Topic: "millrace.p.pairs.0"}, {Topic: "millrace.p.pairs.1"}}}
	same := map[string][]int32{"millrace.p.pairs.0": {0, 1, 2}, "millrace.p.pairs.1": {0, 1, 2}}
	if err := coPartitioned(st, same); err != nil {
		t.Errorf("the same key groups of both: %v", err)
	}
	other := map[string][]int32{"millrace.p.pairs.0": {0, 1, 2}, "millrace.p.pairs.1": {0, 1, 3}}
	err := coPartitioned(st, other)
	want := `step "pairs" joins topics millrace.p.pairs.0 and millrace.p.pairs.1, but the group gave this worker key groups millrace.p.pairs.0/0-2 of one and millrace.p.pairs.1/0-1,3 of the other`
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("other key groups of each: %v, want %q", err, want)
	}
}
