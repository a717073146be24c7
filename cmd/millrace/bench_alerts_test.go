package main

import (
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestBenchAlerts runs bench alerts on a small scale and checks that its figures are sane:
// a maximum rate, then for every variant the same transactions and the same alerts (none
// lost, none twice, whatever the sink's delivery), and latencies in order. It asserts no
// timing.
func TestBenchAlerts(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the fraud pipeline four times on a Kafka cluster in the test")
	}
	out := mustRun(t, "bench", "alerts", "--max-rows", "5000", "--load", "1s", "--checkpoint-interval", "200ms",
		"--fraud-dir", filepath.Join("..", "..", "examples"), "-p", "2")
	lines := checkAlerts(t, out)
	if !strings.HasPrefix(lines[0], "fraud-kafka at -p 2, watermark 0s, checkpoints every 200ms: at most ") {
		t.Fatalf("output:\n%s", out)
	}
	head := strings.Fields(lines[0])
	if rate, err := strconv.ParseFloat(head[len(head)-1][:len(head[len(head)-1])-3], 64); err != nil || rate <= 0 {
		t.Errorf("paced rate in %q: %v", lines[0], err)
	}
}

// TestBenchAlertsAtAFixedRate checks that --rate paces every variant at that rate without
// measuring the maximum: the header names no maximum, and each variant produces the rate
// times --load transactions. The help says so.
func TestBenchAlertsAtAFixedRate(t *testing.T) {
	if help := mustRun(t, "bench", "alerts", "--help"); !strings.Contains(help, "--rate N produces N transactions/s instead and skips measuring the maximum") ||
		!strings.Contains(help, "--rate float") {
		t.Errorf("help does not explain --rate:\n%s", help)
	}
	if testing.Short() {
		t.Skip("runs the fraud pipeline three times on a Kafka cluster in the test")
	}
	out := mustRun(t, "bench", "alerts", "--rate", "700", "--load", "1s", "--checkpoint-interval", "200ms",
		"--fraud-dir", filepath.Join("..", "..", "examples"), "-p", "1")
	lines := checkAlerts(t, out)
	if lines[0] != "fraud-kafka at -p 1, watermark 0s, checkpoints every 200ms: at 700/s:" {
		t.Errorf("header %q, want the fixed rate and no maximum", lines[0])
	}
	for _, line := range lines[2:] {
		if !strings.Contains(line, " 700 ") {
			t.Errorf("line %q: want 700 transactions (700/s for 1s)", line)
		}
	}
}

// checkAlerts checks the table and the breakdown bench alerts printed: for every variant
// the same transactions and the same alerts (none lost, none twice, whatever the sink's
// delivery), latencies in order and checkpoints taken. It returns the table's lines.
func checkAlerts(t *testing.T, out string) []string {
	t.Helper()
	t.Log("\n" + out)
	table, breakdown, ok := strings.Cut(strings.TrimSpace(out), "\n\nwhere the time goes, while the transactions were produced:\n")
	lines := strings.Split(table, "\n")
	if !ok || len(lines) != 5 {
		t.Fatalf("output:\n%s", out)
	}
	checkBreakdown(t, breakdown)
	var rows, alerts string
	for i, want := range []string{"exactly_once, commit: batch", "exactly_once, commit: checkpoint", "at_least_once"} {
		line := lines[2+i]
		if !strings.HasPrefix(line, want+" ") {
			t.Fatalf("line %d: %q, want the variant %s", 2+i, line, want)
		}
		f := strings.Fields(strings.TrimPrefix(line, want))
		// rows alerts p50 ms p99 ms max ms path ms checkpoints
		if len(f) != 11 {
			t.Fatalf("line %q: %d fields", line, len(f))
		}
		if i == 0 {
			rows, alerts = f[0], f[1]
		}
		if f[0] != rows || f[1] != alerts {
			t.Errorf("%s: %s transactions and %s alerts, the first variant %s and %s", want, f[0], f[1], rows, alerts)
		}
		if n, _ := strconv.Atoi(f[1]); n == 0 {
			t.Errorf("%s: no alert", want)
		}
		var q []time.Duration
		for _, k := range []int{2, 4, 6} {
			d, err := time.ParseDuration(f[k] + f[k+1])
			if err != nil || d <= 0 {
				t.Fatalf("%s: latency %q %q: %v", want, f[k], f[k+1], err)
			}
			q = append(q, d)
		}
		if q[0] > q[1] || q[1] > q[2] {
			t.Errorf("%s: p50 %s, p99 %s, max %s out of order", want, q[0], q[1], q[2])
		}
		if n, _ := strconv.Atoi(f[10]); n == 0 {
			t.Errorf("%s: no checkpoint", want)
		}
	}
	return lines
}

// checkBreakdown checks that bench alerts says, for every variant, how long its
// transactions took to be read by the source, how long its alerts took to be produced and
// then read, the path to each step from the source up to the alert sink, the keyed
// features steps among them, that those steps (and only they) held transactions for the
// watermark, and that checkpoints paused them.
func checkBreakdown(t *testing.T, breakdown string) {
	t.Helper()
	lines := strings.Split(breakdown, "\n")
	variants := []string{"exactly_once, commit: batch", "exactly_once, commit: checkpoint", "at_least_once"}
	if len(lines) != 7*len(variants) {
		t.Fatalf("breakdown of %d lines:\n%s", len(lines), breakdown)
	}
	for i, v := range variants {
		part := lines[7*i : 7*i+7]
		if part[0] != v+":" {
			t.Errorf("breakdown line %q, want the variant %s", part[0], v)
		}
		for j, want := range []string{"transaction produced to read by tx: ", "transaction produced to alert produced: ", "alert produced to alert read: ",
			"path from the source, mean: ", "held for the watermark, mean: ", "checkpoint pause per part, mean (parts): "} {
			if !strings.HasPrefix(strings.TrimSpace(part[1+j]), want) {
				t.Errorf("%s: line %q, want %q", v, part[1+j], want)
			}
		}
		for _, step := range []string{"card ", "account ", "merchant ", "scored ", "sink.alerts "} {
			if !strings.Contains(part[4], step) {
				t.Errorf("%s: no path to %s in %q", v, step, part[4])
			}
		}
		for _, step := range []string{"card ", "account ", "merchant "} {
			if !strings.Contains(part[5], step) {
				t.Errorf("%s: no hold of %s for the watermark in %q", v, step, part[5])
			}
			if !strings.Contains(part[6], step) {
				t.Errorf("%s: no checkpoint pause of %s in %q", v, step, part[6])
			}
		}
		if strings.Contains(part[5], "scored ") {
			t.Errorf("%s: a step that holds nothing for the watermark in %q", v, part[5])
		}
	}
}
