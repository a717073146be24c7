package scale

import (
	"testing"
	"time"
)

func TestFleetPausesEveryWorkerWhenTheCountChanges(t *testing.T) {
	cfg := FleetConfig{Policy: Policy{Mode: Reactive, Limits: DefaultLimits()}, CapacityPerWorker: 100,
		Startup: 90 * time.Second, RebalancePause: 6 * time.Second, SLOLag: 30 * time.Second, Horizon: 10 * time.Minute, Step: time.Minute}
	cfg.Policy.Limits.Min = 10
	// 10 workers of 100/s carry 1000/s exactly: no backlog, no pause.
	f := newFleet(cfg, 700)
	f.serve(t0, 1000)
	if f.serving != 10 || f.backlog != 0 {
		t.Fatalf("steady: %d serving, backlog %v", f.serving, f.backlog)
	}
	// A worker started at the end of minute 0 serves 30 s into minute 1; then all 11 stop
	// for 6 s: 10×100×60 + 100×30 - 11×100×6 = 56,400 of 60,000 records.
	f.pending = []time.Time{t0.Add(90 * time.Second)}
	f.serve(t0.Add(time.Minute), 1000)
	if f.serving != 11 || f.backlog != 3600 {
		t.Errorf("minute 1: %d serving, backlog %v, want 11 and 3600", f.serving, f.backlog)
	}
	// A worker that starts serving exactly at the end of a step makes the next one pause.
	f.backlog = 0
	f.pending = []time.Time{t0.Add(3 * time.Minute)}
	f.serve(t0.Add(2*time.Minute), 1100)
	if f.serving != 12 || f.backlog != 0 {
		t.Errorf("minute 2: %d serving, backlog %v, want 12 and 0", f.serving, f.backlog)
	}
	f.serve(t0.Add(3*time.Minute), 1100) // 12×100×54 = 64,800 of 66,000
	if f.backlog != 1200 {
		t.Errorf("minute 3: backlog %v, want 1200 after the pause", f.backlog)
	}
	f.serve(t0.Add(4*time.Minute), 1100) // no change: 72,000 processed
	if f.backlog != 0 {
		t.Errorf("minute 4: backlog %v, want 0", f.backlog)
	}
}
