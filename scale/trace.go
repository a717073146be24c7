package scale

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"millrace/wyrand"
)

// Point is one step of a load trace: the rate arriving from Time until the next point.
type Point struct {
	Time time.Time
	Rate float64 // records/s
}

// ReadTraceFile reads a load trace CSV; see ReadTrace.
func ReadTraceFile(path string) ([]Point, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read trace: %w", err)
	}
	defer f.Close()
	return ReadTrace(f, path)
}

// ReadTrace reads a load trace: a CSV with the header `time,rate`, then one row per step.
// time is RFC 3339 or seconds since the Unix epoch; rate is records per second, finite and
// not negative. Blank lines and lines starting with # are skipped. The rows must be at one
// regular step: a gap, a repeated time or a row out of order is an error naming the line
// (a trace is never resampled, so what is simulated is what the file says). name is used
// in errors, as name:line.
func ReadTrace(r io.Reader, name string) ([]Point, error) {
	sc := bufio.NewScanner(r)
	var pts []Point
	header := false
	var step time.Duration
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		fields := strings.Split(text, ",")
		if !header {
			if len(fields) != 2 || !strings.EqualFold(strings.TrimSpace(fields[0]), "time") ||
				!strings.EqualFold(strings.TrimSpace(fields[1]), "rate") {
				return nil, fmt.Errorf("%s:%d: header %q, want time,rate", name, line, text)
			}
			header = true
			continue
		}
		if len(fields) != 2 {
			return nil, fmt.Errorf("%s:%d: %d fields in %q, want time,rate", name, line, len(fields), text)
		}
		t, err := parseTraceTime(strings.TrimSpace(fields[0]))
		if err != nil {
			return nil, fmt.Errorf("%s:%d: time: %w", name, line, err)
		}
		rate, err := strconv.ParseFloat(strings.TrimSpace(fields[1]), 64)
		if err != nil || math.IsNaN(rate) || math.IsInf(rate, 0) || rate < 0 {
			return nil, fmt.Errorf("%s:%d: rate %q is not a finite number of records/s, 0 or more", name, line, strings.TrimSpace(fields[1]))
		}
		if n := len(pts); n > 0 {
			d := t.Sub(pts[n-1].Time)
			switch {
			case d <= 0:
				return nil, fmt.Errorf("%s:%d: time %s is not after the row before (%s)", name, line,
					t.Format(time.RFC3339), pts[n-1].Time.Format(time.RFC3339))
			case n == 1:
				step = d
			case d != step:
				return nil, fmt.Errorf("%s:%d: time %s is %v after the row before, but the trace's step is %v (irregular traces are not resampled)",
					name, line, t.Format(time.RFC3339), d, step)
			}
		}
		pts = append(pts, Point{Time: t, Rate: rate})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read trace %s: %w", name, err)
	}
	if !header {
		return nil, fmt.Errorf("%s: empty trace, want the header time,rate and rows", name)
	}
	if len(pts) < 2 {
		return nil, fmt.Errorf("%s: %d rows, want at least 2 to know the step", name, len(pts))
	}
	return pts, nil
}

func parseTraceTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, fmt.Errorf("empty")
	}
	if c := s[0]; c >= '0' && c <= '9' && !strings.ContainsAny(s, "-:T") {
		sec, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsInf(sec, 0) {
			return time.Time{}, fmt.Errorf("%q is neither RFC 3339 nor epoch seconds", s)
		}
		whole := math.Floor(sec)
		return time.Unix(int64(whole), int64(math.Round((sec-whole)*1e9))).UTC(), nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither RFC 3339 nor epoch seconds", s)
	}
	return t, nil
}

// TraceStep returns the step between a trace's points, or 0 for fewer than two.
func TraceStep(pts []Point) time.Duration {
	if len(pts) < 2 {
		return 0
	}
	return pts[1].Time.Sub(pts[0].Time)
}

