package agg

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestNthFindsTheValueOfEveryRank(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	shapes := map[string]func(i, n int) int64{
		"random":     func(int, int) int64 { return r.Int64N(1000) },
		"few values": func(int, int) int64 { return r.Int64N(3) },
		"ascending":  func(i, _ int) int64 { return int64(i) },
		"descending": func(i, n int) int64 { return int64(n - i) },
		"all equal":  func(int, int) int64 { return 7 },
		"organ pipe": func(i, n int) int64 { return int64(min(i, n-i)) },
	}
	for name, shape := range shapes {
		for _, n := range []int{1, 2, 13, 14, 100, 1000} {
			vs := make([]int64, n)
			for i := range vs {
				vs[i] = shape(i, n)
			}
			sorted := slices.Sorted(slices.Values(vs))
			for k := range n {
				got := slices.Clone(vs)
				nth(got, k, cmp.Compare[int64])
				if got[k] != sorted[k] {
					t.Fatalf("%s, %d values: rank %d is %d, want %d", name, n, k, got[k], sorted[k])
				}
				if slices.Max(got[:k+1]) != got[k] || slices.Min(got[k:]) != got[k] {
					t.Fatalf("%s, %d values: rank %d not between its neighbours: %v", name, n, k, got)
				}
			}
		}
	}
}
