package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"millrace/engine"
	"millrace/format"
	"millrace/gen"
	"millrace/job"
	"millrace/plan"
	"millrace/spec"
)

// txSpec is the transaction benchmark: JSONL decode with checks, three windowed views and
// Parquet sinks.
const txSpec = `
name: bench-tx
sources:
  tx:
    kind: file
    path: ${BENCH_INPUT}
    schema: transaction
    event_time: ts
    watermark: 5s
    checks: ["amount > 0", "length(currency) = 3"]
views:
  velocity:
    from: tx
    group_by: [card_id]
    window: {hop: 10m, every: 5m}
    select: {tx_count: count(*), spend: sum(amount)}
  merchant_volume:
    from: tx
    group_by: [merchant_id, country]
    window: {tumble: 1m}
    select: {tx_count: count(*), volume: sum(amount), top: max(amount)}
  country_minute:
    from: tx
    group_by: [country, channel]
    window: {tumble: 1m}
    select: {tx_count: count(*), volume: sum(amount), cards: approx_count_distinct(card_id)}
sinks:
  velocity: {from: velocity, kind: parquet, path: "${BENCH_OUT}/velocity"}
  volume:   {from: merchant_volume, kind: parquet, path: "${BENCH_OUT}/merchant_volume"}
  country:  {from: country_minute, kind: parquet, path: "${BENCH_OUT}/country_minute"}
`

// inputFiles is how many JSONL files the benchmark's rows are spread over, whatever the
// parallelism, so runs at different parallelisms read the same rows.
const inputFiles = 4

// Transactions generates rows transactions as JSONL files under dir (not timed), then runs
// the transaction benchmark over them with parallelism p (0: every core) and times it.
// With a positive checkpointEvery it takes checkpoints that often under dir, as run does,
// to measure what exactly-once costs.
func Transactions(ctx context.Context, dir string, rows int64, p int, checkpointEvery time.Duration) (Result, error) {
	if p <= 0 {
		p = runtime.GOMAXPROCS(0)
	}
	cfg := gen.DefaultConfig()
	cfg.Rows, cfg.Disorder, cfg.Partitions = rows, 2*time.Second, inputFiles
	for part := range inputFiles {
		cfg.Partition = part
		f, err := format.CreateFile(filepath.Join(dir, "in", fmt.Sprintf("tx-%d.jsonl", part)))
		if err != nil {
			return Result{}, err
		}
		if _, err := gen.Write(ctx, cfg, f, format.JSONL, format.WriteOptions{}, nil); err != nil {
			f.Abort()
			return Result{}, err
		}
		if err := f.Close(); err != nil {
			return Result{}, err
		}
	}
	vars := map[string]string{"BENCH_INPUT": filepath.Join(dir, "in", "*.jsonl"), "BENCH_OUT": filepath.Join(dir, "out")}
	s, err := spec.Parse([]byte(txSpec), "bench-tx.yaml", func(k string) (string, bool) { v, ok := vars[k]; return v, ok })
	if err != nil {
		return Result{}, err
	}
	pl, err := plan.Build(s, plan.Options{Parallelism: p, Stdout: os.Stdout})
	if err != nil {
		return Result{}, err
	}
	opts := job.Options{Plan: pl, Engine: engine.DefaultOptions(), Holder: "millrace bench tx"}
	if checkpointEvery > 0 {
		opts.Checkpoints = &job.Checkpointing{Dir: filepath.Join(dir, "checkpoints"), Interval: checkpointEvery, Retain: 2, Fresh: true, Discard: true}
	}
	var l plan.Ledger
	opts.Ran = func(ledger plan.Ledger) { l = ledger }
	start := time.Now()
	if err := job.New(opts).Run(ctx); err != nil {
		return Result{}, err
	}
	if !l.Balanced() || l.Sources[0].Read != rows {
		return Result{}, fmt.Errorf("bench tx: ledger does not balance:\n%s", l)
	}
	var out int64
	for _, v := range l.Views {
		out += v.Out
	}
	return Result{Name: "transactions", Events: rows, Rows: out, Elapsed: time.Since(start), Cores: runtime.GOMAXPROCS(0)}, nil
}
