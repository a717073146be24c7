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

// buildPlan loads and plans a spec at parallelism, its generated sources in partitions;
// spec mistakes are usage errors (exit status 2).
func buildPlan(cmd *cobra.Command, path string, parallelism, partitions int) (*plan.Plan, error) {
	s, err := spec.Load(path)
	if err == nil {
		var p *plan.Plan
		if p, err = plan.Build(s, plan.Options{Parallelism: parallelism, Partitions: partitions, Stdout: cmd.OutOrStdout()}); err == nil {
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
			p, err := buildPlan(cmd, args[0], parallelism, parallelism)
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
	var auto autoscaleFlags
	var mem memoryBudgetFlag
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
is lost and nothing written twice, even at another -p (keyed state moves with its key
groups). After a run that finished, the next starts afresh; --fresh starts over anyway. A
view whose definition changed starts with fresh state while the others keep theirs; a
changed source or sink is refused.

A run that fails (a sink cannot write, say) starts again from its newest checkpoint, up to
--restarts times, waiting --restart-backoff, then twice as long each time (at most 30s,
with jitter); then it stops with the error, and the next run resumes.

The scaling advisor measures every step's capacity, forecasts the input and says how many
workers the pipeline needs (/api/scale, millrace_desired_workers). With --autoscale, run
acts on it itself: it stops at a checkpoint and goes on from it at the parallelism the
advisor asks for, between --min-parallelism and --max-parallelism, without a restart.

--memory-budget bounds the state of the steps (default 70% of the cgroup's or machine's
memory): sources ahead of the watermark pause above three quarters of it until windows
fire, and a run whose state still outgrows it stops with a line naming the step.

Ctrl-C (or SIGTERM) stops the run with a last checkpoint, from which the next run goes
on; a second Ctrl-C aborts.`,
		Example: `  millrace run examples/card-velocity.yaml
  millrace run examples/merchant-daily.yaml -p 2 --listen 127.0.0.1:9100
  millrace run examples/card-velocity.yaml --checkpoint-interval 2s
  millrace run examples/card-velocity.yaml -p 1 --autoscale --max-parallelism 4
  millrace run examples/card-velocity.yaml --fresh`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := auto.check(parallelism, &cp); err != nil {
				return err
			}
			partitions := parallelism
			if auto.on {
				partitions = auto.max // generated streams stay the same at every parallelism
			}
			build := func(n int) (*plan.Plan, error) { return buildPlan(cmd, args[0], n, partitions) }
			p, err := build(parallelism)
			if err != nil {
				return err
			}
			mon, advisor, stopWatching, err := watchRun(cmd, listen, p, advisorConfig(1, parallelism, auto))
			if err != nil {
				return err
			}
			defer stopWatching()
			j := &job{cmd: cmd, plan: p, build: build, cp: &cp, advisor: advisor, log: cmd.ErrOrStderr(), opts: engine.DefaultOptions()}
			if err := mem.apply(&j.opts); err != nil {
				return err
			}
			if auto.on {
				j.scaler = newScaler(advisor, parallelism)
			}
			j.opts.Stop = gracefulStop(cmd.Context())
			j.opts.Monitor = mon
			prog := newProgress("run", 0, "")
			prog.every = 0 // the engine reports every ProgressEvery
			j.opts.ProgressEvery = 500 * time.Millisecond
			if !prog.tty {
				j.opts.ProgressEvery = 5 * time.Second
			}
			j.opts.Progress = func(st *engine.Stats) {
				var done float64
				if total, read, ok := inputBytes(j.plan, st); ok { // percent and ETA by bytes of input
					prog.total, done = float64(total), float64(read)
				}
				var read int64
				for _, s := range j.ledger(st).Sources {
					read += s.Read
				}
				prog.update(read, done)
			}
			j.ran = func(ledger plan.Ledger) {
				prog.done()
				fmt.Fprintf(cmd.ErrOrStderr(), "%s in %s\n%s", p.Spec.Name, time.Since(j.started).Round(time.Millisecond), ledger)
			}
			return j.run()
		},
	}
	cmd.Flags().IntVarP(&parallelism, "parallelism", "p", runtime.GOMAXPROCS(0), "subtasks per parallel step")
	addListenFlag(cmd, &listen)
	cp.add(cmd)
	auto.add(cmd, false)
	mem.add(cmd)
	return cmd
}
