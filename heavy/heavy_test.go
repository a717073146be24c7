package heavy

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"millrace/wyrand"
)

// event is one occurrence of key id in a test stream.
type event uint64

func (e event) hash() uint64   { return wyrand.Mix64(uint64(e) + 1) }
func (e event) label() string  { return fmt.Sprintf("c%05d", uint64(e)) }
func (e event) add(s *Sketch)  { s.Add(e.hash(), e.label) }
func (e event) String() string { return e.label() }

// hotStream returns n events of which about 40% are key 0 and the rest are spread evenly
// over keys 1 to 10 000.
func hotStream(seed uint64, n int) []event {
	r := rand.New(rand.NewPCG(seed, 1))
	out := make([]event, n)
	for i := range out {
		if r.Float64() >= 0.4 {
			out[i] = event(1 + r.IntN(10_000))
		}
	}
	return out
}

// zipfStream returns n events drawn from a Zipf law with exponent s over keys 0 to imax.
func zipfStream(seed uint64, n int, s float64, imax uint64) []event {
	z := rand.NewZipf(rand.New(rand.NewPCG(seed, 2)), s, 1, imax)
	out := make([]event, n)
	for i := range out {
		out[i] = event(z.Uint64())
	}
	return out
}

// truth is the exact count of every key, halved as the sketch is.
type truth map[uint64]int64

func (t truth) decay() {
	for h, c := range t {
		t[h] = c / 2
	}
}

// checkInvariants fails unless s keeps the bounds written in the package doc against the
// exact counts, and its heap is in order.
func checkInvariants(t *testing.T, s *Sketch, exact truth) {
	t.Helper()
	if len(s.slots) > cap(s.slots) || s.index.len() != len(s.slots) || len(s.heap) != len(s.slots) {
		t.Fatalf("%d slots, %d indexed, %d in the heap, capacity %d",
			len(s.slots), s.index.len(), len(s.heap), cap(s.slots))
	}
	for i, c := range s.slots {
		if j, ok := s.index.get(c.hash); !ok || j != int32(i) {
			t.Fatalf("slot %d holds key %x, which the index puts at %d (%v)", i, c.hash, j, ok)
		}
	}
	for p, i := range s.heap {
		if s.pos[i] != int32(p) {
			t.Fatalf("slot %d at heap position %d records position %d", i, p, s.pos[i])
		}
		if p > 0 && s.slots[s.heap[(p-1)/2]].count > s.slots[i].count {
			t.Fatalf("heap out of order at position %d", p)
		}
	}
	for _, e := range s.Top(len(s.slots)) {
		if n := exact[e.Hash]; e.Count-e.Error > n || n > e.Count || e.Count > s.Total() {
			t.Fatalf("key %s: count %d error %d total %d, true count %d", e.Key, e.Count, e.Error, s.Total(), n)
		}
		if e.Count < s.floor {
			t.Fatalf("key %s: count %d below floor %d", e.Key, e.Count, s.floor)
		}
		if e.Error < 0 || e.Error > e.Count {
			t.Fatalf("key %s: count %d error %d", e.Key, e.Count, e.Error)
		}
	}
	for h, n := range exact {
		if _, ok := s.index.get(h); !ok && n > s.floor {
			t.Fatalf("untracked key %x counted %d times, above floor %d", h, n, s.floor)
		}
	}
}

// checkGuarantee fails unless every key counted more than Total/capacity times is tracked.
func checkGuarantee(t *testing.T, s *Sketch, exact truth) {
	t.Helper()
	for h, n := range exact {
		if _, ok := s.index.get(h); !ok && n*int64(cap(s.slots)) > s.Total() {
			t.Fatalf("key %x counted %d of %d times is not tracked by a sketch of %d", h, n, s.Total(), cap(s.slots))
		}
	}
}

