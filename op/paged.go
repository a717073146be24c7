package op

// pagedSlice holds the elements of keyed state in pages of a fixed length instead of one
// slice, so that growing never copies what it holds. Each index has width elements (the
// ranking values of a row, say); alloc hands out runs of indexes that never cross a page,
// and an index is its place in the pages laid end to end.
type pagedSlice[T any] struct {
	pages [][]T
	shift uint // a page holds 1 << shift indexes
	width int
	n     int // indexes handed out, with the ends of pages runs skipped
}

// newPagedSlice returns an empty pagedSlice of width elements per index, in pages of the
// first power of two of at least indexes indexes.
func newPagedSlice[T any](indexes, width int) pagedSlice[T] {
	p := pagedSlice[T]{width: width}
	for 1<<p.shift < indexes {
		p.shift++
	}
	return p
}

// alloc hands out a run of n indexes (n <= a page's), zeroed, and returns the first and how
// many indexes at the end of a page it skipped to keep the run in one page.
func (p *pagedSlice[T]) alloc(n int) (at, skipped int) {
	size := 1 << p.shift
	if off := p.n & (size - 1); off > 0 && off+n > size {
		skipped = size - off
		p.n += skipped
	}
	if p.n+n > len(p.pages)<<p.shift {
		p.pages = append(p.pages, make([]T, size*p.width))
	}
	at = p.n
	p.n += n
	return at, skipped
}

// run returns the elements of the n indexes from at, which alloc handed out together.
func (p *pagedSlice[T]) run(at, n int) []T {
	off := (at & (1<<p.shift - 1)) * p.width
	end := off + n*p.width
	return p.pages[at>>p.shift][off:end:end]
}

// at returns the first element of index i.
func (p *pagedSlice[T]) at(i int) *T {
	return &p.pages[i>>p.shift][(i&(1<<p.shift-1))*p.width]
}

// len is the number of indexes handed out, skipped ones included.
func (p *pagedSlice[T]) len() int { return p.n }

// sizeBytes is the memory of the pages, for elements of elem bytes.
func (p *pagedSlice[T]) sizeBytes(elem int) int64 {
	return int64(len(p.pages)<<p.shift*p.width) * int64(elem)
}
