package main

import (
	"fmt"
	"os"
	"runtime"

	"github.com/spf13/cobra"

	"millrace/bench"
)

func newBenchAlertsCmd() *cobra.Command {
	o := bench.DefaultAlertsOptions()
	o.Parallelism = runtime.GOMAXPROCS(0)
	cmd := &cobra.Command{
		Use:   "alerts",
		Short: "Measure the time from a transaction's produce to its fraud alert, at half the maximum rate or a fixed one",
		Long: `alerts runs examples/fraud-kafka.yaml (features per card, account and merchant, the fraud
model's score, the rules) against a Kafka cluster in this process, and measures how long
an alert takes to be seen.

First it produces --max-rows transactions (0.5% fraud) to the topic tx and runs the
pipeline over them to find the rate it sustains. Then, for each way of producing the
alerts (exactly once with commit: batch, exactly once with commit: checkpoint, at least
once), it runs the pipeline afresh with checkpoints every --checkpoint-interval and
produces transactions for --load at --load-factor of that rate, each when its event time
is due, noting when it was produced; a read_committed consumer of the topic fraud-alerts
notes when each alert arrives. It prints, per variant, the transactions and alerts and
the alerts' latency from the transaction's produce: p50, p99 and max.

--rate N produces N transactions/s instead and skips measuring the maximum, so that two
builds can be compared at the same rate.

Then, per variant, where the time went: from the transaction's produce to its read by the
source (the oldest of each batch, by the record's timestamp), to the alert's produce (the
source's fetch, the pipeline and the watermark's hold) and from the alert's produce to its
read (the sink's commit and the consumer's fetch), by the alert record's timestamp; the
mean time the engine's latency markers took from the source to each step (its queues);
the mean time each features step held a transaction until the watermark released it;
and the mean time a checkpoint held each step that keeps state while it took its part.

The producer, the broker, the pipeline and the consumer share this machine's cores. The
model and rules are read from --fraud-dir (models/fraud.xgb, rules/fraud.yaml). A
transaction's features, and so its alert, wait until the watermark passes its event time:
--watermark replaces the example's 0 s (the generated input is in event-time order;
real input with disorder needs more, which every alert then waits for).`,
		Example: `  millrace bench alerts
  millrace bench alerts --max-rows 50000 --load 3s -p 1
  millrace bench alerts --rate 2000`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dir, err := os.MkdirTemp("", "millrace-bench-alerts-")
			if err != nil {
				return err
			}
			defer func() { _ = os.RemoveAll(dir) }() // a leftover temporary directory is harmless
			o.Dir, o.Log = dir, cmd.ErrOrStderr()
			r, err := bench.Alerts(cmd.Context(), o)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "%s\n\nwhere the time goes, while the transactions were produced:\n%s\n", r, r.Breakdown())
			return err
		},
	}
	f := cmd.Flags()
	f.Int64Var(&o.MaxRows, "max-rows", o.MaxRows, "transactions to measure the maximum rate over")
	f.DurationVar(&o.Load, "load", o.Load, "how long each variant produces at the paced rate")
	f.Float64Var(&o.LoadFactor, "load-factor", o.LoadFactor, "the paced rate's share of the maximum")
	f.Float64Var(&o.Rate, "rate", o.Rate, "transactions/s to produce at, in place of a share of the maximum (not measured then)")
	f.DurationVar(&o.CheckpointInterval, "checkpoint-interval", o.CheckpointInterval, "how often the pipeline takes checkpoints")
	f.DurationVar(&o.Watermark, "watermark", o.Watermark, "the source's allowed disorder, in place of the example's")
	f.StringVar(&o.FraudDir, "fraud-dir", o.FraudDir, "the directory of models/fraud.xgb and rules/fraud.yaml")
	f.Int64Var(&o.Seed, "seed", o.Seed, "the generator's seed")
	f.IntVarP(&o.Parallelism, "parallelism", "p", o.Parallelism, "subtasks per parallel step")
	return cmd
}
