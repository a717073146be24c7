package op

import (
	"sync"
	"sync/atomic"
)

// featCopy is the keys' state as the captures wrote it, each key's figures in the
// snapshot's format, kept between checkpoints so that a snapshot writes again only the keys
// that changed since the one before.
//
// Generations. The operator notes the slots it is about to change in the generation under
// way (Features.touch, called before the change). A capture only freezes that generation:
// its slots become pending and a new generation begins, however many slots changed. The
// encoding then copies the pending slots' figures beside the operator (copyPending). The
// operator, about to change a slot still pending, copies it first, so that every pending
// slot is copied as it stood at the capture, a key dropped since included. A new operator
// notes every key it makes, so its first capture copies them all.
//
// Locking. The encoding reads the keys, the calls' state and the copy under mu, a few keys
// at a time; the operator changes them only under mu (in Features.add, emit, OnWatermark,
// restoreKeys and capture), so it waits at most for a few keys' copy. Once no slot is
// pending the operator writes neither keys nor states, so the encoding lists them without
// mu; the engine takes no capture before the encoding has returned (see Capturer).
type featCopy struct {
	mu     sync.Mutex
	keys   []string     // by slot: the key, "" for a slot with none
	states [][]byte     // by slot: the key's figures as appendKey writes them
	chunk  []byte       // what is left of the buffer new keys' figures are written into
	bytes  atomic.Int64 // of the slots and their figures' buffers; StateBytes reads it without mu

	gen   uint32   // the generation under way, from 1 (NewFeatures); the frozen one is gen-1
	marks []uint32 // by slot: the generation the slot last changed in, 0 once copied
	slots []uint32 // the slots marked in gen, each once
	// pending are the slots of the frozen generation, those before next gone through.
	pending []uint32
	next    int
}

// featCopySlotBytes is the memory of a slot of the copy beside its figures: the key's and
// the figures' headers.
const featCopySlotBytes = 16 + 24

// copyTurn is how many pending slots the encoding copies per hold of the lock.
const copyTurn = 128

// touch notes that the operator is about to change the state of slot, under kept.mu. A
// slot still pending for the snapshot being encoded is copied first.
func (f *Features) touch(slot uint32) {
	c := &f.kept
	if int(slot) >= len(c.marks) {
		c.marks = append(c.marks, make([]uint32, int(slot)+1-len(c.marks))...)
	}
	m := c.marks[slot]
	if m == c.gen {
		return
	}
	if c.frozen(m) {
		c.write(f, slot)
	}
	c.marks[slot] = c.gen
	c.slots = append(c.slots, slot)
}

// frozen reports whether mark m is the frozen generation's: the slot is pending.
func (c *featCopy) frozen(m uint32) bool { return m != 0 && m == c.gen-1 }

// freeze makes the slots marked since the last capture pending and begins a new
// generation, under mu. Every slot the last capture left pending has been copied.
func (c *featCopy) freeze() {
	c.pending, c.slots = c.slots, c.pending[:0]
	c.next = 0
	c.gen++
}

// copyPending copies the figures of up to n pending slots the operator has not copied
// already, and reports whether any are left.
func (f *Features) copyPending(n int) bool {
	c := &f.kept
	c.mu.Lock()
	defer c.mu.Unlock()
	end := min(c.next+n, len(c.pending))
	for _, s := range c.pending[c.next:end] {
		if c.frozen(c.marks[s]) {
			c.write(f, s)
			c.marks[s] = 0
		}
	}
	c.next = end
	return c.next < len(c.pending)
}

// write copies the figures of slot, or forgets them if the slot has no key any more. A
// slot's buffer serves its next figures as far as they fit; a new key's figures are
// written after the ones before in chunks of stateChunk bytes rather than one allocation
// each, and one that does not fit in what is left of a chunk gets an allocation of its own,
// as append makes it.
func (c *featCopy) write(f *Features, slot uint32) {
	if n := len(f.keys); len(c.keys) < n {
		c.bytes.Add(int64(n-len(c.keys)) * featCopySlotBytes)
		c.keys = append(c.keys, make([]string, n-len(c.keys))...)
		c.states = append(c.states, make([][]byte, n-len(c.states))...)
	}
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
	c.bytes.Add(int64(cap(st) - cap(old)))
	c.keys[slot], c.states[slot] = k.key, st
}

// part lists the keys of the copy and their figures, in slot order: what a full copy of
// the keys' state would list. It reads the copy as the last capture's encoding left it,
// once no slot is pending.
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
func (c *featCopy) stateBytes() int64 { return c.bytes.Load() }
