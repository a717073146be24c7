package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"millrace/cluster"
	"millrace/engine"
	"millrace/job"
	"millrace/plan"
	"millrace/spec"
	"millrace/tally"
)

// buildPlan loads and plans a spec at parallelism, its generated sources in partitions;
// spec mistakes are usage errors (exit status 2). It gives up when the command's context
// ends, with errInterrupted.
func buildPlan(cmd *cobra.Command, path string, parallelism, partitions int, ingestURL ...string) (*plan.Plan, error) {
	opts := plan.Options{Parallelism: parallelism, Partitions: partitions}
	if len(ingestURL) > 0 {
		opts.IngestURL = ingestURL[0]
	}
	return buildPlanWith(cmd, path, opts)
}

// buildPlanWith is buildPlan with every option of the planner; the command gives stdin
// and stdout.
func buildPlanWith(cmd *cobra.Command, path string, opts plan.Options) (*plan.Plan, error) {
	ctx := cmd.Context()
	if ctx == nil { // a command that was never executed, as tests build them
		ctx = context.Background()
	}
	s, err := spec.LoadContext(ctx, path)
	if err == nil {
		opts.Stdout, opts.Stdin = cmd.OutOrStdout(), cmd.InOrStdin()
		var p *plan.Plan
		if p, err = plan.BuildContext(ctx, s, opts); err == nil {
			return p, nil
		}
	}
	switch {
	case errors.Is(err, spec.ErrInvalid):
		return nil, usageError{err}
	case ctx.Err() != nil:
		return nil, fmt.Errorf("%w while planning %s", errInterrupted, path)
	}
	return nil, err
}

// printWarnings prints the plan's warnings on stderr, one line each.
func printWarnings(cmd *cobra.Command, p *plan.Plan) {
	for _, w := range p.Warnings {
		fmt.Fprintf(cmd.ErrOrStderr(), "warning: %s\n", w)
	}
}

