package agg

import "slices"

// radixMin is the fewest words sortWords sorts by radix; fewer are sorted by comparison.
const radixMin = 256

// sortWords sorts ws ascending and returns scratch, grown as it needed. At least radixMin
// words are sorted by a least-significant-digit radix sort through scratch, one pass for
// each byte in which the words differ: words drawn from a range of a million take three
// passes over the slice, where a comparison sort takes twenty on average.
func sortWords(ws, scratch []uint64) []uint64 {
	if len(ws) < radixMin {
		slices.Sort(ws)
		return scratch
	}
	and, or := ^uint64(0), uint64(0)
	for _, w := range ws {
		and &= w
		or |= w
	}
	differ := and ^ or
	scratch = slices.Grow(scratch[:0], len(ws))[:len(ws)]
	src, dst := ws, scratch
	for shift := 0; shift < 64; shift += 8 {
		if byte(differ>>shift) == 0 {
			continue
		}
		var at [256]int
		for _, w := range src {
			at[byte(w>>shift)]++
		}
		next := 0
		for b, n := range at {
			at[b] = next
			next += n
		}
		for _, w := range src {
			b := byte(w >> shift)
			dst[at[b]] = w
			at[b]++
		}
		src, dst = dst, src
	}
	if &src[0] != &ws[0] {
		copy(ws, src)
	}
	return scratch
}
