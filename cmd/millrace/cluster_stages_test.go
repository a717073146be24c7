//go:build linux

package main

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"millrace/cluster"
	"millrace/kafka"
)

// stagesClusterSpec drops repeated deliveries of a transaction (a keyed stage by tx_id),
// then counts each card's unique transactions in windows (a keyed stage by card_id fed by
// the first keyed stage) and pairs each card's payments with its withdrawals within 30
// minutes after (a join of two exchanges), produced to the topics PREFIX-velocity and
// PREFIX-large and written as part files under FILES/PREFIX: the pairs as Parquet in Hive
// partitions by the withdrawal's country, the windows as JSONL. Its sink names are those
// of clusterSpec, so the fixture checks both alike.
const stagesClusterSpec = `
name: ctest
sources:
  tx:
    %s
    schema: transaction
    event_time: ts
    watermark: 2s
views:
  unique:
    from: tx
    dedup: {key: tx_id, within: 1h}
  velocity:
    from: unique
    group_by: [card_id]
    window: {tumble: 10s}
    select: {tx_count: count(*), spend: sum(amount)}
  payments:
    from: unique
    where: channel IN ('pos', 'ecom')
    select: {card_id: card_id, tx_id: tx_id, ts: ts, amount: amount}
  cash:
    from: unique
    where: channel = 'atm'
    select: {card_id: card_id, atm_tx: tx_id, ts: ts, cash_amount: amount, region: country}
  large:
    from: payments
    join: {stream: cash, on: card_id, within: [0s, 30m]}
    select: {tx_id: tx_id, atm_tx: atm_tx, card_id: card_id, amount: amount, cash_amount: cash_amount, region: region}
sinks:
  velocity_out: {from: velocity, kind: kafka, brokers: ["${BROKERS}"], topic: "${PREFIX}-velocity", key: card_id, create: {partitions: 2}}
  large_out: {from: large, kind: kafka, brokers: ["${BROKERS}"], topic: "${PREFIX}-large", key: card_id, create: {partitions: 2}}
  large_files: {from: large, kind: parquet, path: "${FILES}/${PREFIX}/large", partition_by: [region]}
  velocity_files: {from: velocity, kind: jsonl, path: "${FILES}/${PREFIX}/velocity"}
`

// TestClusterStagesSurviveKillsAndRescaling runs a window after a dedup and a join of two
// exchanges on three worker processes over an 8-partition topic fed in parts, with
// duplicates and disorder within the watermark: one worker is killed with SIGKILL and the
// two others take its key groups of every stage over; a fourth joins, two leave
// gracefully. The output topics (read_committed) and the file sinks equal what one process
// makes of the same transactions, row for row.
func TestClusterStagesSurviveKillsAndRescaling(t *testing.T) {
	rows := 16_000
	// The kills come once these shares of the joined rows are committed; a long run draws
	// them and reads two million transactions.
	at := []float64{0.125, 0.4, 0.6}
	if *crashLong {
		rows = 2_000_000
		seed := time.Now().UnixNano()
		rnd := rand.New(rand.NewPCG(uint64(seed), 0))
		at = []float64{0.05 + 0.2*rnd.Float64(), 0.3 + 0.25*rnd.Float64(), 0.58 + 0.02*rnd.Float64()}
		t.Logf("kills at %.3f, %.3f, %.3f of the output (seed %d)", at[0], at[1], at[2], seed)
	}
	f := newTopicFixture(t, stagesClusterSpec, rows, 8, "--dup-rate", "0.02", "--disorder", "1s")
	// Four exchanges of 256 key groups: a checkpoint writes a state object per key group
	// of each, so the workers checkpoint less often than the other tests' do.
	f.workerArgs = []string{"--checkpoint-interval", "400ms"}
	// How many pairs the cluster has made once it has read the topic up to a share of the
	// transactions: those whose payment and withdrawal both come before.
	paired := pairedBy(t, f)
	share := func(x, produced float64) int { return int(x / produced * float64(paired(produced))) }
	t.Logf("the single process paired %d payments and withdrawals and fired %d windows", len(f.wantLarge), len(f.allVelocity))
	f.produce(t, 0.3)
	a, b, c := f.startWorker(t, "a"), f.startWorker(t, "b"), f.startWorker(t, "c")
	f.waitCommitted(t, "got-large", share(at[0], 0.3), a, b, c)
	f.waitJoined(t, "a", "b", "c")
	b.kill(t)
	f.produce(t, 0.6)
	f.waitCommitted(t, "got-large", share(at[1], 0.6), a, c)
	d := f.startWorker(t, "d")
	f.produce(t, 0.8)
	f.waitCommitted(t, "got-large", share(at[2], 0.8), a, c, d)
	a.stop(t)
	c.stop(t)
	f.produce(t, 1)
	f.expect(t)
	f.waitCommitted(t, "got-large", len(f.wantLarge), d)
	f.waitCommitted(t, "got-velocity", len(f.wantVelocity), d)
	d.stop(t)
	f.check(t)
}

