package op

import (
	"bytes"
	"encoding/binary"
	"hash/maphash"
	"math"
	"math/bits"
	"slices"
)

// joinTable holds the rows an interval join keeps, by key and side, in a shape the garbage
// collector need not scan however many rows it holds: keys and rows are numbered slots of
// pointer-free slices, their bytes sit in two byte arenas, and a key is found by a 64-bit hash of
// its bytes in a map of integers, the bytes compared on a hit. A key whose hash a live key
// already holds goes to a map of its bytes instead, so a shared hash costs a second lookup,
// never a wrong match.
//
// A key slot stays taken while a timer names it, even after its rows are gone, so that the
// timer heap can still order by the key's bytes; its bytes go with the slot.
type joinTable struct {
	hash     func([]byte) uint64
	byHash   map[uint64]uint32 // a key's hash: its slot
	clashes  map[string]uint32 // a key whose hash another key's slot holds in byHash: its slot
	keys     []joinKey
	freeKeys []uint32
	keyBytes byteArena
	rows     []keptRow
	freeRows []uint32
	cols     byteArena
	live     int   // keys with rows
	kept     int64 // rows kept, both sides
}

// noRow ends a list of rows.
const noRow = math.MaxUint32

// joinKey is a key's slot: its bytes, its rows of each side in order of arrival (a list
// linked by keptRow.next), and per side with rows the watermark its timer is armed for.
type joinKey struct {
	key         span
	hash        uint64
	first, last [2]uint32
	timer       [2]int64
	timers      int32 // timers in a heap that name the slot
	live        bool
}

// keptRow is a row kept in state: its event time, its bound with an upper bound from a
// column (left rows only), whether it joined a row yet, and its columns (all of a left row,
// the carried ones of a right row) as KeyEncoder encodes them.
type keptRow struct {
	time, until int64
	cols        span
	next        uint32
	matched     bool
}

func newJoinTable() joinTable {
	seed := maphash.MakeSeed()
	return joinTable{hash: func(k []byte) uint64 { return keyHash(seed, k) },
		byHash: map[uint64]uint32{}, clashes: map[string]uint32{}}
}

// keyHash hashes key k: a key of up to 16 bytes (one or two numbers) by one 128-bit
// multiply of its two words, a fifth of maphash's time on such keys; a longer one by
// maphash with seed. Keys that share a hash still join apart (see joinTable), so the hash
// needs to spread keys, not to resist chosen ones.
func keyHash(seed maphash.Seed, k []byte) uint64 {
	if len(k) > 16 {
		return maphash.Bytes(seed, k)
	}
	var a, b uint64
	rest := k
	if len(k) >= 8 {
		a, rest = binary.LittleEndian.Uint64(k), k[8:]
	}
	for i, c := range rest {
		b |= uint64(c) << (8 * uint(i))
	}
	hi, lo := bits.Mul64(a^0xa0761d6478bd642f^uint64(len(k)), b^0xe7037ed1a0b428db)
	return hi ^ lo
}

// find returns the slot of key k, made if k has none.
func (t *joinTable) find(k []byte) uint32 {
	h := t.hash(k)
	id, taken := t.byHash[h]
	if taken && bytes.Equal(t.key(id), k) {
		return id
	}
	if len(t.clashes) > 0 {
		if id, ok := t.clashes[string(k)]; ok {
			return id
		}
	}
	id = t.slot(k, h)
	if taken {
		t.clashes[string(k)] = id
	} else {
		t.byHash[h] = id
	}
	return id
}

// slot takes a free key slot for key k of hash h.
func (t *joinTable) slot(k []byte, h uint64) uint32 {
	e := joinKey{key: t.keyBytes.add(k), hash: h, first: [2]uint32{noRow, noRow}, live: true}
	t.live++
	if n := len(t.freeKeys); n > 0 {
		id := t.freeKeys[n-1]
		t.freeKeys = t.freeKeys[:n-1]
		t.keys[id] = e
		return id
	}
	t.keys = append(t.keys, e)
	return uint32(len(t.keys) - 1)
}

// key returns the bytes of slot id's key, valid until the next find.
func (t *joinTable) key(id uint32) []byte { return t.keyBytes.bytes(t.keys[id].key) }

// has reports whether slot id keeps rows of side.
func (t *joinTable) has(id uint32, side int) bool { return t.keys[id].first[side] != noRow }

// append keeps row, of columns cols, after the rows of side of slot id.
func (t *joinTable) append(id uint32, side int, row keptRow, cols []byte) {
	row.cols, row.next = t.cols.add(cols), noRow
	var r uint32
	if n := len(t.freeRows); n > 0 {
		r = t.freeRows[n-1]
		t.freeRows = t.freeRows[:n-1]
		t.rows[r] = row
	} else {
		r = uint32(len(t.rows))
		t.rows = append(t.rows, row)
	}
	k := &t.keys[id]
	if k.first[side] == noRow {
		k.first[side] = r
	} else {
		t.rows[k.last[side]].next = r
	}
	k.last[side] = r
	t.kept++
}

