package main

import (
	"context"
	"log/slog"

	"github.com/spf13/cobra"

	"millrace/cluster"
	"millrace/kafka"
	"millrace/objstore"
	"millrace/plan"
)

// adviceFlags say how a worker of a cluster judges the cluster's load for its advice.
type adviceFlags struct {
	speed float64
}

func (f *adviceFlags) add(cmd *cobra.Command) {
	cmd.Flags().Float64Var(&f.speed, "advice-speed", 1, "cluster mode: the input's event time runs this many times faster than the clock (a paced generator's --speed), so the cluster's advisor shrinks its step, horizon, daily season and windows by it")
}

// startAdvising starts the cluster's advice on this worker (id worker): when it owns the
// deciding unit it observes every worker's published figures, keeps the advisor's history in
// store and publishes the advice; it always serves the newest advice the follower read.
func startAdvising(ctx context.Context, f adviceFlags, worker string, p *plan.Plan, layout *cluster.Layout,
	store objstore.Store, conn kafka.Conn, follower *cluster.StatusFollower, log *slog.Logger) (*cluster.Advising, error) {
	if f.speed <= 0 {
		return nil, usagef("--advice-speed %g: want a positive number", f.speed)
	}
	cfg := advisorConfig(f.speed, 1, autoscaleFlags{})
	cfg.Sources = p.Sources
	return cluster.StartAdvising(ctx, cluster.AdvisingOptions{Layout: layout, Worker: worker, Config: cfg, Store: store,
		Conn: conn, Status: follower, Log: log})
}
