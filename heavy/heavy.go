// Package heavy finds the hot keys of a stream in bounded memory. Its Sketch is the
// Space-Saving algorithm of Metwally, Agrawal and El Abbadi (2005), which the engine keeps per
// keyed edge so that it can say which key takes what share of an operator's input.
//
// A sketch of capacity k holds at most k counters, each a key's hash, its label, a count and
// an error. Counting a tracked key adds to its counter. Counting an untracked key when all k
// counters are in use evicts the counter with the smallest count and gives the new key that
// count plus its own occurrences, recording the inherited part as its error; the evicted
// count becomes the sketch's floor.
//
// For every key, let t be its true count, halved (rounding down) at each Decay just as the
// sketch's counts are. The sketch keeps these invariants:
//
//	tracked key:    Count-Error <= t <= Count <= Total
//	untracked key:  t <= floor <= every tracked Count
//
// A sketch fed only by Add, AddN and Decay also keeps the sum of its counts at most Total,
// so once it is full its smallest count, and with it the floor, is at most Total/k: every key
// with t > Total/k is tracked. Merge keeps the two invariants above but not that sum, so a
// merged sketch may let go of a key above Total/k that one sketch over the whole stream
// would have kept.
package heavy

import (
	"cmp"
	"slices"
)

// Sketch counts the most frequent of a stream of keys in bounded memory (Space-Saving).
// It is not safe for concurrent use.
//
// The counters live in slots, which stay put while keys are added; index maps a tracked hash
// to its slot, and heap orders the slots by count, smallest first, so the eviction victim is
// heap[0]. pos is the inverse of heap: heap[pos[i]] == i for every slot i.
type Sketch struct {
	slots []counter
	heap  []int32
	pos   []int32
	index slotIndex
	total int64
	floor int64 // no untracked key has a true count above floor
}

type counter struct {
	hash  uint64
	count int64
	err   int64
	key   string
}

// Entry is one tracked key as Top reports it.
type Entry struct {
	Hash  uint64
	Key   string // the label the key was inserted with
	Count int64  // an over-estimate of the key's true count by at most Error
	Error int64  // the count the key may have inherited from an evicted one
}

// New returns an empty sketch that tracks at most capacity keys; a capacity below 1 is taken
// as 1. Its memory is allocated here and does not grow.
func New(capacity int) *Sketch {
	capacity = max(capacity, 1)
	return &Sketch{
		slots: make([]counter, 0, capacity),
		heap:  make([]int32, 0, capacity),
		pos:   make([]int32, 0, capacity),
		index: newIndex(capacity),
	}
}

// Add counts one occurrence of the key with hash h. label renders the key for humans; it is
// called only when h is not already tracked, so the caller pays to render a key only on
// insertion. A nil label leaves the key's label empty.
func (s *Sketch) Add(h uint64, label func() string) { s.AddN(h, 1, label) }

// AddN counts n occurrences of the key with hash h, calling label as Add does. It does
// nothing when n is not positive. Counting an already tracked key does not allocate.
func (s *Sketch) AddN(h uint64, n int64, label func() string) {
	if n <= 0 {
		return
	}
	s.total += n
	if i, ok := s.index.get(h); ok {
		s.slots[i].count += n
		s.down(int(s.pos[i]))
		return
	}
	var key string
	if label != nil {
		key = label()
	}
	if len(s.slots) < cap(s.slots) {
		i := int32(len(s.slots))
		s.slots = append(s.slots, counter{hash: h, count: s.floor + n, err: s.floor, key: key})
		s.heap = append(s.heap, i)
		s.pos = append(s.pos, int32(len(s.heap)-1))
		s.index.put(h, i)
		s.up(len(s.heap) - 1)
		return
	}
	i := s.heap[0]
	victim := &s.slots[i]
	s.index.del(victim.hash)
	s.floor = max(s.floor, victim.count)
	*victim = counter{hash: h, count: s.floor + n, err: s.floor, key: key}
	s.index.put(h, i)
	s.down(0)
}

// Total is the number of occurrences counted, halved at each Decay.
func (s *Sketch) Total() int64 { return s.total }

// Share is e's count as a fraction of Total, or 0 when Total is 0. Since Count over-estimates,
// so does Share, by at most Error/Total.
func (s *Sketch) Share(e Entry) float64 {
	if s.total == 0 {
		return 0
	}
	return float64(e.Count) / float64(s.total)
}

