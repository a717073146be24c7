package expr

import (
	"bytes"
	"hash/maphash"
	"sync/atomic"
)

// pieceMemo remembers what an expensive pieceFunc (a regular expression's match) gave for
// recent inputs, so that a column whose strings repeat, such as URLs or channel names,
// runs the function once per distinct value rather than once per row. It is a direct-mapped
// table of memoSlots entries chosen by a hash of the input: a lookup costs a hash and a
// comparison, a miss computes the piece and replaces the slot's entry. Entries are
// immutable and swapped atomically, so the subtasks that share a compiled expression share
// its memo without locks; its memory is bounded by the slots and the strings they hold.
type pieceMemo struct {
	seed  maphash.Seed
	slots [memoSlots]atomic.Pointer[memoEntry]
	pick  pieceFunc
}

// memoSlots is the number of entries a memo keeps, a power of two: 512 KiB of pointers,
// few enough collisions among ten thousand distinct values.
const memoSlots = 1 << 16

// memoLimit is the longest input a memo keeps; longer ones are computed every time.
const memoLimit = 256

type memoEntry struct {
	in, piece []byte
	ok        bool
}

func newPieceMemo(pick pieceFunc) *pieceMemo {
	return &pieceMemo{seed: maphash.MakeSeed(), pick: pick}
}

// get returns pick(s), from the memo when it holds s. The piece may be a copy held by the
// memo: callers copy it out and never modify it.
func (m *pieceMemo) get(s []byte) ([]byte, bool) {
	if len(s) > memoLimit {
		return m.pick(s)
	}
	slot := &m.slots[maphash.Bytes(m.seed, s)&(memoSlots-1)]
	if e := slot.Load(); e != nil && bytes.Equal(e.in, s) {
		return e.piece, e.ok
	}
	p, ok := m.pick(s)
	in := bytes.Clone(s)
	e := &memoEntry{in: in, ok: ok}
	if ok {
		e.piece = bytes.Clone(p)
	}
	slot.Store(e)
	return e.piece, ok
}
