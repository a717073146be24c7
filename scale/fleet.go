package scale

import "time"

// FleetConfig is the worker model that simulations and backtests replay a load through.
type FleetConfig struct {
	Policy Policy
	// CapacityPerWorker is the records per second one serving worker processes.
	CapacityPerWorker float64
	// Startup is how long a started worker takes before it serves.
	Startup time.Duration
	// RebalancePause is how long every worker stops in a step in which the worker count
	// changes (a started worker begins serving, or workers were given back).
	RebalancePause time.Duration
	// SLOLag is the lag above which a step counts as violating the SLO.
	SLOLag time.Duration
	// Horizon is how far ahead the forecast given to each decision looks, and Step the
	// time between decisions.
	Horizon, Step time.Duration
}

// fleet is the state of the worker model:
//
//   - over a step, the arriving records (rate × step) join the backlog and the workers
//     process up to their capacity; a worker whose start-up ends within the step serves
//     from then on; in a step where the count changes (a worker starts serving within it,
//     or workers joined or left at its start), every worker serving at its end stops for
//     the rebalance pause, once: the group rebalances once for all that join or leave
//     within a step;
//   - at the end of the step the policy decides; workers asked for start at once and serve
//     after the start-up; workers given back stop at once, pending ones first.
type fleet struct {
	cfg     FleetConfig
	serving int
	pending []time.Time // when each pending worker starts serving, earliest first
	backlog float64
	prev    []Decision // the decisions within the scale-down window or the restart cost
	// rebalance says the count changed at the very end of the step before: the next
	// step starts with the pause.
	rebalance bool

	violation     time.Duration
	workerMinutes float64
	maxLag        float64
	maxWorkers    int
	events        int
}

// newFleet starts with the workers rate needs, within the limits, and no backlog.
func newFleet(cfg FleetConfig, rate float64) *fleet {
	lim := cfg.Policy.Limits
	n := min(max(workersFor(rate, cfg.CapacityPerWorker*lim.TargetUtilization), lim.Min), lim.Max)
	return &fleet{cfg: cfg, serving: n, maxWorkers: n}
}

// serve runs the step starting at start with rate records/s arriving.
func (f *fleet) serve(start time.Time, rate float64) {
	step := f.cfg.Step
	end := start.Add(step)
	cpw := f.cfg.CapacityPerWorker
	f.workerMinutes += float64(f.serving+len(f.pending)) * step.Minutes()
	records := float64(f.serving) * cpw * step.Seconds()
	pause, n := f.rebalance, 0
	f.rebalance = false
	for _, ready := range f.pending {
		if ready.After(end) {
			break
		}
		if ready.Before(end) {
			pause = true
		} else {
			f.rebalance = true
		}
		from := ready
		if from.Before(start) {
			from = start
		}
		records += cpw * end.Sub(from).Seconds()
		n++
	}
	f.serving, f.pending = f.serving+n, f.pending[n:]
	if pause && f.cfg.RebalancePause > 0 {
		records = max(records-float64(f.serving)*cpw*min(f.cfg.RebalancePause, step).Seconds(), 0)
	}
	f.backlog += rate * step.Seconds()
	f.backlog -= min(f.backlog, records)
	lag := f.backlog / (float64(f.serving) * cpw)
	if lag > f.cfg.SLOLag.Seconds() {
		f.violation += step
	}
	f.maxLag = max(f.maxLag, lag)
}

// decide asks the policy at end, with the step's rate and the forecast, and carries the
// decision out. It returns the decision and whether it changed the worker count.
func (f *fleet) decide(end time.Time, rate float64, pred Prediction, why string, explain bool) (Decision, bool) {
	lim := f.cfg.Policy.Limits
	d := f.cfg.Policy.decide(Input{Now: end, Workers: f.serving, Pending: len(f.pending), CapacityPerWorker: f.cfg.CapacityPerWorker,
		Rate: rate, Backlog: f.backlog, Forecast: pred, Horizon: f.cfg.Horizon, Startup: f.cfg.Startup, Step: f.cfg.Step,
		ForecastWhy: why}, f.prev, explain)
	have := f.serving + len(f.pending)
	switch {
	case d.Workers > have:
		for range d.Workers - have {
			f.pending = append(f.pending, end.Add(f.cfg.Startup))
		}
	case d.Workers < have:
		drop := have - d.Workers
		k := min(drop, len(f.pending))
		f.pending = f.pending[:len(f.pending)-k]
		if drop > k {
			f.serving -= drop - k
			f.rebalance = true
		}
	}
	if d.Workers != have {
		f.events++
	}
	f.maxWorkers = max(f.maxWorkers, d.Workers)
	f.prev = append(f.prev, d)
	keep := max(lim.ScaleDownWindow, lim.RestartCost)
	drop := 0
	for drop < len(f.prev) && end.Sub(f.prev[drop].At) >= keep {
		drop++
	}
	if drop > 0 {
		f.prev = append(f.prev[:0], f.prev[drop:]...)
	}
	return d, d.Workers != have
}
