package expr

import (
	"bytes"
	"hash/maphash"
	"sync/atomic"
)

// pieceMemo remembers what an expensive pieceFunc (a regular expression's match) gave for
// recent inputs, so that a column whose strings repeat, such as URLs or channel names,
// runs the function once per distinct value rather than once per row. It is a table of
// memoSlots entries where an input may sit in either of two slots chosen by its hash: a
// lookup costs a hash and a comparison or two, a miss computes the piece and puts it in the
// first of the two slots that is free, else in the first. With two places to go, ten
// thousand inputs rarely drive each other out, where with one about a seventh do. Entries are
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
	hash      uint64
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
	h := maphash.Bytes(m.seed, s)
	first, second := &m.slots[h&(memoSlots-1)], &m.slots[h>>32&(memoSlots-1)]
	e1, e2 := first.Load(), second.Load()
	for _, e := range [2]*memoEntry{e1, e2} {
		if e != nil && e.hash == h && bytes.Equal(e.in, s) {
			return e.piece, e.ok
		}
	}
	p, ok := m.pick(s)
	e := &memoEntry{hash: h, in: bytes.Clone(s), ok: ok}
	if ok {
		e.piece = bytes.Clone(p)
	}
	if e1 != nil && e2 == nil {
		second.Store(e)
	} else {
		first.Store(e)
	}
	return e.piece, ok
}
