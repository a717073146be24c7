package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestProgressShowsRateAndETA(t *testing.T) {
	var buf bytes.Buffer
	now := time.Unix(0, 0)
	p := &progress{w: &buf, tty: true, what: "gen", total: 10_000, every: time.Second, now: func() time.Time { return now }}
	p.update(0, 0)
	now = now.Add(500 * time.Millisecond)
	p.update(1000, 1000) // too soon: nothing drawn
	if buf.Len() != 0 {
		t.Fatalf("drew before the interval: %q", buf.String())
	}
	now = now.Add(1500 * time.Millisecond)
	p.update(2500, 2500)
	got := buf.String()
	for _, want := range []string{"\r\033[K", "gen: 2,500 rows", "1250 rows/s", "25%", "ETA 6s"} {
		if !strings.Contains(got, want) {
			t.Errorf("progress %q lacks %q", got, want)
		}
	}
	p.done()
	if !strings.HasSuffix(buf.String(), "\r\033[K") {
		t.Errorf("done did not clear the line")
	}

	buf.Reset()
	plain := &progress{w: &buf, what: "inspect", every: time.Second, now: func() time.Time { return now }}
	plain.update(0, 0)
	now = now.Add(2 * time.Second)
	plain.update(1_234_567, 0)
	if got := buf.String(); got != "inspect: 1,234,567 rows, 617k rows/s\n" {
		t.Errorf("plain progress %q", got)
	}
}
