package scale

import (
	"strings"
	"testing"
	"time"
)

func TestForesightSaysWhichModelForecastsAndWhy(t *testing.T) {
	fleet := FleetConfig{Policy: Policy{Mode: Predictive, Limits: DefaultLimits()}, CapacityPerWorker: 500, Startup: 2 * time.Minute,
		SLOLag: 30 * time.Second}
	// A fixed model says it was configured, and forecasts what it remembered.
	fs, err := NewForesight(ForesightConfig{Step: time.Minute, Model: ModelProfile, Fleet: fleet})
	if err != nil {
		t.Fatal(err)
	}
	trace := WeekWithNightlySurge()
	for _, p := range trace[:1440+171] { // a day, then to 02:51
		fs.Observe(p.Time.Add(time.Minute), p.Rate)
	}
	pred, why := fs.Forecast(10 * time.Minute)
	if pred.Mean < 25000 || !strings.HasPrefix(why, "model profile (configured): ") || !strings.Contains(why, "at 03:00 remembered from Mon 2024-01-01") {
		t.Errorf("at 02:51 on the second night: %+v, %q", pred, why)
	}
	// Auto starts with Holt-Winters and picks by backtest at the first midnight.
	fs, err = NewForesight(ForesightConfig{Step: time.Minute, Fleet: fleet})
	if err != nil {
		t.Fatal(err)
	}
	if _, why := fs.Forecast(10 * time.Minute); fs.Model() != ModelHoltWinters || why != "model holt-winters (no history to backtest yet)" {
		t.Errorf("before any history: %v, %q", fs.Model(), why)
	}
	for _, p := range trace[:1441] {
		fs.Observe(p.Time.Add(time.Minute), p.Rate)
	}
	if _, why := fs.Forecast(10 * time.Minute); fs.Model() != ModelProfile ||
		!strings.Contains(why, "picked by a backtest of the last 1d: violation minutes reactive 4, holt-winters 4, profile 0, profile+calendar 0") {
		t.Errorf("after the first day: %v, %q", fs.Model(), why)
	}
}

func TestNewForesightChecksItsConfig(t *testing.T) {
	for _, c := range []struct {
		cfg  ForesightConfig
		want string
	}{
		{ForesightConfig{}, "step 0s must be positive"},
		{ForesightConfig{Step: time.Second, Season: time.Hour, Model: ModelProfileCalendar}, "needs days of 24h, not 1h0m0s"},
		{ForesightConfig{Step: time.Second, Calendar: Calendar{Paydays: []int{32}}}, "payday 32"},
	} {
		if _, err := NewForesight(c.cfg); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.cfg, err, c.want)
		}
	}
	if _, err := ParseModel("oracle"); err == nil {
		t.Error("ParseModel took oracle")
	}
	for _, m := range []Model{Auto, ModelReactive, ModelHoltWinters, ModelProfile, ModelProfileCalendar} {
		if got, err := ParseModel(m.String()); err != nil || got != m {
			t.Errorf("%v: %v, %v", m, got, err)
		}
	}
}
