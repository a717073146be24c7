package gen

import (
	"strings"
	"testing"
	"time"
)

func TestParseSurges(t *testing.T) {
	got, err := ParseSurges(" 03:00x10, 14:30:15x2.5/10m ,+5mx3/1h, daily 03:00x4/30m", 45*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	want := []Surge{
		{At: 3 * time.Hour, For: 45 * time.Minute, Factor: 10},
		{At: 14*time.Hour + 30*time.Minute + 15*time.Second, For: 10 * time.Minute, Factor: 2.5},
		{At: 5 * time.Minute, Relative: true, For: time.Hour, Factor: 3},
		{At: 3 * time.Hour, Daily: true, For: 30 * time.Minute, Factor: 4},
	}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("surge %d: got %+v, want %+v", i, got[i], want[i])
		}
		// String writes what ParseSurges reads.
		back, err := ParseSurges(got[i].String(), time.Minute)
		if err != nil || len(back) != 1 || back[0] != got[i] {
			t.Errorf("surge %d: %q read back as %v, %v", i, got[i].String(), back, err)
		}
	}
	if s, err := ParseSurges("  ", time.Minute); err != nil || s != nil {
		t.Errorf("empty text: %v, %v", s, err)
	}
	for _, bad := range []string{"03:00", "25:00x2", "03:60x2", "3x2", "03:00xten", "03:00x0", "03:00x-1",
		"03:00x2/soon", "03:00x2/-5m", "+fivex2", "03:00x2,", "+-5mx2", "daily +5mx2", "daily 03:00x2/24h"} {
		if _, err := ParseSurges(bad, time.Minute); err == nil || !strings.Contains(err.Error(), "gen: surge") {
			t.Errorf("ParseSurges(%q) = %v, want an error naming the surge", bad, err)
		}
	}
}

func TestSurgeWindow(t *testing.T) {
	start := time.Date(2024, 5, 6, 3, 10, 0, 0, time.UTC)
	at := func(ns int64) time.Time { return time.Unix(0, ns).UTC() }
	for _, tc := range []struct {
		s    Surge
		from time.Time
	}{
		// In progress at the start: it counts from its beginning that day.
		{Surge{At: 3 * time.Hour, For: 30 * time.Minute, Factor: 2}, time.Date(2024, 5, 6, 3, 0, 0, 0, time.UTC)},
		// Ended before the start: tomorrow.
		{Surge{At: 2 * time.Hour, For: 30 * time.Minute, Factor: 2}, time.Date(2024, 5, 7, 2, 0, 0, 0, time.UTC)},
		{Surge{At: 20 * time.Hour, For: time.Minute, Factor: 2}, time.Date(2024, 5, 6, 20, 0, 0, 0, time.UTC)},
		{Surge{At: 90 * time.Minute, Relative: true, For: time.Minute, Factor: 2}, start.Add(90 * time.Minute)},
	} {
		from, to := tc.s.window(start)
		if !at(from).Equal(tc.from) || to-from != int64(tc.s.For) {
			t.Errorf("%s from %s: window %s..%s, want from %s for %s", tc.s, start, at(from), at(to), tc.from, tc.s.For)
		}
	}
}
