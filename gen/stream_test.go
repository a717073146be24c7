package gen

import (
	"math"
	"testing"
	"time"
)

// Normal traffic is a Poisson process: counts in short windows vary about as much as their
// mean, and gaps between rows are exponential (as many below the mean gap as a Poisson
// process has, 1-1/e).
func TestPoissonArrivals(t *testing.T) {
	cfg := smallConfig()
	cfg.Flat, cfg.FraudRate, cfg.Rate = true, 0, 2000
	w, err := NewWorld(cfg)
	if err != nil {
		t.Fatal(err)
	}
	curve, _ := NewCurve(cfg)
	start := DefaultStart.UnixNano()
	e := newEvents(w, curve, cfg, start, start+int64(100*time.Second))
	const window = int64(50 * time.Millisecond)
	counts := make([]float64, 2000)
	var r row
	prev, short, n := start, 0, 0
	for e.next(&r) {
		if r.ns < prev {
			t.Fatalf("event time went back from %d to %d", prev, r.ns)
		}
		if r.ns-prev < int64(time.Second)/2000 {
			short++
		}
		prev = r.ns
		counts[(r.ns-start)/window]++
		n++
	}
	var mean, m2 float64
	for _, c := range counts {
		mean += c
	}
	mean /= float64(len(counts))
	for _, c := range counts {
		m2 += (c - mean) * (c - mean)
	}
	dispersion := m2 / float64(len(counts)-1) / mean
	if math.Abs(mean-100) > 2 || dispersion < 0.85 || dispersion > 1.15 {
		t.Errorf("rows per 50ms: mean %.2f (want 100), variance/mean %.2f (want 1)", mean, dispersion)
	}
	if f := float64(short) / float64(n); math.Abs(f-(1-1/math.E)) > 0.01 {
		t.Errorf("%.3f of gaps below the mean gap, want %.3f", f, 1-1/math.E)
	}
	if e.seq != int64(n) {
		t.Errorf("numbered %d rows, handed out %d", e.seq, n)
	}
}

// A rate far below one row per second still works, and the stream's time limit holds.
func TestSparseStream(t *testing.T) {
	cfg := smallConfig()
	cfg.Flat, cfg.FraudRate, cfg.Rate = true, 0, 0.01
	w, _ := NewWorld(cfg)
	curve, _ := NewCurve(cfg)
	start := DefaultStart.UnixNano()
	e := newEvents(w, curve, cfg, start, start+int64(24*time.Hour))
	n := 0
	var r row
	for e.next(&r) {
		n++
	}
	if n < 864-5*30 || n > 864+5*30 {
		t.Errorf("%d rows in a day at 0.01/s, want about 864", n)
	}
}