func TestHotKeyIsTopWithItsShare(t *testing.T) {
	s := New(32)
	exact := truth{}
	for _, e := range hotStream(1, 100_000) {
		e.add(s)
		exact[e.hash()]++
	}
	top := s.Top(1)
	if len(top) != 1 || top[0].Key != "c00000" {
		t.Fatalf("Top(1) = %v, want key c00000", top)
	}
	e := top[0]
	if share := s.Share(e); math.Abs(share-0.4) > 0.05 {
		t.Fatalf("share %.3f, want 0.40 ± 0.05", share)
	}
	if n := exact[e.Hash]; e.Count-e.Error > n || n > e.Count {
		t.Fatalf("count %d error %d, true count %d", e.Count, e.Error, n)
	}
	if s.Total() != 100_000 {
		t.Fatalf("total %d", s.Total())
	}
	checkInvariants(t, s, exact)
}

func TestKeysAboveTotalOverCapacityAreTracked(t *testing.T) {
	for _, c := range []struct {
		capacity int
		exponent float64
	}{{4, 1.1}, {8, 1.5}, {32, 1.1}, {32, 2}, {100, 1.3}} {
		t.Run(fmt.Sprintf("k=%d,s=%v", c.capacity, c.exponent), func(t *testing.T) {
			s := New(c.capacity)
			exact := truth{}
			for i, e := range zipfStream(uint64(c.capacity), 50_000, c.exponent, 20_000) {
				e.add(s)
				exact[e.hash()]++
				if i%997 == 0 {
					checkInvariants(t, s, exact)
					checkGuarantee(t, s, exact)
				}
			}
			checkInvariants(t, s, exact)
			checkGuarantee(t, s, exact)
		})
	}
}

func TestDecayHalves(t *testing.T) {
	s := New(16)
	exact := truth{}
	for _, e := range zipfStream(3, 10_000, 1.2, 1_000) {
		e.add(s)
		exact[e.hash()]++
	}
	before := s.Top(16)
	total := s.Total()
	s.Decay()
	exact.decay()
	if s.Total() != total/2 {
		t.Fatalf("total %d after decay, want %d", s.Total(), total/2)
	}
	after := map[uint64]Entry{}
	for _, e := range s.Top(16) {
		after[e.Hash] = e
	}
	for _, b := range before {
		a, ok := after[b.Hash]
		switch {
		case b.Count/2 == 0 && ok:
			t.Fatalf("key %s with count %d kept after decay", b.Key, b.Count)
		case b.Count/2 > 0 && (!ok || a.Count != b.Count/2 || a.Error != min((b.Error+1)/2, a.Count)):
			t.Fatalf("key %s: %+v after decay, was %+v", b.Key, a, b)
		}
	}
	checkInvariants(t, s, exact)
	checkGuarantee(t, s, exact)

	// A key whose count reaches 0 frees its counter, and a new key takes it with no error.
	small := New(2)
	small.Add(1, func() string { return "one" })
	small.AddN(2, 10, func() string { return "two" })
	small.Decay()
	if top := small.Top(2); len(top) != 1 || top[0].Key != "two" || top[0].Count != 5 {
		t.Fatalf("after decay %+v", top)
	}
	small.Add(3, func() string { return "three" })
	if top := small.Top(2); len(top) != 2 || top[1] != (Entry{Hash: 3, Key: "three", Count: 1}) {
		t.Fatalf("after decay and insertion %+v", top)
	}
}

func TestBoundsHoldUnderRepeatedDecay(t *testing.T) {
	s := New(24)
	exact := truth{}
	// The stream's hot keys move: each phase draws from a different offset, so keys that
	// were hot fade while new ones rise.
	for phase := range 6 {
		for i, e := range zipfStream(uint64(10+phase), 20_000, 1.3, 5_000) {
			e += event(phase * 3)
			e.add(s)
			exact[e.hash()]++
			if i%5_000 == 4_999 {
				s.Decay()
				exact.decay()
				checkInvariants(t, s, exact)
				checkGuarantee(t, s, exact)
			}
		}
	}
	if top := s.Top(1); top[0].Key != "c00015" {
		t.Fatalf("Top(1) = %+v, want the last phase's hottest key c00015", top)
	}
}

