package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"millrace/scale"
)

func newScaleCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "scale",
		Short: "Size workers ahead of the load: replay a load trace through the scaling policy",
		Long: `scale sizes a pipeline's workers from its capacity, input rate, backlog and a forecast of
the input rate, scaling up before a forecast surge and down late, by bounded steps.

  millrace scale simulate --trace examples/traces/week-nightly-surge.csv --policy predictive`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(newScaleSimulateCmd())
	return cmd
}

// scaleSimFlags are the flags of `scale simulate`.
type scaleSimFlags struct {
	trace, policy, season, plot string
	decisions                   bool
	cfg                         scale.SimConfig
}

func newScaleSimulateCmd() *cobra.Command {
	f := scaleSimFlags{cfg: scale.DefaultSimConfig()}
	d := f.cfg
	cmd := &cobra.Command{
		Use:   "simulate --trace FILE.csv --policy reactive|predictive",
		Short: "Replay a load trace through the scaling policy and print what it cost and how late it ran",
		Long: `simulate replays a load trace through the same policy code a running pipeline uses, with a
simple worker model: each worker processes --capacity-per-worker records/s once its --startup
delay has passed; records beyond the serving capacity wait in a backlog; lag is the backlog over
the serving capacity. The policy decides once per step of the trace; the forecaster observes
each step's rate.

The trace is a CSV with the header time,rate: time in RFC 3339 or epoch seconds, rate in
records/s, at one regular step (an irregular trace is an error, not resampled).

It prints a JSON summary:
  slo_violation_minutes  time whose lag, at the end of its step, was above --slo-lag
  worker_minutes         workers × minutes, counted from when a worker is started
  max_lag_s              the highest lag, in seconds
  max_workers            the most workers asked for at once
  scale_events           decisions that changed the worker count

Compare the policies on a shipped trace:
  millrace scale simulate --trace examples/traces/week-nightly-surge.csv --policy reactive
  millrace scale simulate --trace examples/traces/week-nightly-surge.csv --policy predictive --plot week.png`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return f.run(cmd) },
	}
	fl := cmd.Flags()
	lim := d.Policy.Limits
	fl.StringVar(&f.trace, "trace", "", "load trace CSV with the header time,rate (required)")
	fl.StringVar(&f.policy, "policy", "predictive", "reactive: size for the rate now and the backlog; predictive: also for the forecast at --horizon")
	fl.Float64Var(&f.cfg.CapacityPerWorker, "capacity-per-worker", d.CapacityPerWorker, "records/s one worker processes when fully busy")
	fl.DurationVar(&f.cfg.Startup, "startup", d.Startup, "how long a new worker takes before it serves")
	fl.IntVar(&f.cfg.Policy.Limits.Min, "min", lim.Min, "fewest workers")
	fl.IntVar(&f.cfg.Policy.Limits.Max, "max", lim.Max, "most workers")
	fl.DurationVar(&f.cfg.SLOLag, "slo-lag", d.SLOLag, "lag above which time counts as violating the SLO")
	fl.Float64Var(&f.cfg.Policy.Limits.TargetUtilization, "target-utilization", lim.TargetUtilization, "busy fraction each worker is sized for, in (0, 1]")
	fl.StringVar(&f.season, "season", "24h", "the forecaster's season, e.g. 24h, or auto to detect 1h, 24h or 7d from the trace")
	fl.DurationVar(&f.cfg.Horizon, "horizon", d.Horizon, "how far ahead the predictive policy looks; at least --startup")
	fl.DurationVar(&f.cfg.Policy.Limits.CatchUp, "catch-up", lim.CatchUp, "time within which a backlog should be drained")
	fl.DurationVar(&f.cfg.Policy.Limits.ScaleDownWindow, "scale-down-window", lim.ScaleDownWindow, "scale down only to the highest need within this window")
	fl.Float64Var(&f.cfg.Policy.Limits.ScaleDownStep, "scale-down-step", lim.ScaleDownStep, "largest fraction of the workers given back in one decision")
	fl.Float64Var(&f.cfg.Policy.Limits.Tolerance, "tolerance", lim.Tolerance, "fraction by which the need must stay below the workers before any are given back")
	fl.StringVar(&f.plot, "plot", "", "draw rate, forecast, workers × capacity and lag over time to this .png or .svg file")
	fl.BoolVar(&f.decisions, "decisions", false, "add every decision that changed the worker count, with its reason, to the JSON")
	return cmd
}

func (f *scaleSimFlags) run(cmd *cobra.Command) error {
	if f.trace == "" {
		return usagef("--trace FILE.csv is required")
	}
	mode, err := scale.ParseMode(f.policy)
	if err != nil {
		return usagef("--policy %q: want reactive or predictive", f.policy)
	}
	f.cfg.Policy.Mode = mode
	if f.season == "auto" {
		f.cfg.Season = 0
	} else if f.cfg.Season, err = time.ParseDuration(f.season); err != nil || f.cfg.Season <= 0 {
		return usagef("--season %q: want a duration such as 24h, or auto", f.season)
	}
	if _, ok := scale.PlotFormat(f.plot); f.plot != "" && !ok {
		return usagef("--plot %q: name the file .png or .svg", f.plot)
	}
	if err := f.cfg.Validate(); err != nil {
		return usageError{err}
	}
	trace, err := scale.ReadTraceFile(f.trace)
	if err != nil {
		return err
	}
	res, err := scale.Simulate(trace, f.cfg)
	if err != nil {
		return fmt.Errorf("simulate %s: %w", f.trace, err)
	}
	if f.plot != "" {
		if err := writePlot(f.plot, res, filepath.Base(f.trace)); err != nil {
			return err
		}
	}
	out := struct {
		scale.Result
		Decisions []decisionJSON `json:"decisions,omitempty"`
	}{Result: res}
	if f.decisions {
		for _, d := range res.Decisions {
			out.Decisions = append(out.Decisions, decisionJSON{At: d.At.UTC().Format(time.RFC3339), Workers: d.Workers, Reason: d.Reason})
		}
	}
	enc := json.NewEncoder(cmd.OutOrStdout())
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

type decisionJSON struct {
	At      string `json:"at"`
	Workers int    `json:"workers"`
	Reason  string `json:"reason"`
}

// writePlot draws res to path, as a PNG or an SVG by its extension.
func writePlot(path string, res scale.Result, title string) error {
	format, ok := scale.PlotFormat(path)
	if !ok {
		return fmt.Errorf("write plot %s: name the file .png or .svg", path)
	}
	fh, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("write plot: %w", err)
	}
	if err := scale.WritePlot(fh, res, title, format); err != nil {
		_ = fh.Close() // the drawing error is the one to report
		return fmt.Errorf("write plot %s: %w", path, err)
	}
	if err := fh.Close(); err != nil {
		return fmt.Errorf("write plot %s: %w", path, err)
	}
	return nil
}