// sweep calls keep for each row of side of slot id in order, with the row's columns, and
// drops the rows it returns false for. It stops at keep's first error.
func (t *joinTable) sweep(id uint32, side int, keep func(r *keptRow, cols []byte) (bool, error)) error {
	k := &t.keys[id]
	prev := uint32(noRow)
	for r := k.first[side]; r != noRow; {
		row := &t.rows[r]
		next := row.next
		ok, err := keep(row, t.cols.bytes(row.cols))
		if err != nil {
			return err
		}
		if ok {
			prev, r = r, next
			continue
		}
		if prev == noRow {
			k.first[side] = next
		} else {
			t.rows[prev].next = next
		}
		if k.last[side] == r {
			k.last[side] = prev
		}
		t.cols.drop(row.cols)
		*row = keptRow{}
		t.freeRows = append(t.freeRows, r)
		t.kept--
		r = next
	}
	if k.first[side] == noRow && k.first[1-side] == noRow {
		t.forget(id)
	}
	return nil
}

// forget drops key slot id, whose rows are gone, from the maps; the slot itself is freed
// once no timer names it.
func (t *joinTable) forget(id uint32) {
	k := &t.keys[id]
	if cur, ok := t.byHash[k.hash]; ok && cur == id {
		delete(t.byHash, k.hash)
	} else {
		delete(t.clashes, string(t.key(id)))
	}
	k.live = false
	t.live--
	t.free(id)
}

// armed counts a timer that names slot id.
func (t *joinTable) armed(id uint32) { t.keys[id].timers++ }

// fired uncounts a timer that named slot id, and reports whether it is the live timer of
// side at: the slot's key has rows of side and its timer for them is at.
func (t *joinTable) fired(id uint32, side int, at int64) bool {
	k := &t.keys[id]
	k.timers--
	live := k.live && k.first[side] != noRow && k.timer[side] == at
	t.free(id)
	return live
}

// free gives slot id back once its key is forgotten and no timer names it.
func (t *joinTable) free(id uint32) {
	k := &t.keys[id]
	if k.live || k.timers > 0 {
		return
	}
	t.keyBytes.drop(k.key)
	*k = joinKey{first: [2]uint32{noRow, noRow}}
	t.freeKeys = append(t.freeKeys, id)
}

// tidy copies the bytes of the live keys and rows to fresh arenas when dropped ones take
// most of an arena.
func (t *joinTable) tidy() {
	if t.cols.wasteful() {
		t.cols.compact(func(move func(span) span) {
			for i := range t.keys {
				if !t.keys[i].live {
					continue
				}
				for side := range 2 {
					for r := t.keys[i].first[side]; r != noRow; r = t.rows[r].next {
						t.rows[r].cols = move(t.rows[r].cols)
					}
				}
			}
		})
	}
	if t.keyBytes.wasteful() {
		t.keyBytes.compact(func(move func(span) span) {
			for i := range t.keys {
				if k := &t.keys[i]; k.live || k.timers > 0 {
					k.key = move(k.key)
				}
			}
		})
	}
}

// sorted returns the slots of the live keys in the order of their keys' bytes.
func (t *joinTable) sorted() []uint32 {
	ids := make([]uint32, 0, t.live)
	for i := range t.keys {
		if t.keys[i].live {
			ids = append(ids, uint32(i))
		}
	}
	slices.SortFunc(ids, func(a, b uint32) int { return bytes.Compare(t.key(a), t.key(b)) })
	return ids
}

// size estimates the memory the table holds: its arenas, slots and maps.
func (t *joinTable) size() int64 {
	const perEntry = 8 + 4 + 4 // a map entry: hash, slot, and its share of control bytes
	return t.keyBytes.sizeBytes() + t.cols.sizeBytes() + int64(cap(t.keys))*int64(joinKeySize) +
		int64(cap(t.rows))*int64(keptRowSize) + int64(cap(t.freeKeys)+cap(t.freeRows))*4 +
		int64(len(t.byHash)+len(t.clashes))*perEntry
}

// The sizes of a key slot and a row slot, in bytes.
const (
	joinKeySize = 64
	keptRowSize = 40
)

// keyTimer says that the rows of one side of key slot id may wait for no watermark past at.
type keyTimer struct {
	at int64
	id uint32
}

// keyTimers is a binary min-heap of timers by at, then by their keys' bytes, so that keys
// come due in the same order whatever slots they were given.
type keyTimers struct {
	s []keyTimer
	t *joinTable
}

func (h *keyTimers) less(s []keyTimer, i, k int) bool {
	return s[i].at < s[k].at || s[i].at == s[k].at && bytes.Compare(h.t.key(s[i].id), h.t.key(s[k].id)) < 0
}

func (h *keyTimers) push(x keyTimer) {
	h.t.armed(x.id)
	heapPush(&h.s, x, h.less)
}

func (h *keyTimers) pop() keyTimer { return heapPop(&h.s, h.less) }

// heapPush adds x to the binary min-heap *s ordered by less.
func heapPush[T any](s *[]T, x T, less func(s []T, i, k int) bool) {
	*s = append(*s, x)
	h := *s
	for i := len(h) - 1; i > 0; {
		p := (i - 1) / 2
		if !less(h, i, p) {
			break
		}
		h[i], h[p] = h[p], h[i]
		i = p
	}
}

// heapPop removes and returns the least element of the binary min-heap *s ordered by less.
func heapPop[T any](s *[]T, less func(s []T, i, k int) bool) T {
	h := *s
	top := h[0]
	n := len(h) - 1
	h[0] = h[n]
	var zero T
	h[n] = zero
	h = h[:n]
	for i := 0; ; {
		c := 2*i + 1
		if c >= n {
			break
		}
		if c+1 < n && less(h, c+1, c) {
			c++
		}
		if !less(h, c, i) {
			break
		}
		h[i], h[c] = h[c], h[i]
		i = c
	}
	*s = h
	return top
}
