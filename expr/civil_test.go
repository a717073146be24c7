package expr

import (
	"millrace/civil"
	"testing"
	"time"
)

// TestCivilAgainstTime compares the calendar arithmetic with the time package over a wide
// range of days, both sides of the epoch and across leap years and centuries.
func TestCivilAgainstTime(t *testing.T) {
	epoch := time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)
	for days := int64(-800_000); days <= 800_000; days += 7 {
		tm := epoch.AddDate(0, 0, int(days))
		y, m, d := civil.Date(days)
		if y != int64(tm.Year()) || m != int64(tm.Month()) || d != int64(tm.Day()) {
			t.Fatalf("civil.Date(%d) = %d-%d-%d, want %s", days, y, m, d, tm.Format(time.DateOnly))
		}
		if back := civil.Days(y, m, d); back != days {
			t.Fatalf("civil.Days(%d-%d-%d) = %d, want %d", y, m, d, back, days)
		}
	}
}

func TestParseTimestamp(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"2024-01-01T00:00:00Z", "2024-01-01T00:00:00.000Z"},
		{"2024-03-01T12:00:00+01:00", "2024-03-01T11:00:00.000Z"},
		{"2024-03-01T00:30:00-01:30", "2024-03-01T02:00:00.000Z"},
		{"2024-03-01T00:30:00+0130", "2024-02-29T23:00:00.000Z"},
		{"2024-03-01 12:34:56.7891Z", "2024-03-01T12:34:56.789Z"},
		{"2024-03-01T12:34:56.7", "2024-03-01T12:34:56.700Z"},
		{"2024-03-01T12:34", "2024-03-01T12:34:00.000Z"},
		{"2024-03-01", "2024-03-01T00:00:00.000Z"},
		{"1969-12-31T23:59:59.999Z", "1969-12-31T23:59:59.999Z"},
		{"2000-02-29T00:00:00z", "2000-02-29T00:00:00.000Z"},
	} {
		ms, err := parseTimestamp(tc.in)
		if err != nil {
			t.Errorf("parseTimestamp(%q): %v", tc.in, err)
			continue
		}
		if got := string(civil.AppendTimestamp(nil, ms)); got != tc.want {
			t.Errorf("parseTimestamp(%q) = %s, want %s", tc.in, got, tc.want)
		}
		ref, err := time.Parse(time.RFC3339Nano, tc.want)
		if err != nil || ref.UnixMilli() != ms {
			t.Errorf("%q: %d ms, time says %d (%v)", tc.in, ms, ref.UnixMilli(), err)
		}
	}
	for _, bad := range []string{"", "2024", "2024-02-30", "2023-02-29T00:00:00Z", "2024-01-01X00:00:00Z",
		"2024-01-01T24:00:00Z", "2024-01-01T00:60:00Z", "2024-01-01T00:00:60Z", "2024-01-01T00:00:00.Z",
		"2024-01-01T00:00:00+25:00", "2024-01-01T00:00:00Zjunk", "2024-01-01T0:00:00Z"} {
		if ms, err := parseTimestamp(bad); err == nil {
			t.Errorf("parseTimestamp(%q) = %d, want an error", bad, ms)
		}
	}
}

func TestAppendTimestampAndDate(t *testing.T) {
	for _, ms := range []int64{0, -1, 1, 951782400000, -62135596800000, 253402300799999, 1709251199999} {
		want := time.UnixMilli(ms).UTC().Format("2006-01-02T15:04:05.000Z")
		if got := string(civil.AppendTimestamp(nil, ms)); got != want {
			t.Errorf("civil.AppendTimestamp(%d) = %s, want %s", ms, got, want)
		}
	}
	if got := string(civil.AppendDate(nil, civil.Days(-1, 12, 31))); got != "-1-12-31" {
		t.Errorf("a date before year 0 reads %s", got)
	}
	for _, s := range []string{"2024-02-29", "1970-01-01", "1900-03-01", "9999-12-31"} {
		d, err := parseDate(s)
		if err != nil || string(civil.AppendDate(nil, int64(d))) != s {
			t.Errorf("date %s round trip: %d %v", s, d, err)
		}
	}
}

func TestParseInterval(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
	}{
		{"5 minutes", 5 * msPerMinute},
		{"1 hour 30 minutes", 90 * msPerMinute},
		{"90s", 90 * msPerSecond},
		{"-2 days", -2 * msPerDay},
		{"1 WEEK", 7 * msPerDay},
		{"250 ms", 250},
	} {
		got, err := parseInterval(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("parseInterval(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "5", "minutes", "1 month", "x minutes", "99999999999999999 days"} {
		if _, err := parseInterval(bad); err == nil {
			t.Errorf("parseInterval(%q) succeeded", bad)
		}
	}
	for ms, want := range map[int64]string{
		0: "00:00:00", 90 * msPerMinute: "01:30:00", msPerDay + 1: "1 day 00:00:00.001",
		-3 * msPerDay: "-3 days 00:00:00",
	} {
		if got := string(appendInterval(nil, ms)); got != want {
			t.Errorf("appendInterval(%d) = %q, want %q", ms, got, want)
		}
	}
}
