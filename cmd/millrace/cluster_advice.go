package main

import (
	"context"
	"log/slog"

	"github.com/spf13/cobra"

	"millrace/cluster"
	"millrace/kafka"
	"millrace/objstore"
	"millrace/plan"
	"millrace/scale"
)

// adviceFlags say how a worker of a cluster judges the cluster's load for its advice.
type adviceFlags struct {
	speed, capacity float64
}

func (f *adviceFlags) add(cmd *cobra.Command) {
	cmd.Flags().Float64Var(&f.speed, "advice-speed", 1, "cluster mode: the input's event time runs this many times faster than the clock (a paced generator's --speed), so the cluster's advisor shrinks its step, horizon, daily season and windows by it")
	cmd.Flags().Float64Var(&f.capacity, "advice-capacity", 0, "cluster mode: the input rate in records/s one worker is sized for by the cluster's advice, instead of the capacity the workers measure from their busy time (0: measured)")
}

// startAdvising starts the cluster's advice on this worker (id worker): when it owns the
// deciding unit it observes every worker's published figures, keeps the advisor's history in
// store and publishes the advice; it always serves the newest advice the follower read.
func startAdvising(ctx context.Context, f adviceFlags, worker string, p *plan.Plan, layout *cluster.Layout,
	store objstore.Store, conn kafka.Conn, follower *cluster.StatusFollower, log *slog.Logger) (*cluster.Advising, error) {
	if f.speed <= 0 {
		return nil, usagef("--advice-speed %g: want a positive number", f.speed)
	}
	if !(f.capacity >= 0) {
		return nil, usagef("--advice-capacity %g: want records/s, or 0 to measure", f.capacity)
	}
	cfg := f.config(p.Sources)
	return cluster.StartAdvising(ctx, cluster.AdvisingOptions{Layout: layout, Worker: worker, Config: cfg, Store: store,
		Conn: conn, Status: follower, Log: log})
}

// config is the advisor configuration of the cluster whose plan reads sources.
func (f adviceFlags) config(sources []string) scale.AdvisorConfig {
	cfg := advisorConfig(f.speed, 1, autoscaleFlags{})
	cfg.Sources, cfg.CapacityPerWorker = sources, f.capacity
	return cfg
}
