package agg

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestSortWordsMatchesSort sorts words that differ in their lowest 0 to 64 bits, too few and
// enough for the radix sort, which then takes odd and even numbers of passes, and compares
// with slices.Sort.
func TestSortWordsMatchesSort(t *testing.T) {
	var scratch []uint64
	for _, n := range []int{0, 1, radixMin - 1, radixMin, 5000} {
		for _, bits := range []uint{0, 1, 8, 9, 20, 33, 64} {
			t.Run(fmt.Sprintf("n=%d/bits=%d", n, bits), func(t *testing.T) {
				r := rand.New(rand.NewPCG(uint64(n), uint64(bits)))
				ws := make([]uint64, n)
				for i := range ws {
					ws[i] = 0xa5a5<<48 ^ r.Uint64()>>(64-bits) // high bits the same in every word
				}
				want := slices.Clone(ws)
				slices.Sort(want)
				scratch = sortWords(ws, scratch)
				if !slices.Equal(ws, want) {
					t.Fatalf("sortWords gave %v..., want %v...", ws[:min(8, n)], want[:min(8, n)])
				}
			})
		}
	}
}
