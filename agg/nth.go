package agg

import (
	"math/bits"
	"slices"
)

// nth reorders vs so that vs[k] holds the value of rank k in cmp's order, with no value
// after it less than it and none before it greater: a quickselect, which costs a few passes
// over vs where sorting it costs log2(len(vs)) of them. When the partitions stop shrinking
// (values chosen against the pivots) it sorts what is left.
func nth[T any](vs []T, k int, cmp func(a, b T) int) {
	lo, hi := 0, len(vs)-1
	for budget := 2 * bits.Len(uint(len(vs))); hi-lo > 12; budget-- {
		if budget == 0 {
			slices.SortFunc(vs[lo:hi+1], cmp)
			return
		}
		mid := lo + (hi-lo)/2
		if cmp(vs[mid], vs[lo]) < 0 {
			vs[mid], vs[lo] = vs[lo], vs[mid]
		}
		if cmp(vs[hi], vs[lo]) < 0 {
			vs[hi], vs[lo] = vs[lo], vs[hi]
		}
		if cmp(vs[hi], vs[mid]) < 0 {
			vs[hi], vs[mid] = vs[mid], vs[hi]
		}
		p := vs[mid]
		i, j := lo, hi
		for i <= j {
			for cmp(vs[i], p) < 0 {
				i++
			}
			for cmp(vs[j], p) > 0 {
				j--
			}
			if i <= j {
				vs[i], vs[j] = vs[j], vs[i]
				i++
				j--
			}
		}
		// vs[lo..j] <= p <= vs[i..hi], and every value between them equals p.
		switch {
		case k <= j:
			hi = j
		case k >= i:
			lo = i
		default:
			return
		}
	}
	slices.SortFunc(vs[lo:hi+1], cmp)
}
