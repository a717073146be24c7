package lake

import (
	"context"
	"fmt"
	"io"
	"sync"

	"millrace/format"
	"millrace/objstore"
)

// object is one file of the lake as a reader of a work item reads it (a format.ParquetInput):
// every read is a ranged read of the store, and the column chunks the reader needs in a row
// group are fetched whole, in one ranged read per span of adjacent chunks, before it asks for
// them. While the reader decodes a row group, the next row group of its item is fetched on a
// goroutine of the object's, so that with an object store the reader seldom waits for the
// network. At most two row groups' chunks are held: the one being read and the next. The end
// of the file, which holds the footer, was read while planning and is read from memory.
type object struct {
	store objstore.Store
	key   string
	size  int64
	tail  []byte // the file's bytes from tailAt to its end
	at    int64  // where tail starts
	spans [][]span
	first int // the item's row groups: [first, end)
	end   int

	ctx    context.Context // cancelled by Close, which ends the fetches
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	fetched map[int]*fetch // by row group
}

// fetch is the column chunks of a row group being fetched, then fetched: data[i] holds the
// bytes of span i, once done is closed and err is nil.
type fetch struct {
	done chan struct{}
	data [][]byte
	err  error
}

var _ format.ParquetInput = (*object)(nil)

// newObject returns the input of an item that reads row groups [first, end) of a file and
// starts fetching the first of them.
func newObject(store objstore.Store, f *file, first, end int) *object {
	ctx, cancel := context.WithCancel(context.Background())
	o := &object{store: store, key: f.key, size: f.size, spans: f.spans, first: first, end: end,
		ctx: ctx, cancel: cancel, fetched: map[int]*fetch{}}
	if f.footer != nil {
		o.tail, o.at = f.footer.tail, f.footer.at
	}
	o.mu.Lock()
	o.start(first)
	o.mu.Unlock()
	return o
}

// Size is the file's length.
func (o *object) Size() int64 { return o.size }

// ReadAt reads len(p) bytes from off: from the end kept in memory, from the fetched chunks of
// a row group of the item, or else with a ranged read of its own.
func (o *object) ReadAt(p []byte, off int64) (int, error) {
	if off >= o.size {
		return 0, io.EOF
	}
	want := min(int64(len(p)), o.size-off)
	if o.tail != nil && off >= o.at {
		n := copy(p[:want], o.tail[off-o.at:])
		return o.short(n, len(p))
	}
	if g, i, ok := o.locate(off, want); ok {
		f := o.await(g)
		<-f.done
		if f.err != nil {
			return 0, f.err
		}
		s := o.spans[g][i]
		n := copy(p[:want], f.data[i][off-s.from:])
		if int64(n) < want {
			return n, fmt.Errorf("read %s: bytes %d-%d: the object is shorter than its footer says", o.key, off, off+want)
		}
		return o.short(n, len(p))
	}
	data, err := o.store.GetRange(o.ctx, o.key, off, want)
	if err != nil {
		return 0, err
	}
	n := copy(p, data)
	return o.short(n, len(p))
}

// short is what ReadAt returns having read n bytes of want: io.EOF when fewer.
func (o *object) short(n, want int) (int, error) {
	if n < want {
		return n, io.EOF
	}
	return n, nil
}

// locate finds the row group of the item and its span that hold bytes [off, off+n) whole.
func (o *object) locate(off, n int64) (g, i int, ok bool) {
	for g := o.first; g < o.end && g < len(o.spans); g++ {
		for i, s := range o.spans[g] {
			if off >= s.from && off+n <= s.to {
				return g, i, true
			}
		}
	}
	return 0, 0, false
}

// await returns the fetch of row group g, started if it was not, starts fetching the row
// group after it, and forgets the row groups before it: the reader reads them in order.
func (o *object) await(g int) *fetch {
	o.mu.Lock()
	defer o.mu.Unlock()
	f := o.start(g)
	if g+1 < o.end {
		o.start(g + 1)
	}
	for k := range o.fetched {
		if k < g {
			delete(o.fetched, k)
		}
	}
	return f
}

// start starts fetching row group g unless it is fetched or being fetched; o.mu is held.
func (o *object) start(g int) *fetch {
	if f, ok := o.fetched[g]; ok {
		return f
	}
	f := &fetch{done: make(chan struct{})}
	o.fetched[g] = f
	if g >= len(o.spans) {
		close(f.done)
		return f
	}
	spans := o.spans[g]
	o.wg.Add(1)
	go func() {
		defer o.wg.Done()
		defer close(f.done)
		data := make([][]byte, len(spans))
		for i, s := range spans {
			b, err := o.store.GetRange(o.ctx, o.key, s.from, s.to-s.from)
			if err != nil {
				f.err = fmt.Errorf("read row group %d: %w", g, err)
				return
			}
			data[i] = b
		}
		f.data = data
	}()
	return f
}

// Close stops the fetches and waits for them to end.
func (o *object) Close() error {
	o.cancel()
	o.wg.Wait()
	o.mu.Lock()
	defer o.mu.Unlock()
	o.fetched = map[int]*fetch{}
	return nil
}
