package gen

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// DefaultSurgeFor is how long a surge lasts when its text does not say.
const DefaultSurgeFor = 30 * time.Minute

// Surge multiplies the rate by Factor for a while, once or every day.
type Surge struct {
	// At is when the surge begins. With Relative false it is a time of day in UTC, in
	// [0, 24h): the surge is its first occurrence that has not ended at the stream's start,
	// and with Daily every occurrence from then on. With Relative true it is an offset from
	// the stream's start.
	At       time.Duration
	Relative bool
	Daily    bool
	// For is how long the surge lasts.
	For time.Duration
	// Factor multiplies the rate while the surge lasts; several surges at once multiply.
	Factor float64
}

// String formats the surge as ParseSurges reads it.
func (s Surge) String() string {
	var b strings.Builder
	if s.Daily {
		b.WriteString(dailyPrefix)
	}
	if s.Relative {
		b.WriteString("+" + s.At.String())
	} else {
		h, m, sec := int(s.At/time.Hour), int(s.At%time.Hour/time.Minute), int(s.At%time.Minute/time.Second)
		fmt.Fprintf(&b, "%02d:%02d", h, m)
		if sec != 0 {
			fmt.Fprintf(&b, ":%02d", sec)
		}
	}
	b.WriteString("x" + strconv.FormatFloat(s.Factor, 'g', -1, 64))
	b.WriteString("/" + s.For.String())
	return b.String()
}

func (s Surge) validate() error {
	switch {
	case math.IsNaN(s.Factor) || math.IsInf(s.Factor, 0) || s.Factor <= 0:
		return fmt.Errorf("factor must be a positive number, got %g", s.Factor)
	case s.For <= 0:
		return fmt.Errorf("duration must be positive, got %s", s.For)
	case s.Relative && s.At < 0:
		return fmt.Errorf("offset from the start must not be negative, got %s", s.At)
	case !s.Relative && (s.At < 0 || s.At >= 24*time.Hour):
		return fmt.Errorf("time of day must be in [00:00, 24:00), got %s", s.At)
	case s.Daily && (s.Relative || s.For >= 24*time.Hour):
		return fmt.Errorf("a daily surge starts at a time of day and lasts less than a day")
	}
	return nil
}

// window returns the surge's absolute span in nanoseconds since the epoch for a stream that
// starts at start.
func (s Surge) window(start time.Time) (from, to int64) {
	start = start.UTC()
	var t time.Time
	if s.Relative {
		t = start.Add(s.At)
	} else {
		t = time.Date(start.Year(), start.Month(), start.Day(), 0, 0, 0, 0, time.UTC).Add(s.At)
		if !t.Add(s.For).After(start) {
			t = t.Add(24 * time.Hour)
		}
	}
	return t.UnixNano(), t.Add(s.For).UnixNano()
}

// ParseSurges reads a comma-separated list of surges. Each is `AT x FACTOR [/ FOR]`:
//
//	03:00x10        from 03:00 UTC (its first occurrence) the rate is ten times higher for defaultFor
//	14:30:15x3/10m  from 14:30:15 UTC, three times, for ten minutes
//	+5mx10/1m       five minutes after the start, ten times, for one minute
//	daily 03:00x4/30m  every day from 03:00 UTC, four times, for half an hour
//
// An empty string is no surges.
func ParseSurges(text string, defaultFor time.Duration) ([]Surge, error) {
	text = strings.TrimSpace(text)
	if text == "" {
		return nil, nil
	}
	var out []Surge
	for _, item := range strings.Split(text, ",") {
		s, err := parseSurge(strings.TrimSpace(item), defaultFor)
		if err != nil {
			return nil, fmt.Errorf("gen: surge %q: %w", strings.TrimSpace(item), err)
		}
		out = append(out, s)
	}
	return out, nil
}

// dailyPrefix marks a surge that comes back every day.
const dailyPrefix = "daily "

func parseSurge(item string, defaultFor time.Duration) (Surge, error) {
	s := Surge{For: defaultFor}
	item, s.Daily = strings.CutPrefix(item, dailyPrefix)
	at, rest, ok := strings.Cut(item, "x")
	if !ok {
		return s, errors.New(`want AT x FACTOR [/ FOR], as in "03:00x10" or "+5mx3/10m"`)
	}
	factor, dur, hasDur := strings.Cut(rest, "/")
	at, factor, dur = strings.TrimSpace(at), strings.TrimSpace(factor), strings.TrimSpace(dur)
	if off, ok := strings.CutPrefix(at, "+"); ok {
		d, err := time.ParseDuration(off)
		if err != nil {
			return s, fmt.Errorf("offset %q: want a duration such as 5m or 1h30m", off)
		}
		s.At, s.Relative = d, true
	} else {
		d, err := parseTimeOfDay(at)
		if err != nil {
			return s, err
		}
		s.At = d
	}
	f, err := strconv.ParseFloat(factor, 64)
	if err != nil {
		return s, fmt.Errorf("factor %q is not a number", factor)
	}
	s.Factor = f
	if hasDur {
		d, err := time.ParseDuration(dur)
		if err != nil {
			return s, fmt.Errorf("duration %q: want a duration such as 30m", dur)
		}
		s.For = d
	}
	return s, s.validate()
}

// parseTimeOfDay reads HH:MM or HH:MM:SS.
func parseTimeOfDay(text string) (time.Duration, error) {
	parts := strings.Split(text, ":")
	if len(parts) < 2 || len(parts) > 3 {
		return 0, fmt.Errorf("time of day %q: want HH:MM or HH:MM:SS", text)
	}
	limits := []int{23, 59, 59}
	units := []time.Duration{time.Hour, time.Minute, time.Second}
	var d time.Duration
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || n > limits[i] || len(p) > 2 {
			return 0, fmt.Errorf("time of day %q: want HH:MM or HH:MM:SS", text)
		}
		d += time.Duration(n) * units[i]
	}
	return d, nil
}
