package nexmark

import (
	"math"
	"millrace/wyrand"
	"testing"
)

func TestPriceFollowsTheReferenceDistribution(t *testing.T) {
	r := rng{wyrand.Source{State: 42}}
	const draws = 200_000
	off := 0
	decades := [6]int{}
	for range draws {
		probe := r
		u := float64(probe.next()>>11) / (1 << 53)
		want := int64(math.Round(math.Pow(10, 6*u) * 100))
		got := r.price()
		if got != want {
			// Only a value a hair from a half cent may round the other way.
			if d := got - want; d < -1 || d > 1 {
				t.Fatalf("u=%v: price %d, want %d", u, got, want)
			}
			off++
		}
		if got < 100 || got > 100_000_000 {
			t.Fatalf("price %d outside [1.00, 1,000,000.00]", got)
		}
		decades[min(int(math.Log10(float64(got)/100)), 5)]++
	}
	if off > draws/10_000 {
		t.Fatalf("%d of %d prices differ from round(100·10^(6u))", off, draws)
	}
	for d, n := range decades { // log-uniform: each decade holds a sixth
		if math.Abs(float64(n)/draws-1.0/6) > 0.01 {
			t.Fatalf("decade %d holds %d of %d prices", d, n, draws)
		}
	}
}

func TestSplitMakesIndependentUniformChoices(t *testing.T) {
	r := rng{wyrand.Source{State: 7}}
	var counts [2][4][2]int
	const draws = 400_000
	for range draws {
		a, x := split(r.next(), 2)
		b, x := split(x, 4)
		c, _ := split(x, 2)
		counts[a][b][c]++
	}
	for a := range counts {
		for b := range counts[a] {
			for c, n := range counts[a][b] {
				if math.Abs(float64(n)/draws-1.0/16) > 0.003 {
					t.Fatalf("choice (%d, %d, %d) came %d times of %d", a, b, c, n, draws)
				}
			}
		}
	}
}

func TestEventStreamsDependOnSeedAndEventOnly(t *testing.T) {
	k1, k2 := streamKey(1, purposeEvents), streamKey(2, purposeEvents)
	if k1 == k2 || k1 == streamKey(1, purposeTables) {
		t.Fatal("stream keys collide")
	}
	seen := map[uint64]int64{}
	for n := range int64(100_000) {
		a, b := eventRNG(k1, n), eventRNG(k1, n)
		x := a.next()
		if x != b.next() {
			t.Fatal("an event's stream is not reproducible")
		}
		if m, dup := seen[x]; dup {
			t.Fatalf("events %d and %d draw the same first word", m, n)
		}
		seen[x] = n
	}
	if r := eventRNG(k2, 5); r.next() == func() uint64 { r := eventRNG(k1, 5); return r.next() }() {
		t.Fatal("the seed does not change an event's values")
	}
}
