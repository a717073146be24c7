package expr

import "testing"

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
