package heavy

import "math/bits"

// slotIndex maps a tracked key's hash to its slot: an open-addressing table with linear probing,
// sized once to at least four cells per slot so that probes stay short, and emptied by
// backward shifting so that it needs no tombstones and never grows or allocates after New.
//
// A cell holds slot+1, so the zero cell is empty and every hash, 0 included, can be a key.
// Every key sits at or after its home cell (hash times the golden ratio, top bits) with no
// empty cell between the two, counting cyclically.
type slotIndex struct {
	cells []cell
	shift uint // 64 minus the log2 of len(cells)
}

type cell struct {
	hash uint64
	slot int32 // the slot plus one; 0 marks an empty cell
}

func newIndex(slots int) slotIndex {
	logSize := bits.Len(uint(4*slots - 1))
	return slotIndex{cells: make([]cell, 1<<logSize), shift: uint(64 - logSize)}
}

func (x *slotIndex) home(h uint64) int { return int((h * 0x9e3779b97f4a7c15) >> x.shift) }

// get returns the slot of h, if h is there.
func (x *slotIndex) get(h uint64) (int32, bool) {
	mask := len(x.cells) - 1
	for i := x.home(h); ; i = (i + 1) & mask {
		c := x.cells[i]
		if c.slot == 0 {
			return 0, false
		}
		if c.hash == h {
			return c.slot - 1, true
		}
	}
}

// put records that h, which is not there, is in slot.
func (x *slotIndex) put(h uint64, slot int32) {
	mask := len(x.cells) - 1
	i := x.home(h)
	for x.cells[i].slot != 0 {
		i = (i + 1) & mask
	}
	x.cells[i] = cell{hash: h, slot: slot + 1}
}

// del removes h, if it is there, and shifts back the keys that probed past it.
func (x *slotIndex) del(h uint64) {
	mask := len(x.cells) - 1
	i := x.home(h)
	for ; x.cells[i].hash != h || x.cells[i].slot == 0; i = (i + 1) & mask {
		if x.cells[i].slot == 0 {
			return
		}
	}
	// i is now a hole. A later key in the same run may fill it unless its home lies
	// cyclically after the hole, where it would no longer be found.
	for j := (i + 1) & mask; x.cells[j].slot != 0; j = (j + 1) & mask {
		k := x.home(x.cells[j].hash)
		if (j-k)&mask >= (j-i)&mask {
			x.cells[i] = x.cells[j]
			i = j
		}
	}
	x.cells[i] = cell{}
}

// reset empties the table.
func (x *slotIndex) reset() { clear(x.cells) }

// len counts the keys held; it is for tests and checks, not the hot path.
func (x *slotIndex) len() int {
	n := 0
	for _, c := range x.cells {
		if c.slot != 0 {
			n++
		}
	}
	return n
}
