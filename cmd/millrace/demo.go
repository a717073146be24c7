package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"millrace/engine"
	"millrace/examples"
	"millrace/plan"
	"millrace/spec"
)

func newDemoCmd() *cobra.Command {
	var (
		dir         string
		rate, speed float64
		seed        int64
		duration    time.Duration
		parallelism int
		listen      string
	)
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run the live demo pipeline on generated transactions",
		Long: `demo runs a live pipeline on generated card transactions, paced along the daily curve in
real time (--speed 60 runs an hour of event time per minute), until Ctrl-C or --duration:

  velocity          spend, count and distinct merchants per card over the last minute
  merchant_volume   volume and fraud per merchant and country per minute
  large             transactions of 1000 or more

Results go under --dir as Parquet and JSONL part files, published as they roll; records the
checks refuse go to dead_letters/, records behind the watermark to late/. Every few seconds
demo prints what it has read and written; at the end, the ledger. The spec is
examples/demo.yaml: copy it and change it.`,
		Example: `  millrace demo
  millrace demo --speed 60 --duration 2m`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			text, err := examples.Specs.ReadFile("demo.yaml")
			if err != nil {
				return err
			}
			vars := map[string]string{
				"MILLRACE_DEMO_DIR":   dir,
				"MILLRACE_DEMO_RATE":  strconv.FormatFloat(rate, 'g', -1, 64),
				"MILLRACE_DEMO_SPEED": strconv.FormatFloat(speed, 'g', -1, 64),
				"MILLRACE_DEMO_SEED":  strconv.FormatInt(seed, 10),
			}
			s, err := spec.Parse(text, "examples/demo.yaml", func(k string) (string, bool) { v, ok := vars[k]; return v, ok })
			if err != nil {
				return usageError{err}
			}
			p, err := plan.Build(s, plan.Options{Parallelism: parallelism, Stdout: cmd.OutOrStdout()})
			if err != nil {
				return usageError{err}
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "demo: %s transactions/s on average, %gx real time, results under %s/\n", humanRate(rate), speed, dir)
			fmt.Fprintf(out, "      %d steps on %d cores; Ctrl-C stops and publishes what was written\n", len(p.Steps), parallelism)
			mon, _, stopMetrics, err := serveMetrics(cmd, listen, p, time.Duration(float64(24*time.Hour)/speed))
			if err != nil {
				return err
			}
			defer stopMetrics()
			opts := engine.DefaultOptions()
			opts.Monitor = mon
			stop := make(chan struct{})
			opts.Stop = stop
			interrupted := gracefulStop(cmd.Context())
			go func() {
				var timeout <-chan time.Time
				if duration > 0 {
					timeout = time.After(duration)
				}
				select {
				case <-interrupted:
				case <-timeout:
				case <-cmd.Context().Done():
				}
				close(stop)
			}()
			opts.ProgressEvery = 5 * time.Second
			opts.Progress = func(st *engine.Stats) { printDemoProgress(out, p, st) }
			stats, err := engine.Run(cmd.Context(), p.Graph, opts)
			if stats != nil {
				fmt.Fprintf(out, "\nran %s\n%s", stats.Elapsed.Round(time.Second), p.Ledger(stats))
			}
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
  %[1]s plan examples/demo.yaml       # the dataflow behind it
  duckdb -c "SELECT card_id, window_end, tx_count, spend FROM '%[2]s/velocity/*/*.parquet' ORDER BY spend DESC LIMIT 10"
`, self, dir, filepath.Join(dir, "alerts", "*.jsonl"))
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "millrace-demo", "directory to write results into")
	cmd.Flags().Float64Var(&rate, "rate", 2000, "mean transactions per second of event time")
	cmd.Flags().Float64Var(&speed, "speed", 1, "event time runs this many times faster than the clock")
	cmd.Flags().Int64Var(&seed, "seed", 1, "random seed of the generator")
	cmd.Flags().DurationVar(&duration, "duration", 0, "stop after this long (default: until Ctrl-C)")
	cmd.Flags().IntVarP(&parallelism, "parallelism", "p", 2, "subtasks per parallel step")
	addListenFlag(cmd, &listen)
	return cmd
}

// printDemoProgress prints one line of what the demo has done so far.
func printDemoProgress(w io.Writer, p *plan.Plan, st *engine.Stats) {
	line := fmt.Sprintf("%6s  read %s", st.Elapsed.Round(time.Second), humanInt(sourceRead(p, st)))
	for _, v := range p.Views {
		n, _ := st.Node(v.Last)
		line += fmt.Sprintf("  %s %s", v.Name, humanInt(n.RowsOut))
	}
	fmt.Fprintln(w, line)
}

// sourceRead is the number of records the plan's sources have read.
func sourceRead(p *plan.Plan, st *engine.Stats) int64 {
	var n int64
	for _, s := range p.Sources {
		r, _ := st.Node(s)
		n += r.Read
	}
	return n
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
