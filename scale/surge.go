package scale

import (
	"slices"
	"time"
)

// surgeFactor is how far above its baseline a rate must be to count as a surge: the
// baseline is the highest median rate of a day among the day itself and the six before
// it, so a daily curve that swings by a half around its median is no surge, a batch or a
// close that triples the load is, and a quiet holiday lowers no threshold.
const surgeFactor = 1.5

// readyLookback is how far before a surge its Surge.ReadyAt is looked for.
const readyLookback = time.Hour

// Surge is one stretch of a trace whose rate stood above surgeFactor times its baseline,
// and how a simulated run met it.
type Surge struct {
	// Start and End bound the surge: the first step above the threshold and the end of
	// the last one.
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	// PeakRate is the highest rate within it, in records/s.
	PeakRate float64 `json:"peak_rate"`
	// Repeat says an earlier surge of the trace started at the same time of day: this one
	// is a recurrence, which foresight should meet in time.
	Repeat bool `json:"repeat"`
	// ReadyAt is when the serving capacity was first enough for PeakRate and stayed so up
	// to the surge's start (before it when scaled ahead, looked for up to an hour before);
	// nil if it never was during the surge. LeadS is Start minus ReadyAt, in seconds: positive when the capacity was there
	// first.
	ReadyAt *time.Time `json:"ready_at"`
	LeadS   *float64   `json:"lead_s"`
	// ViolationMinutes is the time within the surge, and after it until the lag was back
	// under the SLO, whose lag was above the SLO.
	ViolationMinutes float64 `json:"slo_violation_minutes"`
}

// surgesOf finds the surges of trace and measures them on the simulated series.
func surgesOf(trace []Point, series []Step, slo time.Duration) []Surge {
	if len(trace) < 2 {
		return nil
	}
	step := TraceStep(trace)
	medians := dailyMedians(trace)
	first := trace[0].Time
	dayIdx := func(t time.Time) int { return int(t.Sub(first) / (24 * time.Hour)) }
	var out []Surge
	starts := map[time.Duration]bool{} // times of day surges started at
	for i := 0; i < len(trace); {
		d := dayIdx(trace[i].Time)
		base := slices.Max(medians[max(d-6, 0) : d+1])
		if !(trace[i].Rate > surgeFactor*base) || base <= 0 {
			i++
			continue
		}
		j := i
		peak := 0.0
		for j < len(trace) && trace[j].Rate > surgeFactor*base {
			peak = max(peak, trace[j].Rate)
			j++
		}
		s := Surge{Start: trace[i].Time, End: trace[j-1].Time.Add(step), PeakRate: peak}
		tod := s.Start.Sub(s.Start.Truncate(24 * time.Hour))
		s.Repeat, starts[tod] = starts[tod], true
		// Ready: scan back from the start while the capacity held the peak; else forward.
		ready := -1
		back := int(readyLookback / step)
		for k := i - 1; k >= max(i-back, 0) && series[k].Capacity >= peak; k-- {
			ready = k + 1 // capacity at the end of step k: there from the start of step k+1
		}
		if ready < 0 {
			for k := i; k < j; k++ {
				if series[k].Capacity >= peak {
					ready = k + 1
					break
				}
			}
		}
		if ready >= 0 {
			at := first.Add(time.Duration(ready) * step)
			lead := s.Start.Sub(at).Seconds()
			s.ReadyAt, s.LeadS = &at, &lead
		}
		// Violations: within the surge, then while the lag it left stays above the SLO.
		k := i
		for ; k < len(series) && (k < j || series[k].LagS > slo.Seconds()); k++ {
			if series[k].LagS > slo.Seconds() {
				s.ViolationMinutes += step.Minutes()
			}
		}
		s.ViolationMinutes = round(s.ViolationMinutes, 2)
		out = append(out, s)
		i = max(j, k)
	}
	return out
}

// dailyMedians is the median rate of each day of the trace, counted in whole days from
// its first point.
func dailyMedians(trace []Point) []float64 {
	first := trace[0].Time
	var out []float64
	var day []float64
	cur := 0
	flush := func() {
		slices.Sort(day)
		out = append(out, day[len(day)/2])
		day = day[:0]
	}
	for _, p := range trace {
		if d := int(p.Time.Sub(first) / (24 * time.Hour)); d != cur {
			flush()
			cur = d
		}
		day = append(day, p.Rate)
	}
	flush()
	return out
}
