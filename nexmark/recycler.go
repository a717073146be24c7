package nexmark

import (
	"sync"

	"github.com/apache/arrow-go/v18/arrow/memory"
)

// recycledPerSize bounds how many released buffers of one size a Recycler keeps: enough for
// the batches a pipeline holds in flight, so that a run of equal batches allocates nothing
// once it is under way.
const recycledPerSize = 64

// Recycler is a memory.Allocator that hands the buffers of released batches out again,
// unzeroed, instead of leaving them to the garbage collector. A generator fills every byte
// of a batch it reads back, so stale contents never show; but every consumer of the batches
// must stop touching their memory (strings from String.Value, slices from ValueBytes) when
// it releases them, since the next batch is written over it. It is safe for concurrent use:
// batches are released on other goroutines than the one that builds them.
type Recycler struct {
	mu    sync.Mutex
	free  map[int][][]byte // released buffers by capacity
	fresh memory.Allocator
}

// NewRecycler returns a Recycler that takes the buffers it has none of from
// memory.DefaultAllocator.
func NewRecycler() *Recycler {
	return &Recycler{free: map[int][][]byte{}, fresh: memory.DefaultAllocator}
}

// Allocate returns a buffer of size bytes, a released one of that capacity if there is one.
func (r *Recycler) Allocate(size int) []byte {
	r.mu.Lock()
	l := r.free[size]
	if len(l) == 0 {
		r.mu.Unlock()
		return r.fresh.Allocate(size)
	}
	b := l[len(l)-1]
	r.free[size] = l[:len(l)-1]
	r.mu.Unlock()
	return b
}

// Reallocate grows b to size bytes, in place when its capacity allows.
func (r *Recycler) Reallocate(size int, b []byte) []byte {
	if size <= cap(b) {
		return b[:size]
	}
	nb := r.Allocate(size)
	copy(nb, b)
	r.Free(b)
	return nb
}

// Free takes b back for a later Allocate of its capacity, or leaves it to the garbage
// collector when enough of that size wait already.
func (r *Recycler) Free(b []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if l := r.free[cap(b)]; len(l) < recycledPerSize {
		r.free[cap(b)] = append(l, b[:cap(b)])
	}
}