func newPlanCmd() *cobra.Command {
	var asJSON, clustered bool
	var parallelism int
	cmd := &cobra.Command{
		Use:   "plan SPEC.yaml",
		Short: "Check a pipeline spec and print its dataflow",
		Long: `plan reads a pipeline spec, checks it (every key, type, column and function), and prints
the physical dataflow: each step with its parallelism, what it computes, where its input
comes from and how it is partitioned (forward, rebalance, or hashed by key), and its columns.
A mistake in the spec is one line naming file, line and key path, with exit status 2.
What runs but is likely a mistake (a source whose refused records no sink keeps, a view
nothing reads, no sinks at all) is printed on stderr as a warning line; run prints the same
warnings before it starts.
Ctrl-C or SIGTERM stops planning at once, with exit status 130 or 143.`,
		Example: `  millrace plan examples/card-velocity.yaml
  millrace plan examples/card-velocity.yaml --json | jq '.steps[].name'`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := buildPlan(cmd, args[0], parallelism, parallelism)
			if err != nil {
				return err
			}
			printWarnings(cmd, p)
			if cmd.Context().Err() != nil {
				return fmt.Errorf("%w while planning %s", errInterrupted, args[0])
			}
			if clustered {
				l, err := cluster.Cut(p)
				if err != nil {
					return usageError{err}
				}
				return l.Print(cmd.OutOrStdout())
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
	cmd.Flags().BoolVar(&clustered, "cluster", false, "print the stages a cluster of workers runs (run --cluster) and their internal topics")
	cmd.Flags().IntVarP(&parallelism, "parallelism", "p", runtime.GOMAXPROCS(0), "subtasks per parallel step")
	return cmd
}

func newRunCmd() *cobra.Command {
	var parallelism int
	var listen listenFlags
	var ingestListen, cpuProfile string
	var cp checkpointFlags
	var auto autoscaleFlags
	var mem memoryBudgetFlag
	var cl clusterFlags
	var state stateBackendFlags
	cmd := &cobra.Command{
		Use:   "run SPEC.yaml",
		Short: "Run a pipeline",
		Long: `run executes a pipeline spec on every core: sources are read in parallel, views computed
with keyed exchanges and event-time windows, results written to the sinks. Bounded input
(files) ends with a final watermark that fires every open window, so the answers are
complete. At the end run prints the ledger: every record read is accounted for as accepted,
rejected (dead letters) or late, and every view's input as kept, filtered or sent to the
view's errors (VIEW.errors: rows on which an expression failed, or a sum would overflow).
A damaged file or Parquet row group becomes a dead letter and the run goes on; on_error:
fail on a source or view fails the run instead. Then it lists each sink with what it
holds: the files it published and the rows of each, read back from them (stdout: the rows
written).
A file source with path - reads standard input (jsonl, or csv with format: csv) once,
to its end: a run with one takes no checkpoints (and so is not resumed or restarted), says
so, and refuses --checkpoint and --autoscale.

Before it starts, run prints the plan's warnings (a source whose refused records no sink
keeps, a view nothing reads, no sinks), as plan does.

Relative paths in the spec are relative to the working directory; run prints each sink's
absolute path as it starts. A sink never replaces a file, or writes among files, that
millrace did not write, unless it says overwrite: true (see docs/pipeline-spec.md).

Checkpoints make the run exactly-once: every --checkpoint-interval the sources record
where they stand and every step its state, in --checkpoint (default
./.millrace/PIPELINE/), and sinks publish their files only once a checkpoint holding them
is durable; a kafka sink (delivery: exactly_once) produces a checkpoint's rows in one
transaction then, so read_committed consumers see them at the checkpoint interval, or
with commit: batch each batch in a transaction at once, a resumed run dropping the
replayed rows it had committed. A run
that was killed or stopped resumes from its newest checkpoint: nothing is lost and nothing
written twice, even at another -p (keyed state moves with its key groups). After a run
that finished, the next starts afresh; --fresh starts over anyway. One
run at a time holds --checkpoint: a second run of the same pipeline is refused, naming the
first. A changed source or sink is refused; so is a view that holds window state and whose
definition changed, since its open windows would miss what was read before: --reset-view
NAME accepts that loss, --fresh starts over. A changed view without state just goes on.

A kafka source never ends: the run goes on until it is stopped. Its checkpoints hold each
partition's offset, committed to the source's consumer group once durable; a checkpointed
offset that retention has deleted fails the resume, naming the partition (--fresh starts
over from the source's start:). While a broker cannot be reached, the source waits and
reconnects by itself, its partitions shown as unreachable on the dashboard; a kafka sink
waits up to 2 minutes for the brokers, then the run fails and restarts as below.

A view with group_by and no window over a source that never ends emits a changelog: rows
with _op +I, -U, +U or -D, the changes to its table (emit: watermark holds them until the
watermark advances). A kafka sink with mode: upsert keeps that table in a compacted topic,
and a sink of kind view keeps it in memory, read at /api/views/NAME?key=V while the run
goes on (docs/pipeline-spec.md).

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
--state-backend pebble lets tumbling and hopping windows hold more state than memory: above
--spill-above (default half the budget, shared by the subtasks) a subtask moves the windows
that fire last to a local pebble store under --spill-dir, and reads a window back when it
fires or a checkpoint is taken. The results and checkpoints are those of the memory
backend; the stores are a cache, deleted when the run ends (a killed run leaves its store,
which nothing needs: delete it).

--listen serves the dashboard, /metrics and /api/... (loopback only by default). An address
other machines reach needs --listen-token-file (every request then carries
"Authorization: Bearer TOKEN"; a browser opens /?token=TOKEN once) or --tls-cert and
--tls-key (--tls-client-ca for mutual TLS), or --insecure-listen on purpose. Requests whose
Host header names another server are refused (--listen-host adds names).

An http source takes records at POST --ingest-listen/ingest/SOURCE (NDJSON or a JSON array,
gzip accepted), answered 202 once they are stored durably under --checkpoint, so a crash
after the answer loses nothing; the same security flags apply there.

Ctrl-C (or SIGTERM) stops the run with a last checkpoint, from which the next run goes
on; a second Ctrl-C aborts.

With --cluster kafka://BROKERS the process is one worker of a cluster: start as many as the
load needs, anywhere the brokers and the --state store are reached. The plan is cut at each
keyed exchange into stages (millrace plan --cluster shows them) joined by internal topics
millrace.PIPELINE.STEP of 256 partitions, one per key group. The consumer group --group
(default: the pipeline's name) shares the sources' partitions and the key groups among the
workers; each checkpoint writes every owned unit's state to --state (file://DIR or
s3://BUCKET/PREFIX) and commits the outputs with the input offsets in one Kafka transaction,
so a worker that dies is replaced, by whoever the group gives its units, from exactly what
it committed. A cluster reads Kafka sources and bounded files, and writes Kafka sinks and
file sinks of part files into directories every worker sees (each worker names its files
part-WORKER-RUN-SSS-NNNNN.EXT; a sink writing one file, or stdout, is refused); --worker-id
names a worker (a restarted worker with its old name fences its former self); the
--kafka-tls-* and --kafka-sasl-* flags say how to reach brokers that ask for TLS or SASL.
Ctrl-C or SIGTERM commits a last checkpoint and leaves the group.`,
		Example: `  millrace run examples/card-velocity.yaml
  millrace run examples/cluster-velocity.yaml --cluster kafka://localhost:9092 --state s3://bucket/millrace
  millrace run examples/merchant-daily.yaml -p 2 --listen 127.0.0.1:9100
  millrace run examples/card-velocity.yaml --checkpoint-interval 2s
  millrace run examples/card-velocity.yaml -p 1 --autoscale --max-parallelism 4
  millrace run examples/card-velocity.yaml --fresh`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) (err error) {
			if err := cl.check(cmd); err != nil {
				return err
			}
			stopProfile, err := startCPUProfile(cpuProfile)
			if err != nil {
				return err
			}
			defer func() { err = errors.Join(err, stopProfile()) }()
			if cl.brokers != "" {
				return runCluster(cmd, args[0], &cl, &listen, &mem, &state)
			}
			if err := cp.check(); err != nil {
				return err
			}
			if err := auto.check(parallelism, !cp.off); err != nil {
				return err
			}
			partitions := parallelism
			if auto.on {
				partitions = auto.max // generated streams stay the same at every parallelism
			}
			in, err := serveIngest(cmd, args[0], &cp, ingestListen, &listen)
			if err != nil {
				return err
			}
			defer func() {
				if err := in.Close(); err != nil {
					fmt.Fprintf(cmd.ErrOrStderr(), "millrace: ingest: %v\n", err)
				}
			}()
			var alerts *tally.Board // one for every plan of the run, which the dashboard shows
			build := func(n int) (*plan.Plan, error) {
				opts := plan.Options{Parallelism: n, Partitions: partitions, IngestURL: in.URL(), Alerts: alerts}
				if err := state.apply(&opts, &mem); err != nil {
					return nil, err
				}
				return buildPlanWith(cmd, args[0], opts)
			}
			p, err := build(parallelism)
			if err != nil {
				return err
			}
			alerts = p.Alerts
			printWarnings(cmd, p)
			if stdin := p.StdinSources(); len(stdin) > 0 {
				switch {
				case auto.on:
					return usagef("--autoscale moves state through checkpoints, and source %s reads standard input, which is read once", stdin[0])
				case cp.dir != "":
					return usagef("--checkpoint %s: source %s reads standard input, which is read once and cannot be checkpointed; leave --checkpoint out to run without checkpoints", cp.dir, stdin[0])
				case !cp.off:
					fmt.Fprintf(cmd.ErrOrStderr(), "source %s reads standard input, which is read once: this run takes no checkpoints\n", stdin[0])
					cp.off = true
				}
			}
			mon, advisor, stopWatching, err := watchRun(cmd, &listen, p, advisorConfig(1, parallelism, auto))
			if err != nil {
				return err
			}
			defer stopWatching()
			opts := job.Options{Plan: p, Build: build, Checkpoints: cp.checkpointing(p.Spec.Name), Restarts: cp.restarts,
				Advisor: advisor, Engine: engine.DefaultOptions(), Log: cmd.ErrOrStderr(), Holder: "millrace " + strings.Join(os.Args[1:], " ")}
			if err := mem.apply(&opts.Engine); err != nil {
				return err
			}
			paceCollector(p)
			if auto.on {
				opts.Scaler = newScaler(advisor, parallelism)
			}
			opts.Engine.Stop = gracefulStop(cmd.Context())
			opts.Engine.Monitor = mon
			opts.Engine.Log = slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil)) // reloads, failed checkpoints
			prog := newProgress("run", 0, "")
			prog.every = 0 // the engine reports every ProgressEvery
			opts.Engine.ProgressEvery = 500 * time.Millisecond
			if !prog.tty {
				opts.Engine.ProgressEvery = 5 * time.Second
			}
			var j *job.Job
			opts.Engine.Progress = func(st *engine.Stats) {
				var done float64
				if total, read, ok := inputBytes(j.Plan(), st); ok { // percent and ETA by bytes of input
					prog.total, done = float64(total), float64(read)
				}
				var read int64
				for _, s := range j.Ledger(st).Sources {
					read += s.Read
				}
				prog.update(read, done)
			}
			opts.Ran = func(ledger plan.Ledger) {
				prog.done()
				fmt.Fprintf(cmd.ErrOrStderr(), "%s in %s\n%s", p.Spec.Name, time.Since(j.Started()).Round(time.Millisecond), ledger)
			}
			printOutputs(cmd.ErrOrStderr(), p)
			j = job.New(opts)
			if err := j.Run(cmd.Context()); err != nil {
				return err
			}
			return printSummary(cmd.ErrOrStderr(), j.Plan(), mon.Snapshot())
		},
	}
	cmd.Flags().IntVarP(&parallelism, "parallelism", "p", runtime.GOMAXPROCS(0), "subtasks per parallel step")
	listen.add(cmd)
	cmd.Flags().StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of the run to this file (read it with go tool pprof)")
	cmd.Flags().StringVar(&ingestListen, "ingest-listen", defaultIngestListen, "address where http sources take records (POST /ingest/SOURCE); the --listen-token-file, --tls-* and --listen-host flags secure it too")
	cp.add(cmd)
	auto.add(cmd, false)
	mem.add(cmd)
	state.add(cmd)
	cl.add(cmd)
	return cmd
}
