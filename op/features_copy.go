package op

// featCopy is the keys' state as the last capture wrote it, each key's figures in the
// snapshot's format, kept between checkpoints so that a capture writes again only the keys
// that changed since the one before (Features.touch marks them) and a checkpoint holds the
// step for what changed rather than for all it holds. The first capture writes every key;
// a restore marks the keys it brings as new keys are.
//
// The encoding of a capture reads keys and states on a goroutine of its own while the
// operator goes on; only the next capture writes them, and the engine takes none before
// that encoding has returned (see Capturer). The operator meanwhile writes marked and
// slots alone.
type featCopy struct {
	keys   []string // by slot: the key, "" for a slot with none
	states [][]byte // by slot: the key's figures as appendKey writes them
	chunk  []byte   // what is left of the buffer new keys' figures are written into
	bytes  int64    // the capacity of states' buffers

	marked []bool   // by slot: the key changed since the last capture
	slots  []uint32 // the slots marked, each once
	// current says the copy is the state's but for the slots marked; until the first
	// capture it is not, and nothing is marked.
	current bool
}

// featCopySlotBytes is the memory of a slot of the copy beside its figures: the key's and
// the figures' headers and the mark.
const featCopySlotBytes = 16 + 24 + 1

// touch notes that the state of slot changed since the last capture.
func (f *Features) touch(slot uint32) {
	c := &f.kept
	if !c.current {
		return
	}
	if int(slot) >= len(c.marked) {
		c.marked = append(c.marked, make([]bool, int(slot)+1-len(c.marked))...)
	}
	if !c.marked[slot] {
		c.marked[slot] = true
		c.slots = append(c.slots, slot)
	}
}

// refreshCopy brings the copy up to the keys' state: it writes the figures of the keys
// marked since the last capture, and forgets those of keys gone; every key's when the
// copy is not current.
func (f *Features) refreshCopy() {
	c := &f.kept
	n := len(f.keys)
	if !c.current {
		*c = featCopy{marked: make([]bool, n), slots: make([]uint32, 0, n), current: true}
		for s := range f.keys {
			if f.keys[s].live {
				c.slots = append(c.slots, uint32(s))
			}
		}
	}
	c.keys = append(c.keys, make([]string, n-len(c.keys))...)
	c.states = append(c.states, make([][]byte, n-len(c.states))...)
	c.marked = append(c.marked, make([]bool, n-len(c.marked))...)
	for _, s := range c.slots {
		c.marked[s] = false
		c.write(f, s)
	}
	c.slots = c.slots[:0]
}

// write copies the figures of slot, or forgets them if the slot has no key any more. A
// slot's buffer serves its next figures as far as they fit; a new key's figures are
// written after the ones before in chunks of stateChunk bytes rather than one allocation
// each, and one that does not fit in what is left of a chunk gets an allocation of its own,
// as append makes it.
func (c *featCopy) write(f *Features, slot uint32) {
	k := &f.keys[slot]
	old := c.states[slot]
	if !k.live {
		c.keys[slot], c.states[slot] = "", old[:0] // the buffer waits for the slot's next key
		return
	}
	buf := old[:0]
	fresh := cap(buf) == 0
	if fresh {
		if cap(c.chunk)-len(c.chunk) < stateChunk/16 {
			c.chunk = make([]byte, 0, stateChunk)
		}
		buf = c.chunk[len(c.chunk):]
	}
	st := f.appendKey(buf, slot)
	if fresh && len(st) <= cap(c.chunk)-len(c.chunk) { // written in place
		c.chunk = c.chunk[:len(c.chunk)+len(st)]
		st = st[:len(st):len(st)]
	}
	c.bytes += int64(cap(st) - cap(old))
	c.keys[slot], c.states[slot] = k.key, st
}

// part lists the keys of the copy and their figures, in slot order: what a full copy of
// the keys' state would list. It reads the copy as its last capture left it.
func (c *featCopy) part() *featPart {
	p := &featPart{}
	for s, k := range c.keys {
		if k != "" {
			p.keys = append(p.keys, k)
			p.states = append(p.states, c.states[s])
		}
	}
	return p
}

// stateBytes is the memory of the copy.
func (c *featCopy) stateBytes() int64 {
	return c.bytes + int64(len(c.keys))*featCopySlotBytes
}
