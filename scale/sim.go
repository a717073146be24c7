package scale

import (
	"fmt"
	"math"
	"time"
)

// SimConfig is the worker model and the policy a simulation replays a trace through.
type SimConfig struct {
	Policy Policy
	// CapacityPerWorker is the records per second one serving worker processes.
	CapacityPerWorker float64
	// Startup is how long a started worker costs before it serves: the cluster's start-up
	// of a worker (scheduling, process start, joining the group).
	Startup time.Duration
	// RebalancePause is how long every serving worker stops whenever the worker count
	// changes: a worker that starts serving, or one given back, makes the group rebalance.
	// The policy's restart cost is this pause unless set on its own.
	RebalancePause time.Duration
	// SLOLag is the lag above which a step counts towards slo_violation_minutes.
	SLOLag time.Duration
	// Horizon is how far ahead of each decision the forecast looks.
	Horizon time.Duration
	// Season is the forecaster's season; 0 detects it from the trace among 1h, 24h and 7d.
	Season time.Duration
	// Alpha, Beta, Gamma and Confidence configure the Holt-Winters forecaster; zero takes
	// its defaults.
	Alpha, Beta, Gamma, Confidence float64
	// Model is the forecasting model of the predictive policy; Auto picks one by
	// backtesting every day (see Foresight).
	Model Model
	// Calendar is what the profile+calendar model knows of month ends, paydays and holidays.
	Calendar Calendar
	// BacktestDays is how many days back Auto compares the models (default
	// DefaultBacktestDays).
	BacktestDays int
}

// DefaultSimConfig returns the command's defaults: a reactive policy within
// DefaultLimits, 500 records/s per worker, a 2-minute start-up, a 1-second rebalance pause,
// a 30-second lag SLO, a 10-minute horizon, a 24-hour season, the forecaster's default
// smoothing, the model picked by backtest and the default calendar.
func DefaultSimConfig() SimConfig {
	return SimConfig{
		Policy:            Policy{Mode: Reactive, Limits: DefaultLimits()},
		CapacityPerWorker: 500,
		Startup:           2 * time.Minute,
		RebalancePause:    time.Second,
		SLOLag:            30 * time.Second,
		Horizon:           10 * time.Minute,
		Season:            24 * time.Hour,
		Calendar:          DefaultCalendar(),
	}
}

// fleet is the worker model of a simulation with a trace's step.
func (c SimConfig) fleet(step time.Duration) FleetConfig {
	pol := c.Policy
	if pol.Limits.RestartCost == 0 {
		pol.Limits.RestartCost = c.RebalancePause
	}
	return FleetConfig{Policy: pol, CapacityPerWorker: c.CapacityPerWorker, Startup: c.Startup, RebalancePause: c.RebalancePause,
		SLOLag: c.SLOLag, Horizon: c.Horizon, Step: step}
}

// Result is what a simulation measured. Steps and Decisions are for plotting and are not
// part of the JSON summary.
type Result struct {
	Policy string `json:"policy"`
	// Model is the predictive policy's forecasting model, as configured (auto: picked by
	// backtest); empty for the reactive policy.
	Model  string `json:"model,omitempty"`
	Season string `json:"season"`
	Steps  int    `json:"steps"`
	// SLOLagS is the lag SLO, in seconds.
	SLOLagS float64 `json:"slo_lag_s"`
	// SLOViolationMinutes is the time whose lag, at the end of its step, was above the SLO.
	SLOViolationMinutes float64 `json:"slo_violation_minutes"`
	// WorkerMinutes counts every worker from the moment it is started, start-up included,
	// until it is stopped.
	WorkerMinutes float64 `json:"worker_minutes"`
	MaxLagS       float64 `json:"max_lag_s"`
	MaxWorkers    int     `json:"max_workers"`
	// ScaleEvents counts the decisions that changed the worker count.
	ScaleEvents int `json:"scale_events"`
	// Surges are the trace's surges and how the run met each.
	Surges []Surge `json:"surges"`

	Series    []Step     `json:"-"`
	Decisions []Decision `json:"-"` // the decisions that changed the worker count
}

// Step is the state of a simulation over one step of its trace.
type Step struct {
	Time time.Time
	Rate float64
	// ForecastMean and ForecastHi are what was forecast for this step one horizon before
	// (NaN before the first such forecast).
	ForecastMean, ForecastHi float64
	Serving, Pending         int     // workers at the end of the step, after the decision
	Capacity                 float64 // records/s of the workers serving at the end of the step
	Backlog                  float64 // records waiting at the end of the step
	LagS                     float64 // Backlog over the serving capacity, in seconds
}

// Validate reports the first setting that makes no sense.
func (c SimConfig) Validate() error {
	switch {
	case !(c.CapacityPerWorker > 0) || math.IsInf(c.CapacityPerWorker, 0):
		return fmt.Errorf("scale: capacity per worker %g must be a positive number", c.CapacityPerWorker)
	case c.Startup < 0:
		return fmt.Errorf("scale: start-up delay %v must not be negative", c.Startup)
	case c.SLOLag <= 0:
		return fmt.Errorf("scale: SLO lag %v must be positive", c.SLOLag)
	case c.Horizon <= 0:
		return fmt.Errorf("scale: horizon %v must be positive", c.Horizon)
	case c.Season < 0:
		return fmt.Errorf("scale: season %v must not be negative", c.Season)
	case c.RebalancePause < 0:
		return fmt.Errorf("scale: rebalance pause %v must not be negative", c.RebalancePause)
	case c.BacktestDays < 0:
		return fmt.Errorf("scale: backtest days %d must not be negative", c.BacktestDays)
	}
	if err := c.Calendar.Validate(); err != nil {
		return err
	}
	return c.Policy.Limits.Validate()
}

