package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"millrace/engine"
	"millrace/examples"
	"millrace/job"
	"millrace/plan"
	"millrace/spec"
	"millrace/tally"
)

func newDemoCmd() *cobra.Command {
	var (
		dir         string
		rate, speed float64
		seed        int64
		duration    time.Duration
		parallelism int
		listen      listenFlags
		auto        autoscaleFlags
		mem         memoryBudgetFlag
		onCluster   bool
	)
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run the live demo pipeline on generated transactions",
		Long: `demo runs a live pipeline on generated card transactions, paced along the daily curve in
real time (--speed 60 runs an hour of event time per minute), until Ctrl-C or --duration:

  velocity          spend, count and distinct merchants per card over the last minute
  merchant_volume   volume and fraud per merchant and country per minute
  large             transactions of 1000 or more
  card              features from each card's history (docs/fraud.md)
  fraud             an alert per rule of --dir/rules/demo.yaml a transaction matches, with
                    its reason

Results go under --dir as Parquet and JSONL part files, published at every checkpoint (5s);
records the checks refuse go to dead_letters/, records behind the watermark to late/. Every
few seconds demo prints what it has read and written; at the end, the ledger. The spec is
examples/demo.yaml: copy it and change it. The rules file --dir/rules/demo.yaml is
reloaded when it changes (at the next checkpoint): edit it while the demo runs. The
dashboard's fraud panel shows the alerts per minute by rule and by fraud scenario, the
latest alerts, and how well each rule catches the generator's labelled fraud.

The load follows the day: quiet at night but for a surge at 03:00, busy at midday and in
the evening. The scaling advisor measures what one subtask per step carries, forecasts the
input and changes the parallelism ahead of the load (between --min-parallelism and
--max-parallelism; --autoscale=false only advises). The dashboard shows each decision and
why. With --speed 60 a day passes in 24 minutes; above --speed 15 the default --rate shrinks
to 20000/speed, so that the load fits a laptop's cores.

With --cluster the demo runs across processes: it starts a development broker (an in-memory
Kafka inside the demo's process, not for production), feeds the generated transactions to
its topic tx, and runs the same pipeline (every view above) on worker processes as
millrace cluster up does, starting and stopping them as the cluster's advice
says, between --min-parallelism and --max-parallelism workers (--autoscale=false keeps
--min-parallelism workers and only advises). Worker w1 serves the dashboard
on --listen, w2 on the next port, and so on; any of them shows the whole cluster. There the
day starts at 01:00 and the feed averages 2000 transactions/s of the clock, each worker sized
for that mean: the advice meets the first night's surge late, remembers it, and on every
night after adds workers before it (at --speed 120, 13 minutes after the start).`,
		Example: `  millrace demo
  millrace demo --speed 60          # a day in 24 minutes: watch the scaling on the dashboard
  millrace demo --speed 60 --duration 2m --autoscale=false
  millrace demo --cluster --speed 120 # workers added before the nightly surge`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !cmd.Flags().Changed("rate") && speed > 15 {
				rate = 20000 / speed
			}
			if onCluster {
				return runDemoCluster(cmd, dir, rate, speed, seed, duration, auto, &listen)
			}
			text, err := examples.Specs.ReadFile("demo.yaml")
			if err != nil {
				return err
			}
			fraudDir, err := writeDemoRules(dir)
			if err != nil {
				return err
			}
			vars := map[string]string{
				"FRAUD_DIR":           fraudDir,
				"MILLRACE_DEMO_DIR":   dir,
				"MILLRACE_DEMO_RATE":  strconv.FormatFloat(rate, 'g', -1, 64),
				"MILLRACE_DEMO_SPEED": strconv.FormatFloat(speed, 'g', -1, 64),
				"MILLRACE_DEMO_SEED":  strconv.FormatInt(seed, 10),
			}
			s, err := spec.Parse(text, "examples/demo.yaml", func(k string) (string, bool) { v, ok := vars[k]; return v, ok })
			if err != nil {
				return usageError{err}
			}
			chk := &job.Checkpointing{Dir: filepath.Join(dir, ".checkpoints"), Interval: 5 * time.Second, Retain: 2, Fresh: true, Discard: true}
			if err := auto.check(parallelism, true); err != nil {
				return err
			}
			var alerts *tally.Board // one for every plan of the demo, which the dashboard shows
			build := func(n int) (*plan.Plan, error) {
				p, err := plan.Build(s, plan.Options{Parallelism: n, Partitions: max(auto.max, parallelism), Stdout: cmd.OutOrStdout(), Alerts: alerts})
				if err != nil {
					return nil, usageError{err}
				}
				return p, nil
			}
			p, err := build(parallelism)
			if err != nil {
				return err
			}
			alerts = p.Alerts
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "demo: %s transactions/s on average, %gx real time, results under %s/\n", humanRate(rate), speed, dir)
			scaling := "; --autoscale to follow the scaling advisor"
			if auto.on {
				scaling = fmt.Sprintf(", scaled between %d and %d by the advisor", auto.min, auto.max)
			}
			fmt.Fprintf(out, "      %d steps at parallelism %d%s; Ctrl-C stops and publishes what was written\n", len(p.Steps), parallelism, scaling)
			mon, advisor, stopWatching, err := watchRun(cmd, &listen, p, advisorConfig(speed, parallelism, auto))
			if err != nil {
				return err
			}
			defer stopWatching()
			opts := job.Options{Plan: p, Build: build, Checkpoints: chk, Restarts: job.DefaultBackoff(), Advisor: advisor,
				Engine: engine.DefaultOptions(), Log: out, Holder: "millrace " + strings.Join(os.Args[1:], " ")}
			if err := mem.apply(&opts.Engine); err != nil {
				return err
			}
			if auto.on {
				opts.Scaler = newScaler(advisor, parallelism)
			}
			opts.Engine.Monitor = mon
			stop, release := stopAfter(cmd.Context(), duration)
			defer release()
			opts.Engine.Stop = stop
			opts.Engine.ProgressEvery = 5 * time.Second
			var j *job.Job
			opts.Engine.Progress = func(st *engine.Stats) { printDemoProgress(out, time.Since(j.Started()), j.Ledger(st)) }
			var ledger plan.Ledger
			opts.Ran = func(l plan.Ledger) { ledger = l }
			j = job.New(opts)
			err = j.Run(cmd.Context())
			fmt.Fprintf(out, "\nran %s\n%s", time.Since(j.Started()).Round(time.Second), ledger)
			if err != nil {
				return err
			}
			self := "millrace"
			if _, err := os.Stat("cmd/millrace"); err == nil {
				self = "go run ./cmd/millrace"
			}
			fmt.Fprintf(out, `
look at it:
  ls -R %[2]s
  head -3 %[3]s
  head -3 %[4]s
  %[1]s plan examples/demo.yaml       # the dataflow behind it
  duckdb -c "SELECT card_id, window_end, tx_count, spend FROM '%[2]s/velocity/*/*.parquet' ORDER BY spend DESC LIMIT 10"
`, self, dir, filepath.Join(dir, "alerts", "*.jsonl"), filepath.Join(dir, "fraud_alerts", "*.jsonl"))
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "millrace-demo", "directory to write results into")
	cmd.Flags().Float64Var(&rate, "rate", 2000, "mean transactions per second of event time (above --speed 15: 20000/speed)")
	cmd.Flags().Float64Var(&speed, "speed", 1, "event time runs this many times faster than the clock")
	cmd.Flags().Int64Var(&seed, "seed", 1, "random seed of the generator")
	cmd.Flags().DurationVar(&duration, "duration", 0, "stop after this long (default: until Ctrl-C)")
	cmd.Flags().IntVarP(&parallelism, "parallelism", "p", 1, "subtasks per parallel step to start with")
	cmd.Flags().BoolVar(&onCluster, "cluster", false, "run the demo on worker processes sharing a development Kafka broker inside this process, as many as the cluster's advice asks for (within --min-parallelism and --max-parallelism); see millrace cluster up")
	listen.add(cmd)
	auto.add(cmd, true)
	mem.add(cmd)
	return cmd
}

