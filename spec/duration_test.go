package spec

import (
	"strings"
	"testing"
	"time"
)

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		err  string // a part of the error, or "" for none
	}{
		{"5s", 5 * time.Second, ""},
		{"200ms", 200 * time.Millisecond, ""},
		{"10m", 10 * time.Minute, ""},
		{"1h30m", 90 * time.Minute, ""},
		{"1.5h", 90 * time.Minute, ""},
		{"1d", 24 * time.Hour, ""},
		{"1.5d", 36 * time.Hour, ""},
		{"2d12h", 60 * time.Hour, ""},
		{"12h2d", 60 * time.Hour, ""},
		{"1d1ns", 24*time.Hour + 1, ""},
		{" 7d ", 7 * 24 * time.Hour, ""},
		{"-1d", -24 * time.Hour, ""},
		{"0", 0, ""},
		{"0s", 0, ""},
		{"5", 0, "5 needs a unit, as in 5s or 5ms"},
		{"1.5", 0, "1.5 needs a unit"},
		{"fast", 0, `"fast" is not a duration: write e.g. 5s, 200ms, 10m, 1h30m or 1d`},
		{"5x", 0, "is not a duration"},
		{"d", 0, "is not a duration"},
		{"1..5d", 0, "is not a duration"},
		{"5 s", 0, "is not a duration"},
		{"", 0, "empty duration"},
		{"300000d", 0, "too long"},
		{"106752d", 0, "too long"},
		{"106751d23h47m17s", 0, "too long"},
	}
	for _, tt := range tests {
		got, err := ParseDuration(tt.in)
		switch {
		case tt.err == "" && err != nil:
			t.Errorf("ParseDuration(%q): %v", tt.in, err)
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("ParseDuration(%q) error = %v, want one containing %q", tt.in, err, tt.err)
		case got != tt.want:
			t.Errorf("ParseDuration(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestShort(t *testing.T) {
	for d, want := range map[time.Duration]string{
		10 * time.Minute:       "10m",
		time.Hour:              "1h",
		90 * time.Minute:       "1h30m",
		30 * time.Second:       "30s",
		200 * time.Millisecond: "200ms",
		25 * time.Hour:         "25h",
	} {
		if got := short(d); got != want {
			t.Errorf("short(%s) = %q, want %q", d, got, want)
		}
	}
}
