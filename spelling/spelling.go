// Package spelling finds what a misspelt name was meant to be, for "did you mean" hints in
// error messages.
package spelling

import (
	"fmt"
	"strings"
)

// Closest returns the candidate that word is most likely a misspelling of, or "" when none is
// close enough to be worth suggesting. Closeness is the Damerau-Levenshtein distance (optimal
// string alignment: insertions, deletions, substitutions and swaps of neighbours) ignoring
// case; a candidate qualifies within one edit per three letters of word, and at least one.
// Among equally close candidates the first wins.
func Closest(word string, candidates []string) string {
	limit := max(1, len([]rune(word))/3)
	best, bestDist := "", limit+1
	lw := strings.ToLower(word)
	for _, c := range candidates {
		if c == word {
			continue
		}
		// A candidate that differs from word in every letter is no hint, however short.
		if d := Distance(lw, strings.ToLower(c)); d < bestDist && d < max(len([]rune(word)), len([]rune(c))) {
			best, bestDist = c, d
		}
	}
	return best
}

// DidYouMean formats Closest's answer as ` (did you mean "x"?)`, or returns "".
func DidYouMean(word string, candidates []string) string {
	if s := Closest(word, candidates); s != "" {
		return fmt.Sprintf(" (did you mean %q?)", s)
	}
	return ""
}

// Distance is the optimal string alignment distance between a and b, counted in runes.
func Distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	// Three rows of the dynamic programming table: two back, one back, current.
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}
