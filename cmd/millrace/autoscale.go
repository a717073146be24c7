package main

import (
	"runtime"
	"time"

	"github.com/spf13/cobra"

	"millrace/scale"
)

// autoscaleFlags are the options of scaling in process.
type autoscaleFlags struct {
	on       bool
	min, max int
}

func (f *autoscaleFlags) add(cmd *cobra.Command, on bool) {
	cmd.Flags().BoolVar(&f.on, "autoscale", on, "change the parallelism as the scaling advisor asks, from a checkpoint, without a restart")
	cmd.Flags().IntVar(&f.min, "min-parallelism", 1, "the least parallelism --autoscale goes down to")
	cmd.Flags().IntVar(&f.max, "max-parallelism", runtime.GOMAXPROCS(0), "the most parallelism --autoscale goes up to")
}

// check validates the flags against the parallelism a run starts at, and whether it
// takes checkpoints.
func (f *autoscaleFlags) check(parallelism int, checkpointing bool) error {
	switch {
	case !f.on:
		return nil
	case f.min < 1 || f.max < f.min || f.max > maxParallelism:
		return usagef("--min-parallelism %d --max-parallelism %d: want 1 <= min <= max <= %d", f.min, f.max, maxParallelism)
	case parallelism < f.min || parallelism > f.max:
		return usagef("-p %d is outside --min-parallelism %d and --max-parallelism %d", parallelism, f.min, f.max)
	case !checkpointing:
		return usagef("--autoscale moves state through checkpoints: it takes no --no-checkpoint")
	}
	return nil
}

// maxParallelism is the most subtasks a step may have: one per key group.
const maxParallelism = 256

// advisorConfig configures the scaling advisor of a run of parallelism whose event time
// runs speed times faster than the clock: its step, horizon, measuring window, daily season,
// the forecaster's memory of its errors, the start-up and lag SLO its backtests count with
// and the policy's catch-up and scale-down window all shrink by speed, so that an hour of
// event time is judged alike at any speed. With autoscaling, its workers are the run's
// parallelism, within the flags' bounds; otherwise it advises on processes like this one.
func advisorConfig(speed float64, parallelism int, auto autoscaleFlags) scale.AdvisorConfig {
	shrink := func(d, least time.Duration) time.Duration {
		return max(time.Duration(float64(d)/speed), least)
	}
	lim := scale.DefaultLimits()
	lim.Min = 1
	lim.CatchUp = shrink(lim.CatchUp, 10*time.Second)
	// A change of parallelism pauses the run and starts its measurements afresh: at any
	// speed, hold on to workers for at least half a minute of the clock.
	lim.ScaleDownWindow = shrink(lim.ScaleDownWindow, 30*time.Second)
	cfg := scale.AdvisorConfig{Step: shrink(10*time.Second, time.Second), Horizon: shrink(10*time.Minute, 10*time.Second),
		Window: shrink(time.Minute, 10*time.Second), Season: time.Duration(float64(24*time.Hour) / speed),
		ErrorMemory: shrink(scale.DefaultErrorMemory, 30*time.Second),
		Startup:     shrink(2*time.Minute, time.Second), SLOLag: shrink(30*time.Second, time.Second)}
	if auto.on {
		lim.Min, lim.Max = auto.min, auto.max
		cfg.Workers, cfg.Acts = parallelism, true
	}
	cfg.Policy = scale.Policy{Mode: scale.Predictive, Limits: lim}
	return cfg
}

// scaler is the job.Rescaler that follows the advisor's advice.
type scaler struct {
	advisor *scale.Advisor
	current int
	// since is when the current parallelism started: advice before it is about the one
	// before.
	since time.Time
}

func newScaler(a *scale.Advisor, parallelism int) *scaler {
	return &scaler{advisor: a, current: parallelism, since: time.Now()}
}

// Every is the advisor's step: it has no newer advice sooner.
func (s *scaler) Every() time.Duration { return s.advisor.Step() }

// Want returns the parallelism the newest advice asks for, or 0 to stay.
func (s *scaler) Want() int {
	adv, ok := s.advisor.Latest()
	if !ok || !adv.At.After(s.since) || adv.DesiredWorkers == s.current {
		return 0
	}
	return adv.DesiredWorkers
}

// Rescaled records that the run goes on at parallelism n, and returns the one before.
func (s *scaler) Rescaled(n int) int {
	from := s.current
	s.current, s.since = n, time.Now()
	s.advisor.SetWorkers(n)
	return from
}