// Simulate replays trace through cfg's policy with the fleet model, one decision per step of
// the trace:
//
//   - over a step, the arriving records (rate × step) join the backlog and the workers
//     process up to their capacity; a worker started during a step serves from the moment
//     its start-up delay ends; in a step where the worker count changes every worker stops
//     for the rebalance pause;
//   - at the end of the step the predictive policy's Foresight observes the step's rate and
//     forecasts the rate at the end of the step plus the horizon with its model, and the
//     policy decides from the serving and pending workers, that rate, the backlog and the
//     forecast;
//   - workers asked for start at once and serve after the start-up delay; workers given
//     back stop at once, pending ones first.
//
// The run starts with the workers the first step's rate needs, and no backlog. Lag is the
// backlog over the serving capacity. The result lists the trace's surges and how the run
// met each.
func Simulate(trace []Point, cfg SimConfig) (Result, error) {
	if err := cfg.Validate(); err != nil {
		return Result{}, err
	}
	if len(trace) < 2 {
		return Result{}, fmt.Errorf("scale: a trace of %d points, want at least 2", len(trace))
	}
	step := TraceStep(trace)
	season, seasonNote := cfg.Season, ""
	if season == 0 {
		season, seasonNote = detectSeason(trace, step)
	}
	if season < 2*step || season%step != 0 {
		return Result{}, fmt.Errorf("scale: season %v is not a multiple of at least 2 of the trace's step %v", season, step)
	}
	fs, err := NewForesight(ForesightConfig{Step: step, Season: season, Horizon: cfg.Horizon, Calendar: cfg.Calendar,
		Model: cfg.Model, BacktestDays: cfg.BacktestDays, HoltWinters: HoltWintersConfig{Alpha: cfg.Alpha, Beta: cfg.Beta,
			Gamma: cfg.Gamma, Confidence: cfg.Confidence}, Fleet: cfg.fleet(step)})
	if err != nil {
		return Result{}, fmt.Errorf("scale: %w", err)
	}
	res := Result{Policy: cfg.Policy.Mode.String(), Season: season.String() + seasonNote, Steps: len(trace),
		SLOLagS: cfg.SLOLag.Seconds(), Series: make([]Step, len(trace))}
	if cfg.Policy.Mode == Predictive {
		res.Model = cfg.Model.String()
	}
	for i := range res.Series {
		res.Series[i].ForecastMean, res.Series[i].ForecastHi = math.NaN(), math.NaN()
	}
	ahead := int((cfg.Horizon + step - 1) / step) // steps from a decision to what it forecast
	f := newFleet(cfg.fleet(step), trace[0].Rate)
	for i, p := range trace {
		end := p.Time.Add(step)
		f.serve(p.Time, p.Rate)
		var pred Prediction
		var why string
		if cfg.Policy.Mode == Predictive {
			fs.Observe(end, p.Rate)
			pred, why = fs.Forecast(cfg.Horizon)
			if j := i + ahead; j < len(trace) && fs.Model() != ModelReactive {
				res.Series[j].ForecastMean, res.Series[j].ForecastHi = pred.Mean, pred.Hi
			}
		}
		if d, changed := f.decide(end, p.Rate, pred, why, true); changed {
			res.Decisions = append(res.Decisions, d)
		}
		s := &res.Series[i]
		s.Time, s.Rate = p.Time, p.Rate
		s.Serving, s.Pending = f.serving, len(f.pending)
		s.Capacity, s.Backlog = float64(f.serving)*cfg.CapacityPerWorker, f.backlog
		s.LagS = f.backlog / math.Max(s.Capacity, 1e-9)
	}
	res.SLOViolationMinutes = round(f.violation.Minutes(), 2)
	res.WorkerMinutes = round(f.workerMinutes, 2)
	res.MaxLagS = round(f.maxLag, 1)
	res.MaxWorkers, res.ScaleEvents = f.maxWorkers, f.events
	res.Surges = surgesOf(trace, res.Series, cfg.SLOLag)
	return res, nil
}

// detectSeason picks the trace's season among 1h, 24h and 7d, of those that fit twice.
func detectSeason(trace []Point, step time.Duration) (time.Duration, string) {
	span := step * time.Duration(len(trace))
	var cands []time.Duration
	for _, c := range []time.Duration{time.Hour, 24 * time.Hour, 7 * 24 * time.Hour} {
		if c >= 2*step && c%step == 0 && 2*c <= span {
			cands = append(cands, c)
		}
	}
	if len(cands) == 0 {
		return 24 * time.Hour, " (trace too short to detect one)"
	}
	rates := make([]float64, len(trace))
	for i, p := range trace {
		rates[i] = p.Rate
	}
	if s := DetectSeason(rates, step, cands); s > 0 {
		return s, " (detected)"
	}
	return 24 * time.Hour, " (none detected)"
}

func round(x float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(x*p) / p
}