// Top returns up to n tracked keys with the largest counts, largest first; among equal
// counts the one with the smaller error, then the smaller hash, comes first.
func (s *Sketch) Top(n int) []Entry {
	n = min(n, len(s.slots))
	if n <= 0 {
		return nil
	}
	all := make([]Entry, len(s.slots))
	for i, c := range s.slots {
		all[i] = Entry{Hash: c.hash, Key: c.key, Count: c.count, Error: c.err}
	}
	slices.SortFunc(all, func(a, b Entry) int {
		if c := cmp.Compare(b.Count, a.Count); c != 0 {
			return c
		}
		if c := cmp.Compare(a.Error, b.Error); c != 0 {
			return c
		}
		return cmp.Compare(a.Hash, b.Hash)
	})
	return all[:n:n]
}

// Decay halves every count, the total and the floor, rounding down, so that old traffic fades;
// the engine calls it periodically. Errors are halved rounding up (but never above the count)
// so that Count-Error stays a lower bound. Keys whose count reaches 0 are dropped, which frees
// their counters for new keys.
func (s *Sketch) Decay() {
	s.total /= 2
	s.floor /= 2
	kept := s.slots[:0]
	for _, c := range s.slots {
		c.count /= 2
		if c.count == 0 {
			continue
		}
		c.err = min((c.err+1)/2, c.count)
		kept = append(kept, c)
	}
	clear(s.slots[len(kept):]) // release the labels of the dropped keys
	s.slots = kept
	s.reindex()
}

// Merge adds other's counters into s, as for the subtasks that feed one operator; s keeps its
// capacity and other is unchanged. A key tracked by only one of the two is credited with the
// other's floor, as both count and error, since it may have been counted there unseen. When
// the union holds more keys than s's capacity, the smallest are dropped and the largest
// dropped count raises the floor.
func (s *Sketch) Merge(other *Sketch) {
	merged := make([]counter, 0, len(s.slots)+len(other.slots))
	for _, c := range s.slots {
		if j, ok := other.index.get(c.hash); ok {
			o := other.slots[j]
			c.count += o.count
			c.err += o.err
		} else {
			c.count += other.floor
			c.err += other.floor
		}
		merged = append(merged, c)
	}
	for _, o := range other.slots {
		if _, ok := s.index.get(o.hash); ok {
			continue
		}
		o.count += s.floor
		o.err += s.floor
		merged = append(merged, o)
	}
	s.total += other.total
	s.floor += other.floor
	if len(merged) > cap(s.slots) {
		slices.SortFunc(merged, func(a, b counter) int {
			if c := cmp.Compare(b.count, a.count); c != 0 {
				return c
			}
			return cmp.Compare(a.hash, b.hash)
		})
		s.floor = max(s.floor, merged[cap(s.slots)].count)
		merged = merged[:cap(s.slots)]
	}
	clear(s.slots[:cap(s.slots)])
	s.slots = append(s.slots[:0], merged...)
	s.reindex()
}

// Clone returns an independent copy of s with the same capacity.
func (s *Sketch) Clone() *Sketch {
	c := New(cap(s.slots))
	c.slots = append(c.slots, s.slots...)
	c.heap = append(c.heap, s.heap...)
	c.pos = append(c.pos, s.pos...)
	copy(c.index.cells, s.index.cells)
	c.total, c.floor = s.total, s.floor
	return c
}

// reindex rebuilds index, heap and pos after the slots were rewritten in place.
func (s *Sketch) reindex() {
	s.index.reset()
	s.heap, s.pos = s.heap[:0], s.pos[:0]
	for i, c := range s.slots {
		s.index.put(c.hash, int32(i))
		s.heap = append(s.heap, int32(i))
		s.pos = append(s.pos, int32(i))
	}
	for i := len(s.heap)/2 - 1; i >= 0; i-- {
		s.down(i)
	}
}

// down restores heap order below position i after the count there grew.
func (s *Sketch) down(i int) {
	h, n := s.heap, len(s.heap)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		m := l
		if r := l + 1; r < n && s.slots[h[r]].count < s.slots[h[l]].count {
			m = r
		}
		if s.slots[h[m]].count >= s.slots[h[i]].count {
			return
		}
		s.swap(i, m)
		i = m
	}
}

// up restores heap order above position i after a counter was placed there.
func (s *Sketch) up(i int) {
	h := s.heap
	for i > 0 {
		p := (i - 1) / 2
		if s.slots[h[p]].count <= s.slots[h[i]].count {
			return
		}
		s.swap(i, p)
		i = p
	}
}

func (s *Sketch) swap(i, j int) {
	h := s.heap
	h[i], h[j] = h[j], h[i]
	s.pos[h[i]], s.pos[h[j]] = int32(i), int32(j)
}
