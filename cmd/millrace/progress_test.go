package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"millrace/engine"
	"millrace/plan"
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

func TestRunProgressCountsBytesOfInput(t *testing.T) {
	p := &plan.Plan{Sources: []string{"tx", "refunds"}}
	st := &engine.Stats{Nodes: []engine.NodeReport{
		{Name: "tx", InputBytes: 3000, InputBytesRead: 1000},
		{Name: "refunds", InputBytes: 1000, InputBytesRead: 1000},
	}}
	if total, read, ok := inputBytes(p, st); !ok || total != 4000 || read != 2000 {
		t.Errorf("input bytes %d read %d ok %v", total, read, ok)
	}
	st.Nodes[1].InputBytes = 0 // a source that cannot tell: no percent at all
	if _, _, ok := inputBytes(p, st); ok {
		t.Error("percent claimed for a source of unknown size")
	}
}
