package civil

import (
	"strings"
	"testing"
	"time"
)

func TestParseRFC3339(t *testing.T) {
	ok := []string{
		"2024-03-01T12:00:00Z", "2024-03-01T12:00:00+01:00", "2024-03-01t12:00:00.5z",
		"2024-02-29 23:59:59.999-05:30", "1969-12-31T23:59:59.999Z", "1900-01-01T00:00:00Z",
		"9999-12-31T23:59:59.999Z", "0001-01-01T00:00:00Z", "2024-03-01T12:00:00.123456789+14:00",
	}
	for _, in := range ok {
		got, err := ParseRFC3339([]byte(in))
		if err != nil {
			t.Errorf("ParseRFC3339(%q): %v", in, err)
			continue
		}
		ref, err := time.Parse(time.RFC3339Nano, strings.Replace(strings.ToUpper(in), " ", "T", 1))
		if err != nil {
			t.Fatalf("reference parse of %q: %v", in, err)
		}
		want := ref.UnixMilli()
		if ref.Nanosecond()%1e6 != 0 && ref.Before(time.Unix(0, 0)) {
			want-- // floor toward the past below the millisecond
		}
		if got != want {
			t.Errorf("ParseRFC3339(%q) = %d, want %d", in, got, want)
		}
	}
	bad := map[string]string{
		"2024-13-45T25:00:00Z": "no such date", "yesterday": "too short",
		"2023-02-29T00:00:00Z": "no such date", "2024-03-01T24:00:00Z": "no such time",
		"2024-03-01T12:00:00": "missing offset", "2024-03-01T12:00:00+0100": "offset must be",
		"2024-03-01T12:00:00.Z": "empty fraction", "2024-03-01X12:00:00Z": "want T",
		"2024-03-01T12:00:00Zjunk": "trailing", "2024/03/01T12:00:00Z": "want YYYY-MM-DD",
	}
	for in, want := range bad {
		if _, err := ParseRFC3339([]byte(in)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseRFC3339(%q) error %v, want %q", in, err, want)
		}
	}
}

func TestAppendTimestampMatchesTime(t *testing.T) {
	for _, ms := range []int64{0, -1, -86_400_000, 1_700_000_000_123, 253_402_300_799_999, 951_782_400_000, -62_135_596_800_000} {
		want := time.UnixMilli(ms).UTC().Format("2006-01-02T15:04:05.000Z")
		if got := string(AppendTimestamp(nil, ms)); got != want {
			t.Errorf("AppendTimestamp(%d) = %s, want %s", ms, got, want)
		}
		back, err := ParseRFC3339(AppendTimestamp(nil, ms))
		if err != nil || back != ms {
			t.Errorf("round trip %d: %d %v", ms, back, err)
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
		ms, err := ParseTimestamp(tc.in)
		if err != nil {
			t.Errorf("ParseTimestamp(%q): %v", tc.in, err)
			continue
		}
		if got := string(AppendTimestamp(nil, ms)); got != tc.want {
			t.Errorf("ParseTimestamp(%q) = %s, want %s", tc.in, got, tc.want)
		}
		ref, err := time.Parse(time.RFC3339Nano, tc.want)
		if err != nil || ref.UnixMilli() != ms {
			t.Errorf("%q: %d ms, time says %d (%v)", tc.in, ms, ref.UnixMilli(), err)
		}
	}
	for _, bad := range []string{"", "2024", "2024-02-30", "2023-02-29T00:00:00Z", "2024-01-01X00:00:00Z",
		"2024-01-01T24:00:00Z", "2024-01-01T00:60:00Z", "2024-01-01T00:00:60Z", "2024-01-01T00:00:00.Z",
		"2024-01-01T00:00:00+25:00", "2024-01-01T00:00:00Zjunk", "2024-01-01T0:00:00Z"} {
		if ms, err := ParseTimestamp(bad); err == nil {
			t.Errorf("ParseTimestamp(%q) = %d, want an error", bad, ms)
		}
	}
}

func TestAppendDateRoundTrip(t *testing.T) {
	if got := string(AppendDate(nil, Days(-1, 12, 31))); got != "-1-12-31" {
		t.Errorf("a date before year 0 reads %s", got)
	}
	for _, s := range []string{"2024-02-29", "1970-01-01", "1900-03-01", "9999-12-31"} {
		d, err := ParseDate(s)
		if err != nil || string(AppendDate(nil, int64(d))) != s {
			t.Errorf("date %s round trip: %d %v", s, d, err)
		}
	}
}

func TestFloorDiv(t *testing.T) {
	for _, c := range []struct{ a, b, want int64 }{
		{7, 2, 3}, {-7, 2, -4}, {7, -2, -4}, {-7, -2, 3}, {-1, 1000, -1}, {-1000, 1000, -1}, {0, 5, 0}, {-86_400_001, 86_400_000, -2},
	} {
		if got := FloorDiv(c.a, c.b); got != c.want {
			t.Errorf("FloorDiv(%d, %d) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
}

func BenchmarkParseRFC3339(b *testing.B) {
	in := []byte("2024-03-01T12:34:56.789Z")
	for b.Loop() {
		if _, err := ParseRFC3339(in); err != nil {
			b.Fatal(err)
		}
	}
}

// TestParseRecordTimestamp reads timestamps without an offset in the zone given, as the time
// package does, and those with one as RFC 3339 says, whatever the zone.
func TestParseRecordTimestamp(t *testing.T) {
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		in   string
		zone *time.Location
		want time.Time
	}{
		{"2026-03-02 00:00:01.494", nil, time.Date(2026, 3, 2, 0, 0, 1, 494e6, time.UTC)},
		{"2026-03-02T00:00:01", time.UTC, time.Date(2026, 3, 2, 0, 0, 1, 0, time.UTC)},
		{"2026-03-02 00:00:01.494", paris, time.Date(2026, 3, 2, 0, 0, 1, 494e6, paris)},
		{"2026-07-02 00:00:01.5", paris, time.Date(2026, 7, 2, 0, 0, 1, 5e8, paris)}, // summer time
		{"2026-03-29 02:30:00", paris, time.Date(2026, 3, 29, 2, 30, 0, 0, paris)},   // skipped by the change
		{"2026-03-02 00:00:01.494Z", paris, time.Date(2026, 3, 2, 0, 0, 1, 494e6, time.UTC)},
		{"2026-03-02 00:00:01+05:30", paris, time.Date(2026, 3, 1, 18, 30, 1, 0, time.UTC)},
		{"1969-12-31 23:59:59.999", nil, time.Date(1969, 12, 31, 23, 59, 59, 999e6, time.UTC)},
	}
	for _, c := range cases {
		got, err := ParseRecordTimestamp(c.in, c.zone)
		if err != nil {
			t.Errorf("%s in %v: %v", c.in, c.zone, err)
			continue
		}
		if want := c.want.UnixMilli(); got != want {
			t.Errorf("%s in %v = %s, want %s", c.in, c.zone, time.UnixMilli(got).UTC(), c.want.UTC())
		}
	}
	for _, in := range []string{"2026-03-02 00:00", "2026-03-02", "2026-03-02 00:00:01 UTC", "02/03/2026 00:00:01"} {
		if _, err := ParseRecordTimestamp(in, nil); err == nil || !strings.Contains(err.Error(), "want YYYY-MM-DDTHH:MM:SS[.fff] then Z, ±HH:MM or nothing") {
			t.Errorf("%s: %v", in, err)
		}
	}
}
