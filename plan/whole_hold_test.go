package plan

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"millrace/engine"
	"millrace/gen"
	"millrace/spec"
)

// TestGroupByWithoutWindowFoldsBeforeTheExchangeAndResumes aggregates transactions per
// merchant over the whole input, once without checkpoints and once stopped at a checkpoint
// and resumed at another parallelism. The partial phase holds its groups between batches, so
// far fewer states than rows cross the exchange; it hands them on at every barrier, so the
// stopped and resumed run, whose checkpoints must not lose what the partial phase held,
// writes the same table.
func TestGroupByWithoutWindowFoldsBeforeTheExchangeAndResumes(t *testing.T) {
	if testing.Short() {
		t.Skip("aggregates 200,000 transactions in three runs")
	}
	dir := t.TempDir()
	cfg := gen.DefaultConfig()
	cfg.Rows, cfg.Seed, cfg.Partitions = 200_000, 9, 1
	input := writeTx(t, dir, cfg)
	const text = `
name: hold
sources:
  tx: {kind: file, path: %s, schema: transaction}
views:
  per_merchant:
    from: tx
    group_by: [merchant_id]
    select:
      tx_count: count(*)
      volume: sum(amount)
      cards: approx_count_distinct(card_id)
      p99: quantile(amount, 0.99)
sinks:
  out: {from: per_merchant, kind: jsonl, path: %s}
`
	build := func(out string, p int) *Plan {
		t.Helper()
		s, err := spec.Parse([]byte(fmt.Sprintf(text, input, out)), "hold.yaml", nil)
		if err != nil {
			t.Fatal(err)
		}
		pl, err := Build(s, Options{Parallelism: p})
		if err != nil {
			t.Fatal(err)
		}
		return pl
	}

	whole := filepath.Join(dir, "whole")
	stats, err := engine.Run(context.Background(), build(whole, 2).Graph, engine.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	final, ok := stats.Node("per_merchant")
	if !ok {
		t.Fatal("no node per_merchant")
	}
	want := tableLines(t, whole)
	if final.RowsIn > 4*int64(len(want)) {
		t.Fatalf("%d partial states crossed the exchange for %d merchants in %d rows: the partial phase did not hold its groups",
			final.RowsIn, len(want), cfg.Rows)
	}

	resumed := filepath.Join(dir, "resumed")
	var last *engine.Snapshot
	for i, p := range []int{3, 2} {
		stop := make(chan struct{})
		opts := engine.DefaultOptions()
		opts.Stop = stop
		stopAt := uint64(2)
		if last != nil {
			stopAt += last.ID
		}
		done := i == 1
		opts.Checkpointing = &engine.Checkpointing{Interval: time.Millisecond, Restore: last, Complete: func(s *engine.Snapshot) error {
			last = s
			if s.ID == stopAt && !done {
				close(stop)
			}
			return nil
		}}
		if _, err := engine.Run(context.Background(), build(resumed, p).Graph, opts); err != nil {
			t.Fatalf("run %d at parallelism %d: %v", i, p, err)
		}
		if !done && last.Final {
			t.Fatalf("the run at parallelism %d read to its end before checkpoint %d stopped it", p, stopAt)
		}
	}
	if got := tableLines(t, resumed); !slices.Equal(got, want) {
		t.Fatalf("stopped and resumed: %d rows, want %d; %s", len(got), len(want), firstDifference(got, want))
	}
}

// tableLines renders the rows of the JSONL part files in dir, one string a row, sorted.
func tableLines(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	for _, m := range sinkLines(t, dir) {
		out = append(out, fmt.Sprint(m))
	}
	slices.Sort(out)
	return out
}
