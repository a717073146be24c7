package op

// byteArena keeps byte strings of keyed state in one growing buffer instead of one heap
// object each: the garbage collector has nothing to scan in it and nothing to mark per
// string. A dropped string's bytes stay in the buffer, counted as dead, until the owner
// compacts: copies its live strings into a fresh arena (see wasteful and fresh).
type byteArena struct {
	buf  []byte
	dead int64 // bytes of dropped strings still in buf
}

// span locates a string in a byteArena.
type span struct {
	off int64
	n   int32
}

// add copies b into the arena.
func (a *byteArena) add(b []byte) span {
	s := span{off: int64(len(a.buf)), n: int32(len(b))}
	a.buf = append(a.buf, b...)
	return s
}

// bytes returns the string at s, valid until the arena grows or is compacted.
func (a *byteArena) bytes(s span) []byte {
	end := s.off + int64(s.n)
	return a.buf[s.off:end:end]
}

// drop counts the string at s as dead.
func (a *byteArena) drop(s span) { a.dead += int64(s.n) }

// replace puts b where s was: over s's bytes when it fits, else at the end.
func (a *byteArena) replace(s span, b []byte) span {
	if len(b) > int(s.n) {
		a.drop(s)
		return a.add(b)
	}
	copy(a.buf[s.off:], b)
	a.dead += int64(int(s.n) - len(b))
	return span{off: s.off, n: int32(len(b))}
}

// mark and truncate undo the strings added after a mark: the strings of a candidate that
// turned out not to be kept.
func (a *byteArena) mark() int { return len(a.buf) }

func (a *byteArena) truncate(mark int) { a.buf = a.buf[:mark] }

// wasteful reports whether dead bytes are over half the buffer, and enough to be worth
// copying the live ones.
func (a *byteArena) wasteful() bool { return a.dead > 1<<16 && 2*a.dead > int64(len(a.buf)) }

// fresh returns an empty arena with room for the live bytes of a; the owner moves each
// live string into it (fresh.add(a.bytes(s))) and keeps it in a's place.
func (a *byteArena) fresh() byteArena {
	return byteArena{buf: make([]byte, 0, int64(len(a.buf))-a.dead)}
}

// sizeBytes is the memory the arena holds.
func (a *byteArena) sizeBytes() int64 { return int64(cap(a.buf)) }
