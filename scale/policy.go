package scale

import (
	"fmt"
	"math"
	"time"
)

// Mode says what a policy sizes the workers for.
type Mode int

const (
	// Reactive sizes for the rate observed now plus draining the backlog within the
	// catch-up time.
	Reactive Mode = iota
	// Predictive also sizes for the forecast at now + horizon: its mean at the target
	// utilisation and its upper bound at full capacity, so workers started now are serving
	// before the load they are for arrives.
	Predictive
)

// String returns the mode's name as the command line spells it.
func (m Mode) String() string {
	switch m {
	case Reactive:
		return "reactive"
	case Predictive:
		return "predictive"
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// ParseMode reads "reactive" or "predictive".
func ParseMode(s string) (Mode, error) {
	switch s {
	case "reactive":
		return Reactive, nil
	case "predictive":
		return Predictive, nil
	}
	return 0, fmt.Errorf("scale: unknown policy %q (want reactive or predictive)", s)
}

// Limits bound what a policy may ask for and how fast it may give workers back.
type Limits struct {
	Min, Max int // worker count bounds, inclusive
	// TargetUtilization is the busy fraction each worker is sized for, in (0, 1]; the rest
	// is headroom for noise.
	TargetUtilization float64
	// CatchUp is the time within which a backlog should be drained, on top of the arriving rate.
	CatchUp time.Duration
	// ScaleDownWindow is the stabilisation window: the policy only scales down to the highest
	// need of every decision within this window, so a need that dips and returns never
	// takes workers away.
	ScaleDownWindow time.Duration
	// Tolerance is how far, as a fraction of the current workers, the need must stay below
	// them before any are given back, so noise around a boundary never flaps.
	Tolerance float64
	// ScaleDownStep is the largest fraction of the current workers given back in one
	// decision; at least one worker may always go.
	ScaleDownStep float64
	// RestartCost is what a change of the worker count costs the whole pipeline: the pause
	// of a rebalance, while every worker commits, hands key groups over and restores them.
	// A need that has differed from the current count for less than it (a blip) changes
	// nothing. 0 counts every change as free.
	RestartCost time.Duration
}

// DefaultLimits returns 5 to 500 workers at 70% utilisation, a 5-minute catch-up, a
// 10-minute scale-down window, a 10% tolerance and scale-down steps of at most 10%.
func DefaultLimits() Limits {
	return Limits{Min: 5, Max: 500, TargetUtilization: 0.7, CatchUp: 5 * time.Minute,
		ScaleDownWindow: 10 * time.Minute, Tolerance: 0.1, ScaleDownStep: 0.1}
}

// Validate reports the first limit that makes no sense.
func (l Limits) Validate() error {
	switch {
	case l.Min < 1:
		return fmt.Errorf("scale: min workers %d must be at least 1", l.Min)
	case l.Max < l.Min:
		return fmt.Errorf("scale: max workers %d is below min %d", l.Max, l.Min)
	case !(l.TargetUtilization > 0 && l.TargetUtilization <= 1):
		return fmt.Errorf("scale: target utilisation %g must be in (0, 1]", l.TargetUtilization)
	case l.CatchUp <= 0:
		return fmt.Errorf("scale: catch-up time %v must be positive", l.CatchUp)
	case l.ScaleDownWindow < 0:
		return fmt.Errorf("scale: scale-down window %v must not be negative", l.ScaleDownWindow)
	case !(l.Tolerance >= 0 && l.Tolerance < 1):
		return fmt.Errorf("scale: tolerance %g must be in [0, 1)", l.Tolerance)
	case !(l.ScaleDownStep > 0 && l.ScaleDownStep <= 1):
		return fmt.Errorf("scale: scale-down step %g must be in (0, 1]", l.ScaleDownStep)
	case l.RestartCost < 0:
		return fmt.Errorf("scale: restart cost %v must not be negative", l.RestartCost)
	}
	return nil
}

// Input is what the policy knows at one decision.
type Input struct {
	Now     time.Time
	Workers int // workers serving now
	Pending int // workers started but still within their start-up delay
	// CapacityPerWorker is the records per second one worker processes when fully busy.
	CapacityPerWorker float64
	Rate              float64 // records/s arriving now
	Backlog           float64 // records waiting
	// Forecast is the predicted rate at Now + Horizon; only Predictive mode reads it.
	Forecast Prediction
	Horizon  time.Duration
	// Startup is how long a new worker takes before it serves.
	Startup time.Duration
	// Step is the time the rate was measured over, ending at Now: how long a need seen now
	// has lasted at least. 0 leaves the restart cost out of the decision.
	Step time.Duration
	// ForecastWhy says which forecasting model made Forecast and what it remembered; it
	// ends the decision's reason.
	ForecastWhy string
}

// Decision is the worker count a policy asks for, and why.
type Decision struct {
	At time.Time `json:"at"`
	// Workers is the desired total, serving and pending together.
	Workers int `json:"workers"`
	// Need is the count the sizing alone asked for, before hysteresis; later decisions
	// read it for the scale-down window.
	Need   int    `json:"need"`
	Reason string `json:"reason"`
}

// Policy turns an Input into a Decision. It keeps no state: the decisions it made before
// are passed back in, so the same inputs always give the same decision.
type Policy struct {
	Mode   Mode
	Limits Limits
}

// Decide returns the desired worker count for in. prev holds earlier decisions in time
// order; only those within the scale-down window (or the restart cost) of in.Now are read.
//
// It scales up at once to the need. It scales down only when the highest need within the
// scale-down window is below the current count by more than the tolerance, then to that
// need and by at most the scale-down step, so it never flaps between two counts. The need is
// the largest of: the current rate, the current rate plus draining the backlog within the
// catch-up time, and (Predictive) the forecast's upper bound at Now + Horizon, each at the
// target utilisation, clamped to [Min, Max]. With a restart cost, a need that has differed
// from the current count for less than that cost (a blip) changes nothing: every change
// pauses the whole pipeline for the cost, which would lose more than the blip. The reason
// ends with the forecast's own account of itself (Input.ForecastWhy), when it has one.
func (p Policy) Decide(in Input, prev []Decision) Decision { return p.decide(in, prev, true) }

// decide is Decide; without explain it writes no reason, for replays that only count.
func (p Policy) decide(in Input, prev []Decision, explain bool) Decision {
	lim := p.Limits
	have := in.Workers + in.Pending
	per := in.CapacityPerWorker * lim.TargetUtilization
	var util, why string
	if explain {
		util = fmt.Sprintf("%.0f%% utilisation", lim.TargetUtilization*100)
	}

	need := workersFor(in.Rate, per)
	if explain {
		why = fmt.Sprintf("rate %s needs %d workers at %s", fmtRate(in.Rate), need, util)
	}
	if in.Backlog > 0 {
		drain := in.Rate + in.Backlog/lim.CatchUp.Seconds()
		if n := workersFor(drain, per); n > need {
			need = n
			if explain {
				why = fmt.Sprintf("rate %s plus a backlog of %s records drained in %v needs %d workers at %s",
					fmtRate(in.Rate), fmtCount(in.Backlog), lim.CatchUp, n, util)
			}
		}
	}
	if p.Mode == Predictive {
		var at string
		if explain {
			at = in.Now.Add(in.Horizon).UTC().Format("15:04")
		}
		if n := workersFor(in.Forecast.Mean, per); n > need {
			need = n
			if explain {
				why = fmt.Sprintf("forecast %s at %s needs %d workers at %s", fmtRate(in.Forecast.Mean), at, n, util)
			}
		}
		if n := workersFor(in.Forecast.Hi, in.CapacityPerWorker); n > need {
			need = n
			if explain {
				why = fmt.Sprintf("forecast upper bound %s at %s needs %d workers at full capacity", fmtRate(in.Forecast.Hi), at, n)
			}
		}
		if explain && in.Horizon < in.Startup {
			why += fmt.Sprintf(" (the %v horizon is shorter than the %v start-up: workers started now serve late)", in.Horizon, in.Startup)
		}
	}
	switch {
	case need > lim.Max:
		if explain {
			why += fmt.Sprintf(", capped at max %d", lim.Max)
		}
		need = lim.Max
	case need < lim.Min:
		if explain {
			why += fmt.Sprintf(", raised to min %d", lim.Min)
		}
		need = lim.Min
	}
	d := Decision{At: in.Now, Workers: have, Need: need}
	if explain && in.ForecastWhy != "" {
		why += "; " + in.ForecastWhy
	}

	switch {
	case need > have:
		if held, ok := p.heldFor(in, prev, func(q Decision) bool { return q.Need > have }); !ok {
			if explain {
				d.Reason = fmt.Sprintf("hold %d: %s, but only for %v so far, less than the %v restart cost", have, why, held, lim.RestartCost)
			}
			break
		}
		d.Workers = need
		if explain {
			d.Reason = fmt.Sprintf("scale up %d→%d: %s", have, need, why)
		}
	case need == have:
		if explain {
			d.Reason = fmt.Sprintf("hold %d: %s", have, why)
		}
	default:
		peak, peakAt := need, in.Now
		for _, q := range prev {
			if in.Now.Sub(q.At) < lim.ScaleDownWindow && q.Need > peak {
				peak, peakAt = q.Need, q.At
			}
		}
		if peak >= have {
			if explain {
				d.Reason = fmt.Sprintf("hold %d: %s, but %d were needed at %s, within the %v scale-down window",
					have, why, peak, peakAt.UTC().Format("15:04"), lim.ScaleDownWindow)
			}
			break
		}
		if float64(peak) >= float64(have)*(1-lim.Tolerance) {
			if explain {
				d.Reason = fmt.Sprintf("hold %d: %s, within the %.0f%% tolerance", have, why, lim.Tolerance*100)
				if peak > need {
					d.Reason = fmt.Sprintf("hold %d: %s, and %d within the %v scale-down window, within the %.0f%% tolerance",
						have, why, peak, lim.ScaleDownWindow, lim.Tolerance*100)
				}
			}
			break
		}
		if held, ok := p.heldFor(in, prev, func(q Decision) bool { return q.Need < have }); !ok {
			if explain {
				d.Reason = fmt.Sprintf("hold %d: %s, but only for %v so far, less than the %v restart cost", have, why, held, lim.RestartCost)
			}
			break
		}
		step := max(1, int(math.Floor(float64(have)*lim.ScaleDownStep)))
		d.Workers = max(peak, have-step)
		if !explain {
			break
		}
		d.Reason = fmt.Sprintf("scale down %d→%d: %s", have, d.Workers, why)
		if d.Workers > peak {
			d.Reason += fmt.Sprintf(" (at most %d given back per decision)", step)
		} else if peak > need {
			d.Reason += fmt.Sprintf(" (%d were needed within the %v scale-down window)", peak, lim.ScaleDownWindow)
		}
	}
	return d
}

// heldFor says how long the need has been on the side of the current count that differs
// holds, and whether that is at least the restart cost. The need now stands for the step
// ending now (in.Step); each earlier decision back to the first that did not differ adds
// the time since it. Without a restart cost or a step any need has held long enough.
func (p Policy) heldFor(in Input, prev []Decision, differs func(Decision) bool) (time.Duration, bool) {
	cost := p.Limits.RestartCost
	if cost <= 0 || in.Step <= 0 {
		return 0, true
	}
	since := in.Now
	for i := len(prev) - 1; i >= 0 && differs(prev[i]) && in.Now.Sub(prev[i].At) < cost; i-- {
		since = prev[i].At
	}
	held := in.Now.Sub(since) + in.Step
	return held, held >= cost
}

// workersFor returns the workers that carry rate records/s at per records/s each.
func workersFor(rate, per float64) int {
	if !(rate > 0) || !(per > 0) {
		return 0
	}
	n := math.Ceil(rate/per - 1e-9)
	if n > math.MaxInt32 {
		return math.MaxInt32
	}
	return int(n)
}

// fmtRate writes a rate in records/s the way an operator reads it: 950/s, 41k/s, 1.2M/s.
func fmtRate(r float64) string { return fmtCount(r) + "/s" }

// fmtCount writes a count with a k or M suffix and at most three significant digits.
func fmtCount(x float64) string {
	switch a := math.Abs(x); {
	case a >= 1e6:
		return trimNum(x/1e6) + "M"
	case a >= 1e3:
		return trimNum(x/1e3) + "k"
	}
	return fmt.Sprintf("%.0f", x)
}

func trimNum(x float64) string {
	if math.Abs(x) >= 10 {
		return fmt.Sprintf("%.0f", x)
	}
	return fmt.Sprintf("%.3g", x)
}
