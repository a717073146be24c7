package gen

import (
	"context"
	"errors"
	"io"
	"math"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"

	"millrace/schema"
)

func TestCurveDailyShape(t *testing.T) {
	c, err := NewCurve(Config{Rate: 1000})
	if err != nil {
		t.Fatal(err)
	}
	// Every day of a week starting on Monday 2024-01-01: night low, midday and evening high.
	for d := range 7 {
		day := DefaultStart.AddDate(0, 0, d)
		night := c.RateAt(day.Add(3*time.Hour + 30*time.Minute))
		noon := c.RateAt(day.Add(12*time.Hour + 45*time.Minute))
		evening := c.RateAt(day.Add(19 * time.Hour))
		if night*3 > noon || night*3 > evening {
			t.Errorf("%s: night %.0f/s, noon %.0f/s, evening %.0f/s: want the night below a third of both",
				day.Weekday(), night, noon, evening)
		}
		if night <= 0 {
			t.Errorf("%s: night rate %g", day.Weekday(), night)
		}
	}
	mon, sat, sun := DefaultStart, DefaultStart.AddDate(0, 0, 5), DefaultStart.AddDate(0, 0, 6)
	// Weekends start later: 08:30 is a morning peak on Monday but quiet on Saturday.
	if c.RateAt(mon.Add(8*time.Hour+30*time.Minute)) < 1.5*c.RateAt(sat.Add(8*time.Hour+30*time.Minute)) {
		t.Error("Saturday 08:30 is not much quieter than Monday 08:30")
	}
	// Sunday is the quietest day.
	if day := func(d time.Time) float64 { return c.Expected(d, d.AddDate(0, 0, 1)) }; day(sun) >= day(mon) || day(sun) >= day(sat) {
		t.Errorf("Sunday %.0f rows, Monday %.0f, Saturday %.0f: want Sunday the lowest", day(sun), day(mon), day(sat))
	}
}

func TestCurveMeanOverWeek(t *testing.T) {
	c, _ := NewCurve(Config{Rate: 250})
	// Any week-long window averages to the rate.
	for _, from := range []time.Time{DefaultStart, time.Date(2031, 7, 17, 13, 37, 5, 0, time.UTC), time.Date(1969, 12, 30, 0, 0, 0, 0, time.UTC)} {
		got := c.Expected(from, from.AddDate(0, 0, 7)) / (7 * 86400)
		if math.Abs(got-250) > 0.01 {
			t.Errorf("week from %s averages %g/s, want 250", from, got)
		}
	}
	if c.Mean() != 250 {
		t.Errorf("Mean() = %g", c.Mean())
	}
}

func TestCurveFlatAndSurges(t *testing.T) {
	start := time.Date(2024, 2, 1, 0, 0, 0, 0, time.UTC)
	surges, err := ParseSurges("03:00x10/30m,03:20x2/1h,+12hx3/1m", DefaultSurgeFor)
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewCurve(Config{Rate: 100, Flat: true, Start: start, Surges: surges})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		at   time.Duration
		want float64
	}{
		{2*time.Hour + 59*time.Minute, 100},
		{3 * time.Hour, 1000},
		{3*time.Hour + 25*time.Minute, 2000}, // two surges multiply
		{3*time.Hour + 30*time.Minute, 200},
		{4*time.Hour + 20*time.Minute, 100},
		{12*time.Hour + 30*time.Second, 300},
		{27 * time.Hour, 100}, // a surge happens once, unless daily
	} {
		if got := c.RateAt(start.Add(tc.at)); math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("rate at +%s = %g, want %g", tc.at, got, tc.want)
		}
	}
	if got := c.Expected(start.Add(3*time.Hour), start.Add(3*time.Hour+10*time.Minute)); math.Abs(got-600_000) > 1e-6 {
		t.Errorf("Expected over 10 surging minutes = %g, want 600000", got)
	}
	// Surges multiply the shaped curve too.
	shaped, _ := NewCurve(Config{Rate: 100, Start: start})
	surged, _ := NewCurve(Config{Rate: 100, Start: start, Surges: surges[:1]})
	at := start.Add(3*time.Hour + 10*time.Minute)
	if r := surged.RateAt(at) / shaped.RateAt(at); math.Abs(r-10) > 1e-9 {
		t.Errorf("surge multiplies the shaped rate by %g, want 10", r)
	}
	if _, err := NewCurve(Config{Rate: -1}); err == nil {
		t.Error("NewCurve accepted a negative rate")
	}
	// A daily surge comes back every day, and only for its span.
	daily, err := ParseSurges("daily 03:00x4/30m", DefaultSurgeFor)
	if err != nil {
		t.Fatal(err)
	}
	every, _ := NewCurve(Config{Rate: 100, Flat: true, Start: start.Add(5 * time.Hour), Surges: daily})
	for at, want := range map[time.Duration]float64{3 * time.Hour: 100, 27 * time.Hour: 400, 27*time.Hour + 29*time.Minute: 400,
		27*time.Hour + 30*time.Minute: 100, 51*time.Hour + 10*time.Minute: 400, 52 * time.Hour: 100} {
		if got := every.RateAt(start.Add(at)); got != want {
			t.Errorf("daily surge: rate at +%s = %g, want %g", at, got, want)
		}
	}
}

// The generator follows the curve: rows per hour across a day match Expected.
func TestGeneratorFollowsCurve(t *testing.T) {
	cfg := smallConfig()
	cfg.Rows = 0
	cfg.Rate = 20
	cfg.FraudRate = 0
	cfg.Duration = 24 * time.Hour
	cfg.Surges = []Surge{{At: 15 * time.Hour, For: time.Hour, Factor: 4}}
	g, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	perHour := make([]float64, 24)
	for {
		rec, err := g.Next(context.Background(), nil, 65536)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, ts := range rec.Column(schema.TS).(*array.Timestamp).TimestampValues() {
			perHour[(int64(ts)-DefaultStart.UnixMilli())/3_600_000]++
		}
		rec.Release()
	}
	c := g.Curve()
	for h, got := range perHour {
		from := DefaultStart.Add(time.Duration(h) * time.Hour)
		want := c.Expected(from, from.Add(time.Hour))
		if math.Abs(got-want) > 5*math.Sqrt(want) {
			t.Errorf("hour %02d: %g rows, expected %.0f", h, got, want)
		}
	}
	if perHour[15] < 2*perHour[14] {
		t.Errorf("surge hour has %g rows, the hour before %g", perHour[15], perHour[14])
	}
}