// pairedBy returns how many of the single process's pairs have both their transactions
// among the first share of the fixture's lines.
func pairedBy(t *testing.T, f *clusterFixture) func(share float64) int {
	t.Helper()
	line := map[string]int{} // tx_id -> the first line that holds it
	for i, l := range f.lines {
		var row struct {
			ID string `json:"tx_id"`
		}
		if err := json.Unmarshal(l, &row); err != nil {
			t.Fatal(err)
		}
		if _, ok := line[row.ID]; !ok {
			line[row.ID] = i
		}
	}
	last := make([]int, len(f.wantLarge)) // the line after which each pair can be made
	for i, v := range f.wantLarge {
		var row struct {
			Tx  string `json:"tx_id"`
			ATM string `json:"atm_tx"`
		}
		if err := json.Unmarshal([]byte(v), &row); err != nil {
			t.Fatal(err)
		}
		last[i] = max(line[row.Tx], line[row.ATM])
	}
	return func(share float64) int {
		end, n := int(share*float64(len(f.lines))), 0
		for _, l := range last {
			if l < end {
				n++
			}
		}
		return n
	}
}

// TestPaymentCashoutExampleOnTwoWorkers runs examples/payment-cashout.yaml, a dedup and an
// interval join over a file of transactions, on two worker processes: the file is one
// split, its rows cross two exchanges into the join, and the part files the workers
// publish hold the rows one process writes.
func TestPaymentCashoutExampleOnTwoWorkers(t *testing.T) {
	example, err := filepath.Abs("../../examples/payment-cashout.yaml")
	if err != nil {
		t.Fatal(err)
	}
	f := &clusterFixture{dir: t.TempDir(), spec: example}
	f.brokers, f.groups = newWatchedCluster(t, "", 0)
	tx := filepath.Join(f.dir, "tx.jsonl")
	mustRun(t, "gen", "--rows", "20000", "--disorder", "2s", "--dup-rate", "0.01", "--out", tx)
	t.Setenv("TX_PATH", tx)
	plan := mustRun(t, "plan", "--cluster", example)
	for _, want := range []string{"stage 1: unique", "co-partitioned", "reads topic millrace.payment-cashout.cashouts.1"} {
		if !strings.Contains(plan, want) {
			t.Errorf("plan --cluster lacks %q:\n%s", want, plan)
		}
	}
	one := filepath.Join(f.dir, "one")
	if err := os.Mkdir(one, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Chdir(one)
	mustRun(t, "run", example, "-p", "2", "--listen", "", "--no-checkpoint")
	want := sinkRows(t, filepath.Join(one, "out", "payment-cashout", "cashouts"))
	if len(want) == 0 {
		t.Fatal("one process joined nothing")
	}
	a, b := f.startWorker(t, "a"), f.startWorker(t, "b")
	got := filepath.Join(f.dir, "out", "payment-cashout", "cashouts")
	fol, err := cluster.FollowStatus(context.Background(), kafka.Conn{Brokers: f.brokers}, "payment-cashout", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = fol.Close() }()
	for len(publishedRows(t, got)) < len(want) { // looked at each time a worker publishes its status
		select {
		case <-fol.Changed():
		case err := <-a.done:
			t.Fatalf("worker a ended by itself: %v\n%s", err, a.stderr.String())
		case err := <-b.done:
			t.Fatalf("worker b ended by itself: %v\n%s", err, b.stderr.String())
		}
	}
	a.stop(t)
	b.stop(t)
	if got := sinkRows(t, got); !slices.Equal(got, want) {
		t.Errorf("the workers wrote %d cashouts, one process %d; first difference: %s", len(got), len(want), firstDifference(got, want))
	}
}

// publishedRows reads the rows of the part files published under dir, which may not exist
// yet.
func publishedRows(t *testing.T, dir string) []string {
	t.Helper()
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return sinkRows(t, dir)
}
