package main

import (
	"errors"
	"fmt"
	"runtime"
	"time"

	"github.com/spf13/cobra"

	"millrace/engine"
	"millrace/plan"
	"millrace/spec"
)

// stopped tells whether a graceful stop was asked for.
func stopped(stop <-chan struct{}) bool {
	select {
	case <-stop:
		return true
	default:
		return false
	}
}

// buildPlan loads and plans a spec; spec mistakes are usage errors (exit status 2).
func buildPlan(cmd *cobra.Command, path string, parallelism int) (*plan.Plan, error) {
	s, err := spec.Load(path)
	if err == nil {
		var p *plan.Plan
		if p, err = plan.Build(s, plan.Options{Parallelism: parallelism, Stdout: cmd.OutOrStdout()}); err == nil {
			return p, nil
		}
	}
	if errors.Is(err, spec.ErrInvalid) {
		return nil, usageError{err}
	}
	return nil, err
}

func newPlanCmd() *cobra.Command {
	var asJSON bool
	var parallelism int
	cmd := &cobra.Command{
		Use:   "plan SPEC.yaml",
		Short: "Check a pipeline spec and print its dataflow",
		Long: `plan reads a pipeline spec, checks it (every key, type, column and function), and prints
the physical dataflow: each step with its parallelism, what it computes, where its input
comes from and how it is partitioned (forward, rebalance, or hashed by key), and its columns.
A mistake in the spec is one line naming file, line and key path, with exit status 2.`,
		Example: `  millrace plan examples/card-velocity.yaml
  millrace plan examples/card-velocity.yaml --json | jq '.steps[].name'`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := buildPlan(cmd, args[0], parallelism)
			if err != nil {
				return err
			}
			if asJSON {
				b, err := p.JSON()
				if err != nil {
					return err
				}
				_, err = fmt.Fprintln(cmd.OutOrStdout(), string(b))
				return err
			}
			_, err = fmt.Fprint(cmd.OutOrStdout(), p.String())
			return err
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the plan as JSON")
	cmd.Flags().IntVarP(&parallelism, "parallelism", "p", runtime.GOMAXPROCS(0), "subtasks per parallel step")
	return cmd
}

func newRunCmd() *cobra.Command {
	var parallelism int
	var listen string
	var cp checkpointFlags
	cmd := &cobra.Command{
		Use:   "run SPEC.yaml",
		Short: "Run a pipeline",
		Long: `run executes a pipeline spec on every core: sources are read in parallel, views computed
with keyed exchanges and event-time windows, results written to the sinks. Bounded input
(files) ends with a final watermark that fires every open window, so the answers are
complete. At the end run prints the ledger: every record read is accounted for as accepted,
rejected (dead letters) or late, and every view's input as kept or filtered.

Checkpoints make the run exactly-once: every --checkpoint-interval the sources record
where they stand and every step its state, in --checkpoint (default
./.millrace/PIPELINE/), and sinks publish their files only once a checkpoint holding them
is durable. A run that was killed or stopped resumes from its newest checkpoint: nothing
is lost and nothing written twice. After a run that finished, the next starts afresh;
--fresh starts over anyway. A view whose definition changed starts with fresh state while
the others keep theirs; a changed source or sink, or another parallelism, is refused.

A run that fails (a sink cannot write, say) starts again from its newest checkpoint, up to
--restarts times, waiting --restart-backoff, then twice as long each time (at most 30s,
with jitter); then it stops with the error, and the next run resumes.

Ctrl-C (or SIGTERM) stops the run with a last checkpoint, from which the next run goes
on; a second Ctrl-C aborts.`,
		Example: `  millrace run examples/card-velocity.yaml
  millrace run examples/merchant-daily.yaml -p 2 --listen 127.0.0.1:9100
  millrace run examples/card-velocity.yaml --checkpoint-interval 2s
  millrace run examples/card-velocity.yaml --fresh`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := buildPlan(cmd, args[0], parallelism)
			if err != nil {
				return err
			}
			mon, advisor, stopMetrics, err := serveMetrics(cmd, listen, p, 24*time.Hour)
			if err != nil {
				return err
			}
			defer stopMetrics()
			opts := engine.DefaultOptions()
			stop := gracefulStop(cmd.Context())
			opts.Stop = stop
			opts.Monitor = mon
			prog := newProgress("run", 0, "")
			prog.every = 0 // the engine reports every ProgressEvery
			opts.ProgressEvery = 500 * time.Millisecond
			if !prog.tty {
				opts.ProgressEvery = 5 * time.Second
			}
			opts.Progress = func(st *engine.Stats) {
				var done float64
				if total, read, ok := inputBytes(p, st); ok { // percent and ETA by bytes of input
					prog.total, done = float64(total), float64(read)
				}
				prog.update(sourceRead(p, st), done)
			}
			for attempt := 0; ; attempt++ {
				chk, err := cp.open(cmd, p, &opts, advisor) // after a failure, resumes from the newest checkpoint
				if err != nil {
					return err
				}
				stats, err := engine.Run(cmd.Context(), p.Graph, opts)
				prog.done()
				if stats != nil {
					ledger := p.Ledger(stats)
					fmt.Fprintf(cmd.ErrOrStderr(), "%s in %s\n%s", p.Spec.Name, stats.Elapsed.Round(1e6), ledger)
				}
				if err == nil {
					return chk.finish(cmd.ErrOrStderr())
				}
				if cmd.Context().Err() != nil {
					return fmt.Errorf("interrupted; unfinished files were not published")
				}
				if chk == nil || attempt >= cp.restarts.attempts || stopped(stop) {
					return err
				}
				d := cp.restarts.delay(attempt)
				fmt.Fprintf(cmd.ErrOrStderr(), "run failed: %v\nrestarting from the newest checkpoint in %s (restart %d of %d)\n",
					err, d.Round(time.Millisecond), attempt+1, cp.restarts.attempts)
				if err := wait(cmd.Context(), d); err != nil {
					return fmt.Errorf("interrupted; unfinished files were not published")
				}
				cp.fresh = false
			}
		},
	}
	cmd.Flags().IntVarP(&parallelism, "parallelism", "p", runtime.GOMAXPROCS(0), "subtasks per parallel step")
	addListenFlag(cmd, &listen)
	cp.add(cmd)
	return cmd
}
