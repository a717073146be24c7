package main

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"millrace/cluster"
	"millrace/engine"
	"millrace/kafka"
	"millrace/objstore"
	"millrace/plan"
)

// clusterFlags are run's flags of cluster mode.
type clusterFlags struct {
	brokers string
	group   string
	state   string
	worker  string
}

func (c *clusterFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&c.brokers, "cluster", "", "run as one worker of a cluster on these brokers (kafka://HOST:PORT[,HOST:PORT...]): the group shares the sources' partitions and the key groups among its workers")
	cmd.Flags().StringVar(&c.group, "group", "", "the cluster's consumer group (default: the pipeline's name)")
	cmd.Flags().StringVar(&c.state, "state", "file://millrace-state", "where a cluster keeps the state of its key groups: file://DIR or s3://BUCKET/PREFIX (endpoint from AWS_ENDPOINT_URL, credentials from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)")
	cmd.Flags().StringVar(&c.worker, "worker-id", "", "this worker's name, unique in the cluster; a worker restarted under its old name fences the old one (default HOST-PID)")
}

// brokerList reads kafka://HOST:PORT[,HOST:PORT...].
func (c *clusterFlags) brokerList() ([]string, error) {
	rest, ok := strings.CutPrefix(c.brokers, "kafka://")
	if !ok || rest == "" {
		return nil, usagef("--cluster %s: want kafka://HOST:PORT[,HOST:PORT...]", c.brokers)
	}
	return strings.Split(strings.TrimSuffix(rest, "/"), ","), nil
}

// runCluster runs this process as one worker of a cluster until it is stopped.
func runCluster(cmd *cobra.Command, path string, cf *clusterFlags, lf *listenFlags, mem *memoryBudgetFlag) error {
	brokers, err := cf.brokerList()
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	interval, err := cmd.Flags().GetDuration("checkpoint-interval")
	if err != nil {
		return err
	}
	store, err := objstore.Open(ctx, cf.state, objstore.DefaultOptions())
	if err != nil {
		return usagef("--state: %v", err)
	}
	relay := &cluster.Relay{}
	p, err := buildPlanWith(cmd, path, plan.Options{Parallelism: 1, Outbox: relay.Outbox})
	if err != nil {
		return err
	}
	printWarnings(cmd, p)
	layout, err := cluster.Cut(p)
	if err != nil {
		return usageError{err}
	}
	mon, _, stopWatching, err := watchRun(cmd, lf, p, advisorConfig(1, 1, autoscaleFlags{}))
	if err != nil {
		return err
	}
	defer stopWatching()
	eopts := engine.DefaultOptions()
	if err := mem.apply(&eopts); err != nil {
		return err
	}
	eopts.Monitor = mon
	log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil))
	opts := cluster.Options{Plan: p, Layout: layout, Relay: relay, Conn: kafka.Conn{Brokers: brokers}, Group: cf.group,
		Worker: cf.worker, Store: store, Interval: interval, Engine: eopts, Log: log,
		Rebalanced: func(pause time.Duration, owned map[string][]int32) {
			log.Info("running", "pause", pause.Round(time.Millisecond), "owned", describeOwned(owned))
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
	fmt.Fprintf(cmd.ErrOrStderr(), "worker of cluster %s on %s, state in %s\n", layout.Pipeline, strings.Join(brokers, ","), store)
	return cluster.Run(run, opts)
}

// describeOwned says which partitions a worker owns, compactly: tx/0,3 velocity/0-63.
func describeOwned(owned map[string][]int32) string {
	var parts []string
	for t, ps := range owned {
		var runs []string
		for i := 0; i < len(ps); {
			j := i
			for j+1 < len(ps) && ps[j+1] == ps[j]+1 {
				j++
			}
			if j > i {
				runs = append(runs, fmt.Sprintf("%d-%d", ps[i], ps[j]))
			} else {
				runs = append(runs, fmt.Sprint(ps[i]))
			}
			i = j + 1
		}
		parts = append(parts, t+"/"+strings.Join(runs, ","))
	}
	return strings.Join(parts, " ")
}
