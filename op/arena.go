package op

// byteArena keeps byte strings of keyed state in a few large chunks instead of one heap
// object each: the garbage collector has nothing to scan in them and nothing to mark per
// string, and growing never copies what the arena holds. A dropped string's bytes stay,
// counted as dead, until the owner compacts (see wasteful and compact).
type byteArena struct {
	chunks [][]byte
	used   int64 // bytes of strings added and not truncated
	dead   int64 // bytes of dropped strings
	held   int64 // bytes of the chunks
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
	last := len(a.chunks) - 1
	if last < 0 || len(a.chunks[last])+len(b) > cap(a.chunks[last]) {
		size := firstChunk
		if last >= 0 {
			size = min(2*cap(a.chunks[last]), maxChunk)
		}
		a.chunks = append(a.chunks, make([]byte, 0, max(size, len(b))))
		a.held += int64(max(size, len(b)))
		last++
	}
	c := a.chunks[last]
	s := span{chunk: uint32(last), off: uint32(len(c)), n: uint32(len(b))}
	a.chunks[last] = append(c, b...)
	a.used += int64(len(b))
	return s
}

// bytes returns the string at s, valid until the arena is compacted.
func (a *byteArena) bytes(s span) []byte {
	end := s.off + s.n
	return a.chunks[s.chunk][s.off:end:end]
}

// drop counts the string at s as dead.
func (a *byteArena) drop(s span) { a.dead += int64(s.n) }

// replace puts b where s was: over s's bytes when it fits, else in a new place.
func (a *byteArena) replace(s span, b []byte) span {
	if len(b) > int(s.n) {
		a.drop(s)
		return a.add(b)
	}
	copy(a.bytes(s), b)
	a.dead += int64(int(s.n) - len(b))
	return span{chunk: s.chunk, off: s.off, n: uint32(len(b))}
}

// arenaMark is the end of a byteArena at one moment.
type arenaMark struct {
	chunks, len int
	used        int64
}

// mark and truncate undo the strings added after a mark: the strings of a candidate that
// turned out not to be kept.
func (a *byteArena) mark() arenaMark {
	m := arenaMark{chunks: len(a.chunks), used: a.used}
	if m.chunks > 0 {
		m.len = len(a.chunks[m.chunks-1])
	}
	return m
}

func (a *byteArena) truncate(m arenaMark) {
	for _, c := range a.chunks[m.chunks:] {
		a.held -= int64(cap(c))
	}
	clear(a.chunks[m.chunks:])
	a.chunks = a.chunks[:m.chunks]
	if m.chunks > 0 {
		a.chunks[m.chunks-1] = a.chunks[m.chunks-1][:m.len]
	}
	a.used = m.used
}

// compact moves the live strings into a fresh arena, which takes a's place: live calls
// move once for each string still in use, which returns the string's new span.
func (a *byteArena) compact(live func(move func(span) span)) {
	var fresh byteArena
	live(func(s span) span { return fresh.add(a.bytes(s)) })
	*a = fresh
}

// wasteful reports whether dead bytes are over half of those added, and enough to be
// worth copying the live ones.
func (a *byteArena) wasteful() bool { return a.dead > 1<<16 && 2*a.dead > a.used }

// sizeBytes is the memory the arena holds.
func (a *byteArena) sizeBytes() int64 { return a.held + int64(cap(a.chunks))*24 }
