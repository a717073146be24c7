package gen

import (
	"math"
	"testing"
)

func TestRNGDeterministicAndIndependent(t *testing.T) {
	a, b := newRNG(7, streamTraffic, 0), newRNG(7, streamTraffic, 0)
	for range 1000 {
		if a.next() != b.next() {
			t.Fatal("two generators of the same seed diverged")
		}
	}
	first := func(r rng) uint64 { return r.next() }
	base := first(newRNG(7, streamTraffic, 0))
	for name, r := range map[string]rng{
		"seed":      newRNG(8, streamTraffic, 0),
		"purpose":   newRNG(7, streamFraud, 0),
		"partition": newRNG(7, streamTraffic, 1),
	} {
		if first(r) == base {
			t.Errorf("changing the %s did not change the sequence", name)
		}
	}
}

func TestRNGDistributions(t *testing.T) {
	r := newRNG(1, streamTraffic, 0)
	const n = 200_000
	var sum, exps float64
	counts := make([]int, 10)
	for range n {
		u := r.float()
		if u < 0 || u >= 1 {
			t.Fatalf("float %g outside [0, 1)", u)
		}
		sum += u
		counts[r.intn(10)]++
		if v := r.between(3, 5); v < 3 || v > 5 {
			t.Fatalf("between(3, 5) = %d", v)
		}
		exps += r.exp()
	}
	if m := sum / n; math.Abs(m-0.5) > 0.005 {
		t.Errorf("mean of float %g, want 0.5", m)
	}
	if m := exps / n; math.Abs(m-1) > 0.01 {
		t.Errorf("mean of exp %g, want 1", m)
	}
	for i, c := range counts {
		if math.Abs(float64(c)-n/10) > 5*math.Sqrt(n/10) {
			t.Errorf("intn(10) gave %d %d times of %d", i, c, n)
		}
	}
}

func TestCumulativePick(t *testing.T) {
	cdf := cumulative([]float64{1, 0, 3})
	if cdf[2] != 1 || cdf[0] != 0.25 || cdf[1] != 0.25 {
		t.Fatalf("cumulative = %v", cdf)
	}
	r := newRNG(3, streamWorld, 0)
	counts := make([]int, 3)
	for range 40_000 {
		counts[r.pick(cdf)]++
	}
	if counts[1] != 0 || math.Abs(float64(counts[0])/40_000-0.25) > 0.01 {
		t.Fatalf("pick counts %v, want about 10000, 0, 30000", counts)
	}
}
