package heavy

import (
	"math/rand/v2"
	"testing"
)

// withHome returns a hash whose home cell in x is home; low picks among such hashes.
func withHome(x *slotIndex, home int, low uint64) uint64 {
	// The inverse of the golden-ratio multiplier modulo 2^64, by Newton's iteration.
	const m = 0x9e3779b97f4a7c15
	inv := uint64(m)
	for range 5 {
		inv *= 2 - m*inv
	}
	return (uint64(home)<<x.shift | low&(1<<x.shift-1)) * inv
}

func TestIndexAgreesWithAMap(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 4))
	x := newIndex(4) // 16 cells
	if len(x.cells) != 16 {
		t.Fatalf("%d cells for 4 slots", len(x.cells))
	}
	want := map[uint64]int32{}
	for step := range 200_000 {
		// Few homes, all near the end of the table, so runs collide and wrap around.
		h := withHome(&x, (12+r.IntN(6))%len(x.cells), uint64(r.IntN(3)))
		_, in := want[h]
		switch {
		case in && r.IntN(2) == 0:
			x.del(h)
			delete(want, h)
		case !in && len(want) < 8:
			slot := int32(r.IntN(4))
			x.put(h, slot)
			want[h] = slot
		default:
			x.del(h + 1) // absent or not, deleting another key must not disturb this one
			delete(want, h+1)
		}
		for k, slot := range want {
			if got, ok := x.get(k); !ok || got != slot {
				t.Fatalf("step %d: key %x at %d (%v), want %d", step, k, got, ok, slot)
			}
		}
		if x.len() != len(want) {
			t.Fatalf("step %d: %d keys held, want %d", step, x.len(), len(want))
		}
	}
}

func TestIndexHomeOfWithHome(t *testing.T) {
	x := newIndex(32)
	for home := range len(x.cells) {
		for low := range uint64(4) {
			if got := x.home(withHome(&x, home, low)); got != home {
				t.Fatalf("withHome(%d, %d) lands at %d", home, low, got)
			}
		}
	}
}
