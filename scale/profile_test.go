package scale

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// january feeds p January 2024 at 5-minute steps: 1000/s, and 4000/s from 17:00 to 21:00
// on the 31st, a month end and the last business day.
func january(p *profile) {
	for t := t0; t.Before(t0.AddDate(0, 1, 0)); t = t.Add(5 * time.Minute) {
		rate := 1000.0
		if t.Day() == 31 && t.Hour() >= 17 && t.Hour() < 21 {
			rate = 4000
		}
		p.observe(t, rate)
	}
	p.observe(t0.AddDate(0, 1, 0), 1000) // closes the last slot
}

func TestProfileWithACalendarExpectsTheNextMonthEndAndNotTheNextDay(t *testing.T) {
	cal := newProfile(5*time.Minute, 24*time.Hour, newCalendarDays(Calendar{}))
	plain := newProfile(5*time.Minute, 24*time.Hour, nil)
	january(cal)
	january(plain)
	at := func(date string, hour int) time.Time {
		d, err := time.Parse(time.DateOnly, date)
		if err != nil {
			t.Fatal(err)
		}
		return d.Add(time.Duration(hour) * time.Hour)
	}
	for _, c := range []struct {
		p        *profile
		when     time.Time
		want     float64
		because  string
		describe string
	}{
		{cal, at("2024-02-01", 17), 1000, "remembered from", "the day after the month end, with the calendar"},
		{cal, at("2024-02-07", 17), 1000, "remembered from", "the next Wednesday, with the calendar"},
		// Without one, the weekday's profile expects the close every Wednesday.
		{plain, at("2024-02-07", 17), 4000, "remembered from Wed 2024-01-31", "the next Wednesday, without"},
		{cal, at("2024-02-29", 17), 4000, "for the month end, 4.0× the ordinary day as on Wed 2024-01-31", "the next month end"},
		{cal, at("2024-02-29", 16), 1000, "", "the next month end before the close"},
		{cal, at("2024-03-29", 18), 4000, "for the last business day", "a last business day that is no month end"},
	} {
		got, why, ok := c.p.forecast(c.when, true)
		if !ok || got != c.want || !strings.Contains(why, c.because) {
			t.Errorf("%s: %v, %q, want %v with %q", c.describe, got, why, c.want, c.because)
		}
	}
	// A month end without its surge halves the factor's excess.
	for h := range 24 * 12 {
		cal.observe(at("2024-02-29", 0).Add(time.Duration(h)*5*time.Minute), 1000)
	}
	cal.observe(at("2024-03-01", 0), 1000)
	if got, _, _ := cal.forecast(at("2024-03-29", 18), false); got != 2500 {
		t.Errorf("after a month end without a close: %v, want 2500", got)
	}

	// The state round-trips, and one of another shape is refused.
	b, err := json.Marshal(cal.state())
	if err != nil {
		t.Fatal(err)
	}
	var s profileState
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	back := newProfile(5*time.Minute, 24*time.Hour, newCalendarDays(Calendar{}))
	if err := back.restore(s); err != nil {
		t.Fatal(err)
	}
	if got, _, _ := back.forecast(at("2024-03-29", 18), false); got != 2500 {
		t.Errorf("restored: %v, want 2500", got)
	}
	if err := newProfile(10*time.Minute, 24*time.Hour, nil).restore(s); err == nil {
		t.Error("a profile of 5-minute slots restored into one of 10")
	}
}

func TestProfileSlotDividesTheSeason(t *testing.T) {
	for _, c := range []struct{ step, season, want time.Duration }{
		{time.Minute, 24 * time.Hour, 5 * time.Minute},
		{10 * time.Second, 24 * time.Hour, 5 * time.Minute},
		{time.Second, 24 * time.Minute, 5 * time.Second},
		{7 * time.Second, 70 * time.Second, 7 * time.Second},
		{time.Hour, 24 * time.Hour, time.Hour},
	} {
		if got := profileSlot(c.step, c.season); got != c.want {
			t.Errorf("step %v, season %v: slot %v, want %v", c.step, c.season, got, c.want)
		}
	}
}
