package gen

import (
	"fmt"
	"math"
	"time"

	"millrace/civil"
)

// Curve is a stream's rate as a pure function of event time: the mean rate shaped by a daily
// pattern (quiet at night, a morning rise, peaks at midday and in the evening), a weekly
// pattern (busier Fridays, later and quieter weekends, Sunday the quietest day) and surges.
// The daily and weekly pattern averages to exactly the mean rate over a week. Hours are UTC.
//
// A Curve is immutable and safe to share; the generator samples it once per second of event
// time and holds that rate for the second, which is what Expected integrates.
type Curve struct {
	rate   float64
	flat   bool
	week   []float64 // minuteOfWeek+1 multipliers from Monday 00:00, the last repeating the first
	surges []surgeSpan
}

type surgeSpan struct {
	from, to int64 // ns since the epoch: the first occurrence
	every    int64 // ns between occurrences, 0 for a surge that comes once
	factor   float64
}

// covers tells whether the surge is on at ns.
func (s surgeSpan) covers(ns int64) bool {
	if ns < s.from {
		return false
	}
	if s.every > 0 {
		return (ns-s.from)%s.every < s.to-s.from
	}
	return ns < s.to
}

const (
	minutesPerWeek = 7 * 24 * 60
	nsPerSecond    = int64(time.Second)
	nsPerMinute    = int64(time.Minute)
)

// NewCurve returns the rate curve of cfg's whole stream (all partitions): cfg.Rate shaped by
// the daily and weekly pattern unless cfg.Flat, times cfg.Surges placed relative to
// cfg.Start (DefaultStart when zero).
func NewCurve(cfg Config) (*Curve, error) {
	if math.IsNaN(cfg.Rate) || math.IsInf(cfg.Rate, 0) || cfg.Rate <= 0 {
		return nil, fmt.Errorf("gen: curve: Rate must be a positive number of records per second, got %g", cfg.Rate)
	}
	start := cfg.Start
	if start.IsZero() {
		start = DefaultStart
	}
	c := &Curve{rate: cfg.Rate, flat: cfg.Flat}
	if !cfg.Flat {
		c.week = weekShape()
	}
	for i, s := range cfg.Surges {
		if err := s.validate(); err != nil {
			return nil, fmt.Errorf("gen: curve: surge %d (%s): %w", i, s, err)
		}
		from, to := s.window(start)
		span := surgeSpan{from: from, to: to, factor: s.Factor}
		if s.Daily {
			span.every = int64(24 * time.Hour)
		}
		c.surges = append(c.surges, span)
	}
	return c, nil
}

// Mean is the rate the curve averages to over a week without surges.
func (c *Curve) Mean() float64 { return c.rate }

// RateAt returns the rate in records per second at event time t.
func (c *Curve) RateAt(t time.Time) float64 { return c.rateAt(t.UnixNano()) }

// rateAt is RateAt for nanoseconds since the epoch.
func (c *Curve) rateAt(ns int64) float64 {
	r := c.shapeAt(ns)
	for _, s := range c.surges {
		if s.covers(ns) {
			r *= s.factor
		}
	}
	return r
}

// shapeAt is the rate at ns without surges: the mean shaped by the daily and weekly pattern.
func (c *Curve) shapeAt(ns int64) float64 {
	if c.flat {
		return c.rate
	}
	minute := civil.FloorDiv(ns, nsPerMinute)
	// The epoch fell on a Thursday, day 3 of a week counted from Monday.
	m := floorMod(minute+3*24*60, minutesPerWeek)
	frac := float64(ns-minute*nsPerMinute) / float64(nsPerMinute)
	return c.rate * (c.week[m] + (c.week[m+1]-c.week[m])*frac)
}

// Expected returns how many records the stream is expected to hold with event times in
// [from, to): the integral of the rate as the generator samples it, constant within each
// whole second.
func (c *Curve) Expected(from, to time.Time) float64 {
	a, b := from.UnixNano(), to.UnixNano()
	var sum float64
	for a < b {
		next := (civil.FloorDiv(a, nsPerSecond) + 1) * nsPerSecond
		end := min(next, b)
		sum += c.rateAt(civil.FloorDiv(a, nsPerSecond)*nsPerSecond) * float64(end-a) / float64(nsPerSecond)
		a = end
	}
	return sum
}

// Day factors scale each day of the week, Monday first.
var dayFactors = [7]float64{0.96, 0.97, 1.0, 1.03, 1.12, 1.0, 0.78}

// weekShape returns per-minute rate multipliers for a week from Monday 00:00 UTC, normalised
// to mean 1, with one extra entry equal to the first for interpolation across the week's end.
func weekShape() []float64 {
	w := make([]float64, minutesPerWeek+1)
	var sum float64
	for m := range minutesPerWeek {
		day := m / (24 * 60)
		h := float64(m%(24*60)) / 60
		var v float64
		if day < 5 {
			v = 0.12 + 0.45*bump(h, 8.5, 1.2) + 1.0*bump(h, 12.75, 1.6) + 0.9*bump(h, 18.5, 2.2)
		} else {
			v = 0.12 + 0.8*bump(h, 13, 2.5) + 0.75*bump(h, 19.5, 2.2)
		}
		v *= dayFactors[day]
		w[m] = v
		sum += v
	}
	mean := sum / minutesPerWeek
	for m := range minutesPerWeek {
		w[m] /= mean
	}
	w[minutesPerWeek] = w[0]
	return w
}

// bump is a bell of width sd hours around hour mu on the 24-hour circle.
func bump(h, mu, sd float64) float64 {
	d := math.Mod(h-mu+36, 24) - 12
	return math.Exp(-d * d / (2 * sd * sd))
}

// floorMod is the remainder of civil.FloorDiv: it has the sign of b.
func floorMod(a, b int64) int64 { return a - civil.FloorDiv(a, b)*b }
