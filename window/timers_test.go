package window

import (
	"math/rand/v2"
	"slices"
	"testing"
)

func TestTimersInOrder(t *testing.T) {
	var tm Timers
	for _, e := range []int64{3000, 1000, 2000, 1000, 3000, 5000, 4000} {
		tm.Add(e)
	}
	if got := tm.Ends(); !slices.Equal(got, []int64{1000, 2000, 3000, 4000, 5000}) {
		t.Fatalf("Ends = %v", got)
	}
	if got := tm.PopUpTo(999, nil); len(got) != 0 {
		t.Fatalf("PopUpTo(999) = %v, want nothing", got)
	}
	if got := tm.PopUpTo(3000, nil); !slices.Equal(got, []int64{1000, 2000, 3000}) {
		t.Fatalf("PopUpTo(3000) = %v", got)
	}
	if next, ok := tm.Next(); !ok || next != 4000 {
		t.Fatalf("Next = %d, %v", next, ok)
	}
	tm.Add(500) // an end before the popped ones: still pending, fires next
	if got := tm.PopUpTo(4000, nil); !slices.Equal(got, []int64{500, 4000}) {
		t.Fatalf("PopUpTo(4000) = %v", got)
	}
	if got := tm.PopUpTo(1<<62, nil); !slices.Equal(got, []int64{5000}) || tm.Len() != 0 {
		t.Fatalf("PopUpTo(max) = %v, Len %d", got, tm.Len())
	}
	if _, ok := tm.Next(); ok {
		t.Fatal("Next on empty Timers reported an end")
	}
}

// TestTimersMatchSortedSet runs random adds and pops against a sorted set.
func TestTimersMatchSortedSet(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	var tm Timers
	ref := map[int64]bool{}
	wm := int64(0)
	var got []int64
	for step := range 100000 {
		if r.IntN(10) < 8 {
			e := wm + r.Int64N(50) - 5
			if e <= wm {
				continue // the operator never adds an end that has fired
			}
			tm.Add(e)
			ref[e] = true
			continue
		}
		wm += r.Int64N(10)
		got = tm.PopUpTo(wm, got[:0])
		var want []int64
		for e := range ref {
			if e <= wm {
				want = append(want, e)
				delete(ref, e)
			}
		}
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Fatalf("step %d: PopUpTo(%d) = %v, want %v", step, wm, got, want)
		}
		if tm.Len() != len(ref) {
			t.Fatalf("step %d: Len = %d, want %d", step, tm.Len(), len(ref))
		}
	}
}

func TestTimersDoNotAllocate(t *testing.T) {
	var tm Timers
	var dst []int64
	wm := int64(0)
	round := func() {
		for k := range int64(64) {
			tm.Add(wm + 10 + k%8)
			tm.Add(wm + 20 - k%4)
		}
		wm += 8
		dst = tm.PopUpTo(wm, dst[:0])
	}
	for range 100 {
		round()
	}
	if allocs := testing.AllocsPerRun(100, round); allocs != 0 {
		t.Fatalf("Timers allocated %v times per round in steady state", allocs)
	}
}

// BenchmarkTimersAdd adds one end per record as a window operator does: mostly the current
// window's end again, sometimes a new one, now and then a late one.
func BenchmarkTimersAdd(b *testing.B) {
	var tm Timers
	var fired []int64
	r := rand.New(rand.NewPCG(1, 2))
	ends := make([]int64, 4096)
	for i := range ends {
		ends[i] = int64(i/64)*1000 + int64(r.IntN(3))*1000
	}
	base := int64(0)
	for b.Loop() {
		for _, e := range ends {
			tm.Add(base + e)
		}
		base += 64 * 1000
		fired = tm.PopUpTo(base, fired[:0])
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(ends)), "ns/add")
}