// WriteTrace writes pts as a trace CSV that ReadTrace reads back: times in RFC 3339 UTC,
// rates rounded to whole records/s.
func WriteTrace(w io.Writer, pts []Point) error {
	bw := bufio.NewWriter(w)
	if _, err := bw.WriteString("time,rate\n"); err != nil {
		return err
	}
	for _, p := range pts {
		if _, err := fmt.Fprintf(bw, "%s,%.0f\n", p.Time.UTC().Format(time.RFC3339), p.Rate); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// traceStart is where the example traces begin: Monday 1 January 2024, midnight UTC.
var traceStart = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// dailyRate is the example traces' daily curve: 6k/s at 04:00 rising to 14k/s at 16:00.
func dailyRate(t time.Time) float64 {
	h := float64(t.Hour()) + float64(t.Minute())/60
	return 6000 + 8000*(0.5-0.5*math.Cos(2*math.Pi*(h-4)/24))
}

// noise returns a deterministic factor in [1-a, 1+a].
func noise(r *wyrand.Source, a float64) float64 {
	u := float64(r.Next()>>11) / (1 << 53)
	return 1 + a*(2*u-1)
}

// WeekWithNightlySurge returns the trace in examples/traces/week-nightly-surge.csv: a week
// at 1-minute steps from 2024-01-01, the daily curve of 6k/s to 14k/s with ±3% noise, and
// every night at 03:00 a batch surge to 5 times the rate (3 times in its first minute) for
// 20 minutes.
func WeekWithNightlySurge() []Point {
	r := wyrand.Source{State: wyrand.Mix64(1)}
	pts := make([]Point, 0, 7*24*60)
	for i := range 7 * 24 * 60 {
		t := traceStart.Add(time.Duration(i) * time.Minute)
		rate := dailyRate(t) * noise(&r, 0.03)
		if t.Hour() == 3 && t.Minute() < 20 {
			rate *= 5
			if t.Minute() == 0 {
				rate = rate * 3 / 5
			}
		}
		pts = append(pts, Point{Time: t, Rate: math.Round(rate)})
	}
	return pts
}

// MonthEnd returns the trace in examples/traces/month-end.csv: January to March 2024 at
// 5-minute steps, the daily curve with ±3% noise, and the events of MonthEndCalendar: on
// the last business day of each month the close, from 17:00 to 21:00 at 4 times the curve;
// on each payday (the 15th, or the business day before it) from 08:00 to 10:00 at 2.5
// times the curve; on a holiday half the curve all day. The last business days are
// Wednesday 31 January, Thursday 29 February and Thursday 28 March (the 29th is Good
// Friday); Sunday 31 March is a month end with no close.
func MonthEnd() []Point {
	r := wyrand.Source{State: wyrand.Mix64(2)}
	const step = 5 * time.Minute
	cd := newCalendarDays(MonthEndCalendar())
	end := time.Date(2024, 4, 1, 0, 0, 0, 0, time.UTC)
	pts := make([]Point, 0, int(end.Sub(traceStart)/step))
	for t := traceStart; t.Before(end); t = t.Add(step) {
		rate := dailyRate(t) * noise(&r, 0.03)
		for _, e := range cd.Events(dayOf(t)) {
			switch {
			case e.Kind == EventLastBusinessDay && t.Hour() >= 17 && t.Hour() < 21:
				rate *= 4
			case e.Kind == EventPayday && t.Hour() >= 8 && t.Hour() < 10:
				rate *= 2.5
			case e.Kind == EventHoliday:
				rate *= 0.5
			}
		}
		pts = append(pts, Point{Time: t, Rate: math.Round(rate)})
	}
	return pts
}

// MonthEndCalendar is the calendar of the month-end trace, and of
// examples/traces/month-end.calendar.yaml: paydays on the 15th, New Year's Day and Good
// Friday off.
func MonthEndCalendar() Calendar {
	return Calendar{Paydays: []int{15}, Holidays: []Holiday{{Date: "2024-01-01", Name: "New Year's Day"},
		{Date: "2024-03-29", Name: "Good Friday"}}}
}
