package agg

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestWordSetMatchesMap adds words drawn from ranges narrow (mostly repeats) and wide (mostly
// new), in runs ascending as merged partial states arrive and in random order, a few at a
// time, and checks
// after every run that the set holds exactly the words a map holds, ascending, and that the
// bytes add reports sum to the set's memory.
func TestWordSetMatchesMap(t *testing.T) {
	for _, span := range []uint64{1, 7, 1000, 1 << 62} {
		for _, ascending := range []bool{false, true} {
			t.Run(fmt.Sprintf("span=%d/ascending=%v", span, ascending), func(t *testing.T) {
				r := rand.New(rand.NewPCG(span, 1))
				var s wordSet
				var scratch []uint64
				want := map[uint64]bool{}
				var grown int64
				for run := range 60 {
					words := make([]uint64, r.IntN(3*run+1))
					for i := range words {
						words[i] = r.Uint64N(span) * 3 // gaps, so neighbours are not all taken
					}
					if ascending {
						slices.Sort(words)
					}
					for len(words) > 0 { // in pieces of 1 to 40 words
						n := min(len(words), 1+r.IntN(40))
						grown += s.add(words[:n], &scratch)
						for _, w := range words[:n] {
							want[w] = true
						}
						words = words[n:]
					}
					grown += s.settle(&scratch)
					if len(s.sorted) != len(want) {
						t.Fatalf("after run %d: %d words, want %d", run, len(s.sorted), len(want))
					}
				}
				got := s.sorted
				if !slices.IsSorted(got) || len(slices.Compact(slices.Clone(got))) != len(got) {
					t.Fatalf("words not ascending and distinct: %v", got)
				}
				for _, w := range got {
					if !want[w] {
						t.Fatalf("word %d was never added", w)
					}
				}
				if grown != s.bytes() {
					t.Errorf("add reported %d bytes grown, the set holds %d", grown, s.bytes())
				}
			})
		}
	}
}

// TestWordSetSettlesLazily adds more words than minTail without asking for them, so that
// they settle inside add, then checks what a reset keeps.
func TestWordSetSettlesLazily(t *testing.T) {
	var s wordSet
	var scratch []uint64
	for i := range 1000 {
		s.add([]uint64{uint64(999 - i%500)}, &scratch) // descending, each word twice
	}
	if len(s.sorted) < 500-2*minTail || len(s.tail) > len(s.sorted) {
		t.Fatalf("%d settled words and a tail of %d: the tail did not settle as it grew", len(s.sorted), len(s.tail))
	}
	s.settle(&scratch)
	if got := s.sorted; len(got) != 500 || got[0] != 500 || got[499] != 999 {
		t.Fatalf("words %d..%d (%d), want 500..999 (500)", got[0], got[len(got)-1], len(got))
	}
	s.reset(keptSet)
	if s.bytes() != 0 {
		t.Fatalf("a reset set of 500 words holds %d bytes, want its memory dropped", s.bytes())
	}
	s.add([]uint64{1}, &scratch)
	s.add([]uint64{1}, &scratch)
	s.reset(keptSet)
	if s.settle(&scratch); len(s.sorted) != 0 || s.bytes() == 0 {
		t.Fatalf("a reset small set holds %d words in %d bytes, want none and its memory kept", len(s.sorted), s.bytes())
	}
}

// BenchmarkWordSetMerge adds ascending runs of 2000 words drawn from 600,000, as the final
// phase of q16 merges each batch's partial sets of bidders or auctions into a day's set.
func BenchmarkWordSetMerge(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	runs := make([][]uint64, 1000)
	for i := range runs {
		runs[i] = make([]uint64, 2000)
		for j := range runs[i] {
			runs[i][j] = 1000 + r.Uint64N(600_000)
		}
		slices.Sort(runs[i])
	}
	for b.Loop() {
		var s wordSet
		var scratch []uint64
		for _, run := range runs {
			s.add(run, &scratch)
		}
		if s.settle(&scratch); len(s.sorted) == 0 {
			b.Fatal("empty set")
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(runs)*2000), "ns/word")
}
