package format

import (
	"millrace/civil"
	"strings"
	"testing"
	"time"
)

func TestParseTimestamp(t *testing.T) {
	ok := []string{
		"2024-03-01T12:00:00Z", "2024-03-01T12:00:00+01:00", "2024-03-01t12:00:00.5z",
		"2024-02-29 23:59:59.999-05:30", "1969-12-31T23:59:59.999Z", "1900-01-01T00:00:00Z",
		"9999-12-31T23:59:59.999Z", "0001-01-01T00:00:00Z", "2024-03-01T12:00:00.123456789+14:00",
	}
	for _, in := range ok {
		got, err := parseTimestamp([]byte(in))
		if err != nil {
			t.Errorf("parseTimestamp(%q): %v", in, err)
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
			t.Errorf("parseTimestamp(%q) = %d, want %d", in, got, want)
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
		if _, err := parseTimestamp([]byte(in)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("parseTimestamp(%q) error %v, want %q", in, err, want)
		}
	}
}

func TestAppendTimestampMatchesTime(t *testing.T) {
	for _, ms := range []int64{0, -1, -86_400_000, 1_700_000_000_123, 253_402_300_799_999, 951_782_400_000, -62_135_596_800_000} {
		want := time.UnixMilli(ms).UTC().Format("2006-01-02T15:04:05.000Z")
		if got := string(civil.AppendTimestamp(nil, ms)); got != want {
			t.Errorf("civil.AppendTimestamp(%d) = %s, want %s", ms, got, want)
		}
		back, err := parseTimestamp(civil.AppendTimestamp(nil, ms))
		if err != nil || back != ms {
			t.Errorf("round trip %d: %d %v", ms, back, err)
		}
	}
}

func TestParseDate(t *testing.T) {
	d, err := parseDate([]byte("2024-02-29"))
	if err != nil || d != int32(time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC).Unix()/86400) {
		t.Fatalf("got %d %v", d, err)
	}
	if _, err := parseDate([]byte("2023-02-29")); err == nil {
		t.Fatal("accepted 2023-02-29")
	}
}
