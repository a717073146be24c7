package op

// pagedSlice holds the elements of keyed state in pages of a fixed length instead of one
// slice, so that growing never copies what it holds. alloc hands out runs of elements that
// never cross a page; an element's index is its place in the pages laid end to end.
type pagedSlice[T any] struct {
	pages [][]T
	size  int // elements per page
	n     int // elements handed out, with the ends of pages runs skipped
}

func newPagedSlice[T any](size int) pagedSlice[T] { return pagedSlice[T]{size: size} }

// alloc hands out a run of n zeroed elements (n <= the page size) and returns the index of its first and how many elements at the end of a
// page it skipped to keep the run in one page.
func (p *pagedSlice[T]) alloc(n int) (at, skipped int) {
	if off := p.n % p.size; off > 0 && off+n > p.size {
		skipped = p.size - off
		p.n += skipped
	}
	if p.n+n > len(p.pages)*p.size {
		p.pages = append(p.pages, make([]T, p.size))
	}
	at = p.n
	p.n += n
	return at, skipped
}

// run returns the n elements from index at, which alloc handed out together.
func (p *pagedSlice[T]) run(at, n int) []T {
	off := at % p.size
	return p.pages[at/p.size][off : off+n : off+n]
}

// at returns element i.
func (p *pagedSlice[T]) at(i int) *T { return &p.pages[i/p.size][i%p.size] }

// len is the number of elements handed out, skipped ones included.
func (p *pagedSlice[T]) len() int { return p.n }

// sizeBytes is the memory of the pages, for elements of elem bytes.
func (p *pagedSlice[T]) sizeBytes(elem int) int64 { return int64(len(p.pages) * p.size * elem) }
