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
the input rate, scaling up before a forecast surge and down late, by bounded steps. The
forecast remembers a surge from one occurrence: a load profile by time of day and day of
week, with month ends, last business days, paydays and holidays as events, or Holt-Winters,
whichever did best in a daily backtest on the pipeline's own history.

  millrace scale simulate --trace examples/traces/week-nightly-surge.csv --policy predictive`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(newScaleSimulateCmd())
	return cmd
}

// scaleSimFlags are the flags of `scale simulate`.
type scaleSimFlags struct {
	trace, policy, season, plot string
	model, calendar             string
	paydays, holidays           string
	decisions, table            bool
	cfg                         scale.SimConfig
}

func newScaleSimulateCmd() *cobra.Command {
	f := scaleSimFlags{cfg: scale.DefaultSimConfig()}
	d := f.cfg
	cmd := &cobra.Command{
		Use:   "simulate --trace FILE.csv --policy reactive|predictive [--model auto|...] [--calendar FILE]",
		Short: "Replay a load trace through the scaling policy and print what it cost and how late it ran",
		Long: `simulate replays a load trace through the same policy code a running pipeline uses, with a
simple worker model: each worker processes --capacity-per-worker records/s once its --startup
delay has passed; records beyond the serving capacity wait in a backlog; lag is the backlog over
the serving capacity; whenever the worker count changes, every worker stops for
--rebalance-pause. The policy decides once per step of the trace; the forecaster observes
each step's rate.

The predictive policy forecasts with --model: holt-winters (needs two days of history),
profile (the rate by time of day and day of week, remembered from one occurrence),
profile+calendar (the profile with month ends, last business days, paydays and holidays as
events, so a month-end surge seen once is expected at the next month end), reactive (none),
or auto: every day, the model with the fewest violation minutes, then the fewest
worker-minutes, in a backtest over the last --backtest-days days. Every decision says which
model drove it and what it remembered (--decisions).

The trace is a CSV with the header time,rate: time in RFC 3339 or epoch seconds, rate in
records/s, at one regular step (an irregular trace is an error, not resampled).

It prints a JSON summary:
  slo_violation_minutes  time whose lag, at the end of its step, was above --slo-lag
  worker_minutes         workers × minutes, counted from when a worker is started
  max_lag_s              the highest lag, in seconds
  max_workers            the most workers asked for at once
  scale_events           decisions that changed the worker count
  surges                 each surge of the trace (a rate above 1.5 times the highest daily
                         median of its last 7 days): start, end, peak_rate, repeat (an
                         earlier surge started at the same time of day), ready_at (when the
                         capacity for its peak was serving), lead_s, slo_violation_minutes
  reactive               the predictive policy's totals and surges against the reactive
                         policy's on the same trace
--table prints the surges and totals as a Markdown table instead.

Compare the policies on a shipped trace:
  millrace scale simulate --trace examples/traces/week-nightly-surge.csv --policy reactive
  millrace scale simulate --trace examples/traces/week-nightly-surge.csv --policy predictive --plot week.png
  millrace scale simulate --trace examples/traces/month-end.csv --policy predictive \
      --calendar examples/traces/month-end.calendar.yaml --table`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return f.run(cmd) },
	}
	fl := cmd.Flags()
	lim := d.Policy.Limits
	fl.StringVar(&f.trace, "trace", "", "load trace CSV with the header time,rate (required)")
	fl.StringVar(&f.policy, "policy", "predictive", "reactive: size for the rate now and the backlog; predictive: also for the forecast at --horizon")
	fl.Float64Var(&f.cfg.CapacityPerWorker, "capacity-per-worker", d.CapacityPerWorker, "records/s one worker processes when fully busy")
	fl.DurationVar(&f.cfg.Startup, "startup", d.Startup, "how long a new worker takes before it serves (the cluster's start-up of a worker)")
	fl.DurationVar(&f.cfg.RebalancePause, "rebalance-pause", d.RebalancePause, "how long every worker stops when the worker count changes; the policy makes no change for a need that lasts less")
	fl.StringVar(&f.model, "model", d.Model.String(), "the predictive policy's forecast: auto, holt-winters, profile, profile+calendar or reactive")
	fl.IntVar(&f.cfg.BacktestDays, "backtest-days", scale.DefaultBacktestDays, "how many days back --model auto compares the models")
	fl.StringVar(&f.calendar, "calendar", "", "YAML calendar file of paydays and holidays (see examples/traces/month-end.calendar.yaml); month ends and last business days need none")
	fl.StringVar(&f.paydays, "paydays", "1,15", "days of the month on which pay arrives, comma-separated (a payday off moves to the business day before); replaces the calendar file's")
	fl.StringVar(&f.holidays, "holidays", "", "days off besides weekends, as 2024-03-29, comma-separated; added to the calendar file's")
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
	fl.BoolVar(&f.table, "table", false, "print each surge and the totals against the reactive policy as a Markdown table instead of JSON")
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
	if f.cfg.Model, err = scale.ParseModel(f.model); err != nil {
		return usagef("--model %q: want auto, holt-winters, profile, profile+calendar or reactive", f.model)
	}
	if err := f.readCalendar(cmd); err != nil {
		return err
	}
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
	var reactive *scale.Result
	if mode != scale.Reactive {
		rc := f.cfg
		rc.Policy.Mode = scale.Reactive
		re, err := scale.Simulate(trace, rc)
		if err != nil {
			return fmt.Errorf("simulate %s: %w", f.trace, err)
		}
		reactive = &re
	}
	if f.table {
		return writeSurgeTable(cmd.OutOrStdout(), res, reactive)
	}
	out := struct {
		scale.Result
		Reactive  *reactiveJSON  `json:"reactive,omitempty"`
		Decisions []decisionJSON `json:"decisions,omitempty"`
	}{Result: res}
	if reactive != nil {
		out.Reactive = &reactiveJSON{SLOViolationMinutes: reactive.SLOViolationMinutes, WorkerMinutes: reactive.WorkerMinutes,
			Surges: reactive.Surges}
	}
	if f.decisions {
		for _, d := range res.Decisions {
			out.Decisions = append(out.Decisions, decisionJSON{At: d.At.UTC().Format(time.RFC3339), Workers: d.Workers, Reason: d.Reason})
		}
	}
	enc := json.NewEncoder(cmd.OutOrStdout())
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// reactiveJSON is the reactive policy's run on the same trace, to compare with.
type reactiveJSON struct {
	SLOViolationMinutes float64       `json:"slo_violation_minutes"`
	WorkerMinutes       float64       `json:"worker_minutes"`
	Surges              []scale.Surge `json:"surges"`
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