func TestMergeOfHalvesFindsTheCombinedShare(t *testing.T) {
	stream := hotStream(4, 100_000)
	a, b, whole := New(32), New(32), New(32)
	exact := truth{}
	for i, e := range stream {
		if i < len(stream)/2 {
			e.add(a)
		} else {
			e.add(b)
		}
		e.add(whole)
		exact[e.hash()]++
	}
	bTop := b.Top(32)
	a.Merge(b)
	if a.Total() != int64(len(stream)) {
		t.Fatalf("merged total %d, want %d", a.Total(), len(stream))
	}
	top, want := a.Top(1), whole.Top(1)
	if top[0].Hash != want[0].Hash {
		t.Fatalf("merged Top(1) = %+v, one sketch over the stream finds %+v", top, want)
	}
	share := a.Share(top[0])
	if trueShare := float64(exact[top[0].Hash]) / float64(len(stream)); math.Abs(share-trueShare) > 0.05 {
		t.Fatalf("merged share %.3f, true share %.3f", share, trueShare)
	}
	if math.Abs(share-whole.Share(want[0])) > 0.01 {
		t.Fatalf("merged share %.3f, one sketch over the stream says %.3f", share, whole.Share(want[0]))
	}
	checkInvariants(t, a, exact)
	if fmt.Sprint(b.Top(32)) != fmt.Sprint(bTop) {
		t.Fatal("Merge changed its argument")
	}
}

func TestMergeKeepsCapacityAndBounds(t *testing.T) {
	stream := zipfStream(5, 60_000, 1.1, 10_000)
	for _, c := range []struct{ a, b int }{{8, 32}, {32, 8}, {16, 16}, {4, 1}} {
		t.Run(fmt.Sprintf("%d+%d", c.a, c.b), func(t *testing.T) {
			a, b := New(c.a), New(c.b)
			exact := truth{}
			for i, e := range stream {
				if i%3 == 0 {
					e.add(a)
				} else {
					e.add(b)
				}
				exact[e.hash()]++
			}
			a.Merge(b)
			if cap(a.slots) != c.a {
				t.Fatalf("capacity %d after merge, want %d", cap(a.slots), c.a)
			}
			checkInvariants(t, a, exact)
			// The merged sketch goes on counting as any other.
			for _, e := range stream[:10_000] {
				e.add(a)
				exact[e.hash()]++
			}
			checkInvariants(t, a, exact)
		})
	}
}

func TestMergeWithItselfDoubles(t *testing.T) {
	s := New(8)
	exact := truth{}
	for _, e := range zipfStream(6, 5_000, 1.2, 100) {
		e.add(s)
		exact[e.hash()] += 2
	}
	before := s.Top(8)
	s.Merge(s)
	for i, e := range s.Top(8) {
		if e.Hash != before[i].Hash || e.Count != 2*before[i].Count || e.Error != 2*before[i].Error {
			t.Fatalf("entry %d: %+v after merging with itself, was %+v", i, e, before[i])
		}
	}
	checkInvariants(t, s, exact)
}

func TestLabelIsCalledOnlyOnInsertion(t *testing.T) {
	s := New(8)
	calls, insertions := 0, 0
	for _, e := range zipfStream(7, 20_000, 1.1, 1_000) {
		if _, ok := s.index.get(e.hash()); !ok {
			insertions++
		}
		s.Add(e.hash(), func() string { calls++; return e.label() })
	}
	if calls != insertions {
		t.Fatalf("label called %d times for %d insertions", calls, insertions)
	}
	if calls == 0 || calls == 20_000 {
		t.Fatalf("label called %d times in 20 000 adds: the test stream does not exercise both paths", calls)
	}

	s = New(4)
	calls = 0
	for range 1_000 {
		s.Add(42, func() string { calls++; return "k" })
	}
	if calls != 1 {
		t.Fatalf("label called %d times for one key", calls)
	}
	s.Add(43, nil)
	if top := s.Top(2); top[1] != (Entry{Hash: 43, Count: 1}) {
		t.Fatalf("key added with a nil label: %+v", top[1])
	}
}

