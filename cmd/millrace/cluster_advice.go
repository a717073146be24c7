package main

import (
	"context"
	"log/slog"
	"time"

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
	model           string
}

// clusterHorizon is the least horizon of a cluster's advice: a change of the worker count
// takes a worker process's start and a rebalance of the group, and the rates the advice
// sees lag the input by the workers' status window and its own, so that at a fast pace
// (--advice-speed) a shorter horizon would see a remembered surge too late to meet it.
const clusterHorizon = 20 * time.Second

func (f *adviceFlags) add(cmd *cobra.Command) {
	cmd.Flags().Float64Var(&f.speed, "advice-speed", 1, "cluster mode: the input's event time runs this many times faster than the clock (a paced generator's --speed), so the cluster's advisor shrinks its step, horizon, daily season and windows by it")
	cmd.Flags().StringVar(&f.model, "advice-model", "auto", "cluster mode: the forecasting model of the cluster's advice: auto (each day the one a backtest on the cluster's own history picks), reactive, holt-winters, profile or profile+calendar")
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
	cfg, err := f.config(p.Sources)
	if err != nil {
		return nil, err
	}
	return cluster.StartAdvising(ctx, cluster.AdvisingOptions{Layout: layout, Worker: worker, Config: cfg, Store: store,
		Conn: conn, Status: follower, Log: log})
}

// config is the advisor configuration of the cluster whose plan reads sources: as a
// process's at the flags' speed, with its horizon at least clusterHorizon.
func (f adviceFlags) config(sources []string) (scale.AdvisorConfig, error) {
	cfg := advisorConfig(f.speed, 1, autoscaleFlags{})
	model, err := scale.ParseModel(f.model)
	if err != nil {
		return cfg, usagef("--advice-model: %v", err)
	}
	cfg.Sources, cfg.CapacityPerWorker, cfg.Model = sources, f.capacity, model
	cfg.Horizon = max(cfg.Horizon, clusterHorizon)
	return cfg, nil
}
