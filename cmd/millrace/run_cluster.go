package main

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"millrace/cluster"
	"millrace/engine"
	"millrace/memlimit"
	"millrace/objstore"
	"millrace/observe"
	"millrace/plan"
)

// clusterFlags are run's flags of cluster mode.
type clusterFlags struct {
	brokers string
	group   string
	state   string
	worker  string
	prewarm string
	advice  adviceFlags
	// conn says how to reach brokers that ask for TLS or SASL, as cluster status does.
	conn kafkaConnFlags
}

func (c *clusterFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&c.brokers, "cluster", "", "run as one worker of a cluster on these brokers (kafka://HOST:PORT[,HOST:PORT...]): the group shares the sources' partitions and the key groups among its workers")
	cmd.Flags().StringVar(&c.group, "group", "", "the cluster's consumer group (default: the pipeline's name)")
	cmd.Flags().StringVar(&c.state, "state", "file://millrace-state", "where a cluster keeps the state of its key groups: file://DIR or s3://BUCKET/PREFIX (endpoint from AWS_ENDPOINT_URL, credentials from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)")
	cmd.Flags().StringVar(&c.worker, "worker-id", "", "this worker's name, unique in the cluster; a worker restarted under its old name fences the old one (default HOST-PID)")
	cmd.Flags().StringVar(&c.prewarm, "prewarm", fmt.Sprintf("%dMiB", cluster.DefaultPrewarm>>20), "bytes of the key groups' committed state a starting worker reads into memory before it joins the group, so that taking key groups over reads only what was written since (0: none)")
	c.advice.add(cmd)
	c.conn.register(cmd)
}

// check refuses the --kafka-* flags without --cluster: they say how to reach its brokers.
func (c *clusterFlags) check(cmd *cobra.Command) error {
	if c.brokers != "" {
		return nil
	}
	var set []string
	cmd.Flags().Visit(func(f *pflag.Flag) {
		if strings.HasPrefix(f.Name, "kafka-") {
			set = append(set, "--"+f.Name)
		}
	})
	if len(set) > 0 {
		return usagef("%s: these say how a cluster's worker reaches its brokers; add --cluster kafka://BROKERS (a spec's Kafka sources and sinks take tls and sasl keys)", strings.Join(set, ", "))
	}
	return nil
}

// runCluster runs this process as one worker of a cluster until it is stopped.
func runCluster(cmd *cobra.Command, path string, cf *clusterFlags, lf *listenFlags, mem *memoryBudgetFlag, state *stateBackendFlags) error {
	conn, err := cf.conn.conn(cf.brokers)
	if err != nil {
		return fmt.Errorf("--cluster %w", err)
	}
	ctx := cmd.Context()
	interval, err := cmd.Flags().GetDuration("checkpoint-interval")
	if err != nil {
		return err
	}
	prewarm, err := memlimit.Parse(cf.prewarm)
	if err != nil || prewarm < 0 {
		return usagef("--prewarm %s: want a size such as 256MiB, or 0", cf.prewarm)
	}
	store, err := objstore.Open(ctx, cf.state, objstore.DefaultOptions())
	if err != nil {
		return usagef("--state: %v", err)
	}
	relay := &cluster.Relay{}
	popts := plan.Options{Parallelism: 1, Outbox: relay.Outbox}
	if err := state.apply(&popts, mem); err != nil {
		return err
	}
	p, err := buildPlanWith(cmd, path, popts)
	if err != nil {
		return err
	}
	printWarnings(cmd, p)
	layout, err := cluster.Cut(p)
	if err != nil {
		return usageError{err}
	}
	log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil))
	follower, err := cluster.FollowStatus(ctx, conn, layout.Pipeline, log)
	if err != nil {
		return err
	}
	defer func() { _ = follower.Close() }() // its errors were logged as they came
	if cf.worker == "" {
		cf.worker = cluster.DefaultWorker()
	}
	advising, err := startAdvising(ctx, cf.advice, cf.worker, p, layout, store, conn, follower, log)
	if err != nil {
		return err
	}
	defer func() { _ = advising.Close() }() // its errors were logged as they came
	rebalances := observe.NewRebalances()
	mon, _, stopWatching, err := watchRun(cmd, lf, p, advisorConfig(1, 1, autoscaleFlags{}),
		observe.WithCluster(observe.Cluster{Workers: follower.Views, Rebalances: rebalances}), observe.WithAdvice(advising))
	if err != nil {
		return err
	}
	defer stopWatching()
	eopts := engine.DefaultOptions()
	if err := mem.apply(&eopts); err != nil {
		return err
	}
	eopts.Monitor = mon
	opts := cluster.Options{Plan: p, Layout: layout, Relay: relay, Conn: conn, Group: cf.group,
		Worker: cf.worker, Store: store, Interval: interval, Prewarm: prewarm, Engine: eopts, Log: log,
		Rebalanced: func(pause time.Duration, owned map[string][]int32) {
			rebalances.Observe(pause)
			advising.Assigned(owned)
			log.Info("running", "pause", pause.Round(time.Millisecond), "owned", cluster.CompactOwned(cluster.OwnedFrom(layout.Pipeline, owned, nil)))
		}}
	run, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	go func() {
		select {
		case <-gracefulStop(ctx):
		case <-ctx.Done():
		}
		cancel()
	}()
	fmt.Fprintf(cmd.ErrOrStderr(), "worker of cluster %s on %s, state in %s\n", layout.Pipeline, strings.Join(conn.Brokers, ","), store)
	return cluster.Run(run, opts)
}
