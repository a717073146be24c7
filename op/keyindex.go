package op

import (
	"bytes"
	"hash/maphash"
	"iter"
	"slices"
)

// keyIndex gives each distinct key (its bytes, as KeyEncoder makes them) a small dense id,
// so that keyed state can live in flat slices indexed by id instead of a Go map of string
// keys. Nothing in it holds a pointer per key: the keys' bytes sit in one byteArena, the
// table is open addressing with linear probing over uint64 slots, each holding the key's
// hash tag (high 32 bits) and its id + 1 (low 32 bits, 0 for an empty slot); a tag that
// matches is confirmed by comparing the bytes. Removed ids are given to the next new keys.
type keyIndex struct {
	seed    maphash.Seed
	slots   []uint64
	entries []keyEntry // by id
	arena   byteArena
	free    []uint32
	n       int // live keys
}

// keyEntry is what a keyIndex knows of an id: its key's hash and bytes, and whether a key
// has it (used) or it is free.
type keyEntry struct {
	hash uint64
	key  span
	used bool
}

func newKeyIndex() keyIndex { return keyIndex{seed: maphash.MakeSeed(), slots: make([]uint64, 16)} }

// len is the number of live keys.
func (x *keyIndex) len() int { return x.n }

// key returns the bytes of id's key, valid until the next intern or remove.
func (x *keyIndex) key(id uint32) []byte { return x.arena.bytes(x.entries[id].key) }

// live reports whether id names a key.
func (x *keyIndex) live(id uint32) bool { return int(id) < len(x.entries) && x.entries[id].used }

// find returns the id of k, if k has one.
func (x *keyIndex) find(k []byte) (uint32, bool) {
	_, id, ok := x.lookup(k, maphash.Bytes(x.seed, k))
	return id, ok
}

// intern returns the id of k, giving it one if it has none (added).
func (x *keyIndex) intern(k []byte) (id uint32, added bool) {
	h := maphash.Bytes(x.seed, k)
	slot, id, ok := x.lookup(k, h)
	if ok {
		return id, false
	}
	if n := len(x.free); n > 0 {
		id, x.free = x.free[n-1], x.free[:n-1]
		x.entries[id] = keyEntry{hash: h, key: x.arena.add(k), used: true}
	} else {
		id = uint32(len(x.entries))
		x.entries = append(x.entries, keyEntry{hash: h, key: x.arena.add(k), used: true})
	}
	x.slots[slot] = h>>32<<32 | uint64(id+1)
	x.n++
	if 4*x.n > 3*len(x.slots) {
		x.grow()
	}
	return id, true
}

// lookup finds k (of hash h): its slot and id, or the empty slot where it would go.
func (x *keyIndex) lookup(k []byte, h uint64) (slot int, id uint32, ok bool) {
	mask := len(x.slots) - 1
	tag := h >> 32
	for i := int(h) & mask; ; i = (i + 1) & mask {
		s := x.slots[i]
		if s == 0 {
			return i, 0, false
		}
		if s>>32 == tag {
			if id := uint32(s) - 1; bytes.Equal(x.key(id), k) {
				return i, id, true
			}
		}
	}
}

// grow doubles the slots and places every key again.
func (x *keyIndex) grow() {
	x.slots = make([]uint64, 2*len(x.slots))
	mask := len(x.slots) - 1
	for id, e := range x.entries {
		if !e.used {
			continue
		}
		h := e.hash
		i := int(h) & mask
		for x.slots[i] != 0 {
			i = (i + 1) & mask
		}
		x.slots[i] = h>>32<<32 | uint64(id+1)
	}
}

// remove forgets id's key; id goes to the next new key.
func (x *keyIndex) remove(id uint32) {
	mask := len(x.slots) - 1
	i := int(x.entries[id].hash) & mask
	for uint32(x.slots[i]) != id+1 {
		i = (i + 1) & mask
	}
	// Shift back the entries after i that probed past it, so that no probe meets a hole
	// before its key: an entry at j stays unless its home slot lies cyclically in (i, j].
	for j := (i + 1) & mask; x.slots[j] != 0; j = (j + 1) & mask {
		home := int(x.entries[uint32(x.slots[j])-1].hash) & mask
		if i <= j && i < home && home <= j || i > j && (i < home || home <= j) {
			continue
		}
		x.slots[i] = x.slots[j]
		i = j
	}
	x.slots[i] = 0
	x.arena.drop(x.entries[id].key)
	x.entries[id] = keyEntry{}
	x.free = append(x.free, id)
	x.n--
	if x.arena.wasteful() {
		x.compact()
	}
}

// compact copies the live keys' bytes into a fresh arena.
func (x *keyIndex) compact() {
	x.arena.compact(func(move func(span) span) {
		for id := range x.ids() {
			x.entries[id].key = move(x.entries[id].key)
		}
	})
}

// ids yields the live ids, in order of id.
func (x *keyIndex) ids() iter.Seq[uint32] {
	return func(yield func(uint32) bool) {
		for id, e := range x.entries {
			if e.used && !yield(uint32(id)) {
				return
			}
		}
	}
}

// sorted returns the live ids in the order of their keys' bytes.
func (x *keyIndex) sorted() []uint32 {
	ids := make([]uint32, 0, x.n)
	for id := range x.ids() {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, func(a, b uint32) int { return bytes.Compare(x.key(a), x.key(b)) })
	return ids
}

// sizeBytes is the memory of the index: slots, per-id slices and key bytes.
func (x *keyIndex) sizeBytes() int64 {
	const perID = 24 + 4 // a keyEntry and a free id
	return int64(len(x.slots))*8 + int64(cap(x.entries))*perID + x.arena.sizeBytes()
}