// stopAfter returns the graceful stop of a demo, closed on the first Ctrl-C, or after
// duration when it is positive, and a function that ends its goroutine and waits for it.
func stopAfter(ctx context.Context, duration time.Duration) (<-chan struct{}, func()) {
	interrupted := gracefulStop(ctx)
	stop, released, done := make(chan struct{}), make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		var timeout <-chan time.Time
		if duration > 0 {
			t := time.NewTimer(duration)
			defer t.Stop()
			timeout = t.C
		}
		select {
		case <-interrupted:
		case <-timeout:
		case <-ctx.Done():
		case <-released:
			return
		}
		close(stop)
	}()
	return stop, func() {
		close(released)
		<-done
	}
}

// printDemoProgress prints one line of what the demo has done so far.
func printDemoProgress(w io.Writer, elapsed time.Duration, l plan.Ledger) {
	var read int64
	for _, s := range l.Sources {
		read += s.Read
	}
	line := fmt.Sprintf("%6s  read %s", elapsed.Round(time.Second), humanInt(read))
	for _, v := range l.Views {
		line += fmt.Sprintf("  %s %s", v.Name, humanInt(v.Out))
	}
	fmt.Fprintln(w, line)
}

// inputBytes is the bytes of input the plan's sources hold and have read; ok is false
// unless every source knows its size, as file sources do.
func inputBytes(p *plan.Plan, st *engine.Stats) (total, read int64, ok bool) {
	for _, s := range p.Sources {
		r, _ := st.Node(s)
		if r.InputBytes <= 0 {
			return 0, 0, false
		}
		total += r.InputBytes
		read += r.InputBytesRead
	}
	return total, read, len(p.Sources) > 0
}