func TestCapacityBoundsMemory(t *testing.T) {
	for _, capacity := range []int{1, 3, 32} {
		s := New(capacity)
		for i, e := range hotStream(8, 30_000) {
			e.add(s)
			if len(s.slots) > capacity || s.index.len() > capacity || cap(s.slots) != capacity {
				t.Fatalf("capacity %d: %d slots (capacity %d), %d indexed after %d adds",
					capacity, len(s.slots), cap(s.slots), s.index.len(), i+1)
			}
			if i%1_000 == 0 {
				s.Decay()
			}
		}
		if n := len(s.Top(1 << 20)); n > capacity {
			t.Fatalf("capacity %d: Top reports %d keys", capacity, n)
		}
	}
	if s := New(0); cap(s.slots) != 1 {
		t.Fatalf("New(0) has capacity %d", cap(s.slots))
	}
}

func TestTrackedAddDoesNotAllocate(t *testing.T) {
	s := New(32)
	for h := range uint64(32) {
		s.Add(h, func() string { return "k" })
	}
	var h uint64
	allocs := testing.AllocsPerRun(10_000, func() {
		s.Add(h, nil)
		h = (h + 7) % 32
	})
	if allocs != 0 {
		t.Fatalf("%.1f allocations per tracked Add", allocs)
	}
}

func TestCloneIsIndependent(t *testing.T) {
	s := New(8)
	exact := truth{}
	for _, e := range zipfStream(9, 5_000, 1.2, 500) {
		e.add(s)
		exact[e.hash()]++
	}
	c := s.Clone()
	if fmt.Sprint(c.Top(8)) != fmt.Sprint(s.Top(8)) || c.Total() != s.Total() || c.floor != s.floor {
		t.Fatal("clone differs from its source")
	}
	before := fmt.Sprint(s.Top(8))
	for _, e := range zipfStream(10, 5_000, 1.2, 500) {
		e.add(c)
	}
	c.Decay()
	c.Merge(c)
	if fmt.Sprint(s.Top(8)) != before {
		t.Fatal("changing the clone changed its source")
	}
	checkInvariants(t, s, exact)
}

func TestEmpty(t *testing.T) {
	s := New(4)
	if s.Top(3) != nil || s.Total() != 0 || s.Share(Entry{Count: 3}) != 0 {
		t.Fatal("empty sketch")
	}
	s.AddN(1, 0, func() string { t.Fatal("label called for no occurrences"); return "" })
	s.AddN(1, -5, nil)
	s.Decay()
	s.Merge(New(2))
	if s.Top(3) != nil || s.Total() != 0 {
		t.Fatal("sketch not empty after adding nothing")
	}
	s.AddN(1, 4, nil)
	if top := s.Top(0); top != nil {
		t.Fatalf("Top(0) = %v", top)
	}
}

// BenchmarkAdd measures Add on a sketch of capacity 32: tracked only hits keys already
// counted; zipf draws from a skewed stream (Zipf exponent 1.1 over a million keys) where the
// hot keys stay tracked and the tail keeps evicting; uniform draws every key afresh from a
// million, so nearly every Add is an eviction.
func BenchmarkAdd(b *testing.B) {
	label := func() string { return "key" }
	const n = 1 << 16
	streams := map[string][]uint64{}
	tracked := make([]uint64, n)
	for i := range tracked {
		tracked[i] = event(i % 32).hash()
	}
	streams["tracked"] = tracked
	zipf := make([]uint64, n)
	for i, e := range zipfStream(11, n, 1.1, 1_000_000) {
		zipf[i] = e.hash()
	}
	streams["zipf"] = zipf
	uniform := make([]uint64, n)
	r := rand.New(rand.NewPCG(12, 3))
	for i := range uniform {
		uniform[i] = event(r.IntN(1_000_000)).hash()
	}
	streams["uniform"] = uniform
	for _, name := range []string{"tracked", "zipf", "uniform"} {
		hashes := streams[name]
		b.Run(name, func(b *testing.B) {
			s := New(32)
			for _, h := range hashes {
				s.Add(h, label)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				s.Add(hashes[i&(n-1)], label)
			}
		})
	}
}
