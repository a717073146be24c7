package agg

import "slices"

// minTail is the fewest words a wordSet gathers unsorted before it sorts them into its
// ascending words, so that small sets do not sort after every word.
const minTail = 16

// wordSet is an exact set of 64-bit words made for adding many and counting them once: new
// words are appended to an unsorted tail, and once the tail is as long as the ascending,
// distinct words already settled (or minTail), it is sorted and merged into them, duplicates
// dropped. Each word is thus sorted once and merged a few times, in passes over slices,
// where a hash set of hundreds of thousands of words misses the cache on nearly every add.
// The zero value is an empty set.
type wordSet struct {
	sorted []uint64 // ascending, distinct
	tail   []uint64 // unsorted; may repeat words, its own or sorted's
}

// add adds ws and returns how many bytes the set's memory grew by (negative when it shrank).
// Sorting the tail may grow scratch, which sets may share.
func (s *wordSet) add(ws []uint64, scratch *[]uint64) int64 {
	before := s.bytes()
	s.tail = append(s.tail, ws...)
	if len(s.tail) >= max(len(s.sorted), minTail) {
		s.merge(scratch)
	}
	return s.bytes() - before
}

// settle sorts the tail into sorted, which then holds every word of the set, and returns how
// many bytes the set's memory grew by. Sorting the tail may grow scratch.
func (s *wordSet) settle(scratch *[]uint64) int64 {
	if len(s.tail) == 0 {
		return 0
	}
	before := s.bytes()
	s.merge(scratch)
	return s.bytes() - before
}

// merge sorts the tail and merges it into sorted from the back, so that it needs no room but
// sorted's own, and empties the tail.
func (s *wordSet) merge(scratch *[]uint64) {
	*scratch = sortWords(s.tail, *scratch)
	tail := slices.Compact(s.tail)
	n := len(s.sorted)
	if n == 0 {
		s.sorted, s.tail = tail, s.sorted
		return
	}
	all := slices.Grow(s.sorted, len(tail))[:n+len(tail)]
	// Fill all from its end with the larger of the two last unread words, taking both when
	// they are equal, without a branch on which is larger: the merged words interleave at
	// random. The write index never falls below the sorted words still unread, so none is
	// overwritten before it is read.
	i, j, at := n-1, len(tail)-1, len(all)
	for i >= 0 && j >= 0 {
		a, b := s.sorted[i], tail[j]
		at--
		all[at] = max(a, b)
		i -= oneIf(a >= b)
		j -= oneIf(b >= a)
	}
	at -= copy(all[at-(j+1):at], tail[:j+1])
	at -= copy(all[at-(i+1):at], s.sorted[:i+1])
	s.sorted = all[:copy(all, all[at:])]
	s.tail = s.tail[:0]
}

// oneIf is 1 when b holds, else 0, without a branch.
func oneIf(b bool) int {
	var n int
	if b {
		n = 1
	}
	return n
}

// bytes is the memory the set holds.
func (s *wordSet) bytes() int64 { return int64(cap(s.sorted)+cap(s.tail)) * 8 }

// reset empties the set, keeping its memory if it is at most keep words.
func (s *wordSet) reset(keep int) {
	if cap(s.sorted)+cap(s.tail) > keep {
		*s = wordSet{}
		return
	}
	s.sorted, s.tail = s.sorted[:0], s.tail[:0]
}
