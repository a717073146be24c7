package op

// slab holds many short byte strings in chunks of slabChunk bytes, each string named by a
// span, so that the garbage collector sees a few pointer-free objects however many strings
// there are, and adding a string never copies the others. A chunk whose strings are all
// dropped is used again; compact copies the live strings of chunks that hold mostly
// dropped ones.
type slab struct {
	chunks  [][]byte
	live    []int    // bytes of live strings, per chunk
	free    []uint32 // chunks holding no live string, to be filled again
	cur     uint32   // the chunk being filled
	used    int      // bytes filled, over every chunk
	held    int64    // bytes of the chunks
	garbage int      // bytes of dropped strings in chunks still in use
}

// slabChunk is the size of a slab's chunks; a longer string gets a chunk of its own size.
const slabChunk = 256 << 10

// span names a string of a slab: its chunk, offset and length.
type span struct {
	chunk, off, n uint32
}

// add copies p into the slab.
func (s *slab) add(p []byte) span {
	if len(s.chunks) == 0 || len(p) > cap(s.chunks[s.cur])-len(s.chunks[s.cur]) {
		s.next(len(p))
	}
	c := s.chunks[s.cur]
	sp := span{chunk: s.cur, off: uint32(len(c)), n: uint32(len(p))}
	s.chunks[s.cur] = append(c, p...)
	s.live[s.cur] += len(p)
	s.used += len(p)
	return sp
}

// next makes the chunk to fill one with room for n bytes: an empty one when there is one
// that big, else a new one.
func (s *slab) next(n int) {
	if k := len(s.free); k > 0 && cap(s.chunks[s.free[k-1]]) >= n {
		s.cur = s.free[k-1]
		s.free = s.free[:k-1]
		return
	}
	s.chunks = append(s.chunks, make([]byte, 0, max(n, slabChunk)))
	s.held += int64(cap(s.chunks[len(s.chunks)-1]))
	s.live = append(s.live, 0)
	s.cur = uint32(len(s.chunks) - 1)
}

// bytes returns the string sp names, valid until compact.
func (s *slab) bytes(sp span) []byte {
	return s.chunks[sp.chunk][sp.off : sp.off+sp.n : sp.off+sp.n]
}

// drop counts the string sp names as garbage, and gives its chunk back when it was the
// chunk's last live string.
func (s *slab) drop(sp span) {
	c := sp.chunk
	s.live[c] -= int(sp.n)
	s.garbage += int(sp.n)
	if s.live[c] > 0 {
		return
	}
	s.garbage -= len(s.chunks[c])
	s.used -= len(s.chunks[c])
	s.chunks[c] = s.chunks[c][:0]
	if c != s.cur {
		s.free = append(s.free, c)
	}
}

// wasteful reports whether dropped strings hold more than half of the bytes filled, and
// enough of them to be worth a copy.
func (s *slab) wasteful() bool { return s.garbage > 4*slabChunk && 2*s.garbage > s.used }

// compact copies the live strings to fresh chunks: live calls move once for each span
// still in use, which returns the string's new span.
func (s *slab) compact(live func(move func(span) span)) {
	var fresh slab
	live(func(sp span) span { return fresh.add(s.bytes(sp)) })
	*s = fresh
}

// size is the memory the slab holds.
func (s *slab) size() int64 {
	return s.held + int64(cap(s.chunks))*24 + int64(cap(s.live))*8 + int64(cap(s.free))*4
}
