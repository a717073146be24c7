package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"millrace/cluster"
	"millrace/fleet"
	"millrace/spec"
)

// upFlags are the flags of cluster up.
type upFlags struct {
	brokers, workers, state, listen string
	min, max                        int
	cooldown                        time.Duration
}

func newClusterUpCmd(conn *kafkaConnFlags) *cobra.Command {
	var f upFlags
	cmd := &cobra.Command{
		Use:   "up SPEC --brokers kafka://HOST:PORT [--workers auto|N] [-- RUN FLAGS...]",
		Short: "Run a cluster of worker processes on this machine, as many as the cluster's advice asks for",
		Long: `up starts worker processes of this millrace binary on this machine, each one
'millrace run SPEC --cluster kafka://BROKERS --state STATE --worker-id wN --listen ADDR' and the
run flags given after --. Every line a worker writes is shown prefixed by its id ([w2] ...).

With --workers N it keeps N workers. With --workers auto (the default) it starts --min
workers and then follows the cluster's scaling advice, which the workers make together and
publish on their status topic (millrace.<pipeline>.worker-status): it starts workers or stops
the newest, within --min and --max, one change at a time. It acts on advice made after its
last change from the figures of as many workers as run, and waits --cooldown after each
change. It prints each change with the advice's reason. The workers' run flags after -- say
how the advice sizes and forecasts: --advice-capacity (the input rate one worker is sized
for, instead of the measured one), --advice-model and --advice-speed.

A worker is stopped with SIGTERM: it makes a last checkpoint, commits it and leaves the group,
whose rebalance hands its partitions and key groups to the others, before it exits. Ctrl-C
stops every worker so and then up; a second Ctrl-C kills them (SIGKILL). A worker that ends by
itself stops the others and up with its error.

Worker wN serves its dashboard on --listen's port plus N-1 (port 0: any free port); any
worker's dashboard shows the whole cluster. It is how cluster mode is tried on one machine;
on many machines start 'millrace run --cluster' yourself or under Kubernetes.`,
		Example: `  millrace cluster up examples/cluster-velocity.yaml --brokers kafka://localhost:9092
  millrace cluster up pipeline.yaml --brokers kafka://localhost:9092 --workers auto --min 2 --max 8 --state s3://bucket/millrace
  millrace cluster up pipeline.yaml --brokers kafka://localhost:9092 --workers 3 -- --checkpoint-interval 2s
  millrace cluster up pipeline.yaml --brokers kafka://localhost:9092 --max 8 -- --advice-capacity 50000 --advice-model profile`,
		Args: func(cmd *cobra.Command, args []string) error {
			if at := cmd.ArgsLenAtDash(); at == 0 || len(args) == 0 || (at < 0 && len(args) > 1) || at > 1 {
				return usagef("want one SPEC, and run's flags for the workers after --")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return clusterUp(cmd, conn, f, args[0], args[1:])
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&f.brokers, "brokers", "", "the Kafka cluster the workers share: kafka://HOST:PORT[,HOST:PORT...]")
	fs.StringVar(&f.workers, "workers", "auto", `how many workers: a number, or "auto" to follow the cluster's advice within --min and --max`)
	fs.IntVar(&f.min, "min", 1, "with --workers auto: the fewest workers")
	fs.IntVar(&f.max, "max", 4, "with --workers auto: the most workers")
	fs.DurationVar(&f.cooldown, "cooldown", 30*time.Second, "with --workers auto: the least time between two changes")
	fs.StringVar(&f.state, "state", "file://millrace-state", "where the workers keep the state of the key groups (run's --state)")
	fs.StringVar(&f.listen, "listen", defaultListen, `where worker w1 serves its dashboard; wN on the port plus N-1; port 0 picks free ports; "" serves none`)
	return cmd
}

// limits are the bounds of the worker count the flags ask for; auto says whether the count
// follows the advice.
func (f upFlags) limits() (lim fleet.Limits, auto bool, err error) {
	lim = fleet.Limits{Min: f.min, Max: f.max, Cooldown: f.cooldown}
	if f.workers != "auto" {
		n, err := strconv.Atoi(f.workers)
		if err != nil || n < 1 {
			return lim, false, usagef("--workers %q: want auto or a number of at least 1", f.workers)
		}
		lim.Min, lim.Max = n, n
	}
	if err := lim.Validate(); err != nil {
		return lim, false, usagef("--min %d --max %d --cooldown %v: %v", f.min, f.max, f.cooldown, err)
	}
	return lim, f.workers == "auto", nil
}

// listenFor is the --listen address of the worker in slot: base with its port plus slot.
func listenFor(base string, slot int) (string, error) {
	if base == "" {
		return "", nil
	}
	host, port, err := net.SplitHostPort(base)
	if err != nil {
		return "", usagef("--listen %q: %v", base, err)
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 0 || n+slot > 65535 {
		return "", usagef("--listen %q: want HOST:PORT", base)
	}
	if n == 0 {
		return base, nil
	}
	return net.JoinHostPort(host, strconv.Itoa(n+slot)), nil
}

// clusterUp runs the cluster of spec path until Ctrl-C, extra being run flags of every
// worker.
func clusterUp(cmd *cobra.Command, connFlags *kafkaConnFlags, f upFlags, path string, extra []string) error {
	if f.brokers == "" {
		return usagef("--brokers: say which Kafka cluster the workers share (kafka://HOST:PORT)")
	}
	if !strings.Contains(f.brokers, "://") {
		f.brokers = "kafka://" + f.brokers
	}
	conn, err := connFlags.conn(f.brokers)
	if err != nil {
		return err
	}
	lim, auto, err := f.limits()
	if err != nil {
		return err
	}
	if _, err := listenFor(f.listen, lim.Max-1); err != nil {
		return err
	}
	ctx := cmd.Context()
	s, err := spec.LoadContext(ctx, path)
	if err != nil {
		return usageError{err}
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("cluster up: find this program to start its workers: %w", err)
	}
	base := []string{"run", path, "--cluster", f.brokers, "--state", f.state}
	cmd.Flags().Visit(func(fl *pflag.Flag) {
		if strings.HasPrefix(fl.Name, "kafka-") {
			base = append(base, "--"+fl.Name+"="+fl.Value.String())
		}
	})
	out := cmd.OutOrStdout()
	workers := fleet.New(fleet.Options{Path: exe, Output: cmd.ErrOrStderr(), Args: func(worker string, slot int) []string {
		addr, _ := listenFor(f.listen, slot) // checked above for every slot up to --max
		return slices.Concat(base, []string{"--worker-id", worker, "--listen", addr}, extra)
	}})
	var follower *cluster.StatusFollower
	if auto {
		if follower, err = cluster.FollowStatus(ctx, conn, s.Name, nil); err != nil {
			return err
		}
		defer func() { _ = follower.Close() }() // its errors were logged as they came
		fmt.Fprintf(out, "cluster up: pipeline %s on %s, state in %s: between %d and %d workers as the cluster's advice says, %v apart\n",
			s.Name, strings.Join(conn.Brokers, ","), f.state, lim.Min, lim.Max, lim.Cooldown)
	} else {
		fmt.Fprintf(out, "cluster up: pipeline %s on %s, state in %s: %d workers\n", s.Name, strings.Join(conn.Brokers, ","), f.state, lim.Min)
	}
	fmt.Fprintln(out, "            each worker's lines start with its id; Ctrl-C stops them gracefully, twice kills them")
	return upLoop(ctx, gracefulStop(ctx), out, workers, follower, lim)
}

// upLoop changes the number of workers as Target says, at the start and whenever the
// follower (nil: a fixed count) reads something new, until stop is closed or a worker ends
// by itself; then it stops every worker, killing them if ctx ends.
func upLoop(ctx context.Context, stop <-chan struct{}, out io.Writer, workers *fleet.Fleet, follower *cluster.StatusFollower, lim fleet.Limits) error {
	var changed time.Time
	for {
		var changes <-chan struct{}
		var adv cluster.Advice
		ok := false
		if follower != nil {
			changes = follower.Changed()
			adv, ok = follower.Advice()
		}
		running := len(workers.Running())
		n, why, _ := fleet.Target(running, changed, adv.Advice, ok, lim, time.Now())
		var err error
		switch {
		case n > running:
			var ids []string
			ids, err = workers.Start(n - running)
			fmt.Fprintf(out, "cluster up: started %s, %d workers: %s\n", strings.Join(ids, ", "), running+len(ids), why)
		case n < running:
			var ids []string
			ids, err = workers.Stop(ctx, running-n)
			fmt.Fprintf(out, "cluster up: stopped %s, %d workers: %s\n", strings.Join(ids, ", "), running-len(ids), why)
		}
		if n != running {
			changed = time.Now()
		}
		if err != nil {
			return stopWorkers(ctx, out, workers, err)
		}
		select {
		case <-changes:
		case e := <-workers.Ended():
			return stopWorkers(ctx, out, workers, fmt.Errorf("worker %s ended by itself: %w", e.Worker, e.Err))
		case <-stop:
			return stopWorkers(ctx, out, workers, nil)
		case <-ctx.Done():
			return stopWorkers(ctx, out, workers, ctx.Err())
		}
	}
}

// stopWorkers stops every worker gracefully (killing them once ctx ends) and returns why
// the cluster stopped, or the first error a worker ended with.
func stopWorkers(ctx context.Context, out io.Writer, workers *fleet.Fleet, why error) error {
	fmt.Fprintf(out, "cluster up: stopping %d workers\n", len(workers.Running()))
	err := workers.StopAll(ctx)
	if why != nil {
		return fmt.Errorf("cluster up: %w", why)
	}
	if err != nil {
		return fmt.Errorf("cluster up: %w", err)
	}
	fmt.Fprintln(out, "cluster up: every worker stopped")
	return nil
}
