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
	// Startup is how long a started worker costs before it serves.
	Startup time.Duration
	// SLOLag is the lag above which a step counts towards slo_violation_minutes.
	SLOLag time.Duration
	// Horizon is how far ahead of each decision the forecast looks.
	Horizon time.Duration
	// Season is the forecaster's season; 0 detects it from the trace among 1h, 24h and 7d.
	Season time.Duration
	// Alpha, Beta, Gamma and Confidence configure the Holt-Winters forecaster; zero takes
	// its defaults.
	Alpha, Beta, Gamma, Confidence float64
}

// DefaultSimConfig returns the command's defaults: a reactive policy within
// DefaultLimits, 500 records/s per worker, a 2-minute start-up, a 30-second lag SLO, a
// 10-minute horizon, a 24-hour season and the forecaster's default smoothing.
func DefaultSimConfig() SimConfig {
	return SimConfig{
		Policy:            Policy{Mode: Reactive, Limits: DefaultLimits()},
		CapacityPerWorker: 500,
		Startup:           2 * time.Minute,
		SLOLag:            30 * time.Second,
		Horizon:           10 * time.Minute,
		Season:            24 * time.Hour,
	}
}

// Result is what a simulation measured. Steps and Decisions are for plotting and are not
// part of the JSON summary.
type Result struct {
	Policy string `json:"policy"`
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
	}
	return c.Policy.Limits.Validate()
}

// Simulate replays trace through cfg's policy with a simple worker model, one decision per
// step of the trace:
//
//   - over a step, the arriving records (rate × step) join the backlog and the workers
//     process up to their capacity; a worker started during a step serves from the moment
//     its start-up delay ends;
//   - at the end of the step the forecaster observes the step's rate, forecasts the rate at
//     the end of the step plus the horizon, and the policy decides from the serving and
//     pending workers, that rate, the backlog and the forecast;
//   - workers asked for start at once and serve after the start-up delay; workers given
//     back stop at once, pending ones first.
//
// The run starts with the workers the first step's rate needs, and no backlog. Lag is the
// backlog over the serving capacity.
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
	fc, err := NewHoltWinters(HoltWintersConfig{Step: step, Season: season, Alpha: cfg.Alpha, Beta: cfg.Beta,
		Gamma: cfg.Gamma, Confidence: cfg.Confidence})
	if err != nil {
		return Result{}, fmt.Errorf("scale: forecaster: %w", err)
	}
	lim := cfg.Policy.Limits
	cpw := cfg.CapacityPerWorker
	res := Result{Policy: cfg.Policy.Mode.String(), Season: season.String() + seasonNote, Steps: len(trace),
		SLOLagS: cfg.SLOLag.Seconds(), Series: make([]Step, len(trace))}
	for i := range res.Series {
		res.Series[i].ForecastMean, res.Series[i].ForecastHi = math.NaN(), math.NaN()
	}
	ahead := int((cfg.Horizon + step - 1) / step) // steps from a decision to what it forecast
	dt := step.Seconds()
	serving := min(max(workersFor(trace[0].Rate, cpw*lim.TargetUtilization), lim.Min), lim.Max)
	var pending []time.Time // when each pending worker starts serving, earliest first
	var prev []Decision
	backlog := 0.0
	res.MaxWorkers = serving

	for i, p := range trace {
		start, end := p.Time, p.Time.Add(step)
		res.WorkerMinutes += float64(serving+len(pending)) * step.Minutes()
		capRecords := float64(serving) * cpw * dt
		n := 0
		for _, ready := range pending {
			if ready.After(end) {
				break
			}
			from := ready
			if from.Before(start) {
				from = start
			}
			capRecords += cpw * end.Sub(from).Seconds()
			n++
		}
		serving, pending = serving+n, pending[n:]
		backlog += p.Rate * dt
		backlog -= min(backlog, capRecords)
		capacity := float64(serving) * cpw
		lag := backlog / capacity
		if lag > cfg.SLOLag.Seconds() {
			res.SLOViolationMinutes += step.Minutes()
		}
		res.MaxLagS = max(res.MaxLagS, lag)

		fc.Observe(end, p.Rate)
		pred := fc.Forecast(cfg.Horizon)
		if j := i + ahead; j < len(trace) {
			res.Series[j].ForecastMean, res.Series[j].ForecastHi = pred.Mean, pred.Hi
		}
		d := cfg.Policy.Decide(Input{Now: end, Workers: serving, Pending: len(pending), CapacityPerWorker: cpw,
			Rate: p.Rate, Backlog: backlog, Forecast: pred, Horizon: cfg.Horizon, Startup: cfg.Startup}, prev)
		have := serving + len(pending)
		switch {
		case d.Workers > have:
			for range d.Workers - have {
				pending = append(pending, end.Add(cfg.Startup))
			}
		case d.Workers < have:
			drop := have - d.Workers
			k := min(drop, len(pending))
			pending = pending[:len(pending)-k]
			serving -= drop - k
		}
		if d.Workers != have {
			res.ScaleEvents++
			res.Decisions = append(res.Decisions, d)
		}
		res.MaxWorkers = max(res.MaxWorkers, d.Workers)
		prev = append(prev, d)
		for len(prev) > 0 && end.Sub(prev[0].At) >= lim.ScaleDownWindow {
			prev = prev[1:]
		}
		s := &res.Series[i]
		s.Time, s.Rate = start, p.Rate
		s.Serving, s.Pending = serving, len(pending)
		s.Capacity, s.Backlog = float64(serving)*cpw, backlog
		s.LagS = backlog / math.Max(s.Capacity, 1e-9)
	}
	res.SLOViolationMinutes = round(res.SLOViolationMinutes, 2)
	res.WorkerMinutes = round(res.WorkerMinutes, 2)
	res.MaxLagS = round(res.MaxLagS, 1)
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
