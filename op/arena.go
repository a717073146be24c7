package op

// byteArena keeps byte strings of keyed state in a few large chunks instead of one heap
// object each: the garbage collector has nothing to scan in them and nothing to mark per
// string, and growing never copies what the arena holds. A chunk whose strings have all
// been dropped is filled again, so state that expires in the order it came (a join's rows)
// reuses its chunks; the bytes of a string dropped from a chunk still in use stay, counted
// as dead, until the owner compacts (see wasteful and compact).
type byteArena struct {
	chunks [][]byte
	live   []int64  // bytes of live strings, per chunk
	free   []uint32 // emptied chunks, to be filled again
	cur    uint32   // the chunk being filled
	used   int64    // bytes filled in the chunks in use
	dead   int64    // bytes of dropped strings in the chunks in use
	held   int64    // bytes of the chunks
}

// The first chunk of an arena holds firstChunk bytes, each next one twice the last, up to
// maxChunk; a longer string gets a chunk of its own.
const firstChunk, maxChunk = 4 << 10, 1 << 20

// span locates a string in a byteArena.
type span struct {
	chunk, off, n uint32
}

// add copies b into the arena.
func (a *byteArena) add(b []byte) span {
	if len(a.chunks) == 0 || len(b) > cap(a.chunks[a.cur])-len(a.chunks[a.cur]) {
		a.next(len(b))
	}
	c := a.chunks[a.cur]
	s := span{chunk: a.cur, off: uint32(len(c)), n: uint32(len(b))}
	a.chunks[a.cur] = append(c, b...)
	a.live[a.cur] += int64(len(b))
	a.used += int64(len(b))
	return s
}

// next makes the chunk to fill one with room for n bytes: an emptied one when the last
// emptied is that big, else a new one.
func (a *byteArena) next(n int) {
	if k := len(a.free); k > 0 && cap(a.chunks[a.free[k-1]]) >= n {
		a.cur, a.free = a.free[k-1], a.free[:k-1]
		return
	}
	size := firstChunk
	if k := len(a.chunks); k > 0 {
		size = min(2*cap(a.chunks[k-1]), maxChunk)
	}
	size = max(size, n)
	a.chunks = append(a.chunks, make([]byte, 0, size))
	a.live = append(a.live, 0)
	a.held += int64(size)
	a.cur = uint32(len(a.chunks) - 1)
}

// bytes returns the string at s, valid until the arena is compacted or s dropped.
func (a *byteArena) bytes(s span) []byte {
	end := s.off + s.n
	return a.chunks[s.chunk][s.off:end:end]
}

// drop counts the string at s as dead, and empties its chunk when it was the chunk's last.
func (a *byteArena) drop(s span) {
	c := s.chunk
	a.live[c] -= int64(s.n)
	a.dead += int64(s.n)
	if s.n == 0 || a.live[c] > 0 {
		return
	}
	filled := int64(len(a.chunks[c]))
	a.used -= filled
	a.dead -= filled
	a.chunks[c] = a.chunks[c][:0]
	if c != a.cur {
		a.free = append(a.free, c)
	}
}

// replace puts b where s was: over s's bytes when it fits, else in a new place.
func (a *byteArena) replace(s span, b []byte) span {
	if len(b) > int(s.n) || len(b) == 0 {
		a.drop(s)
		return a.add(b)
	}
	copy(a.bytes(s), b)
	shrunk := int64(int(s.n) - len(b))
	a.live[s.chunk] -= shrunk
	a.dead += shrunk
	return span{chunk: s.chunk, off: s.off, n: uint32(len(b))}
}

// arenaMark is the end of a byteArena at one moment.
type arenaMark struct {
	chunks, free int
	cur          uint32
	len          int
	live, used   int64
}

// mark and truncate undo the strings added after a mark: the strings of a candidate that
// turned out not to be kept. Nothing may be dropped or replaced between the two.
func (a *byteArena) mark() arenaMark {
	m := arenaMark{chunks: len(a.chunks), free: len(a.free), cur: a.cur, used: a.used}
	if m.chunks > 0 {
		m.len, m.live = len(a.chunks[a.cur]), a.live[a.cur]
	}
	return m
}

func (a *byteArena) truncate(m arenaMark) {
	for _, c := range a.chunks[m.chunks:] {
		a.held -= int64(cap(c))
	}
	clear(a.chunks[m.chunks:])
	a.chunks, a.live = a.chunks[:m.chunks], a.live[:m.chunks]
	// The emptied chunks taken since the mark are still in the free list's array, as only
	// drops add to it.
	for _, c := range a.free[len(a.free):m.free] {
		a.chunks[c], a.live[c] = a.chunks[c][:0], 0
	}
	a.free = a.free[:m.free]
	a.cur, a.used = m.cur, m.used
	if m.chunks > 0 {
		a.chunks[m.cur], a.live[m.cur] = a.chunks[m.cur][:m.len], m.live
	}
}

// compact moves the live strings into a fresh arena, which takes a's place: live calls
// move once for each string still in use, which returns the string's new span.
func (a *byteArena) compact(live func(move func(span) span)) {
	var fresh byteArena
	live(func(s span) span { return fresh.add(a.bytes(s)) })
	*a = fresh
}

// wasteful reports whether dead bytes are over half of those filled, and enough to be
// worth copying the live ones.
func (a *byteArena) wasteful() bool { return a.dead > 1<<16 && 2*a.dead > a.used }

// sizeBytes is the memory the arena holds.
func (a *byteArena) sizeBytes() int64 {
	return a.held + int64(cap(a.chunks))*24 + int64(cap(a.live))*8 + int64(cap(a.free))*4
}
