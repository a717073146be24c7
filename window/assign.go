package window

// Assign appends, for every row of ts (event times in ms), one (row, window start) pair per
// window the row belongs to, and returns the extended slices. rows[k] is the row index into ts
// and starts[k] the start of its window; the window's end is s.End(starts[k]). Pairs come in row
// order and, within a row, in ascending start order. Passing the previous call's slices
// truncated to zero length reuses their memory, so a steady stream of batches assigns without
// allocating.
//
// A tumbling window gives each row one pair. A hopping window gives each row Size/Every pairs
// when Size is a multiple of Every, and otherwise the ceiling or floor of Size/Every depending on
// where the row falls in its slide. For sessions, which are merged per key by Sessions, each row
// gets the one pair (row, ts[row]): the start of the one-event session it opens. The whole
// input gives each row the one pair (row, WholeStart), whatever its time.
//
// Row indices are int32: batches hold at most 64K rows, far below the limit.
func (s Spec) Assign(ts []int64, rows []int32, starts []int64) ([]int32, []int64) {
	switch s.Kind {
	case Session:
		rows, starts = grow(rows, starts, len(ts))
		for i, t := range ts {
			rows = append(rows, int32(i))
			starts = append(starts, t)
		}
		return rows, starts
	case Hop:
		return s.assignHop(ts, rows, starts)
	case Whole:
		rows, starts = grow(rows, starts, len(ts))
		for i := range ts {
			rows = append(rows, int32(i))
			starts = append(starts, WholeStart)
		}
		return rows, starts
	}
	size := s.Size.Milliseconds()
	rows, starts = grow(rows, starts, len(ts))
	for i, t := range ts {
		rows = append(rows, int32(i))
		starts = append(starts, floorTo(t, size))
	}
	return rows, starts
}

func (s Spec) assignHop(ts []int64, rows []int32, starts []int64) ([]int32, []int64) {
	size, every := s.Size.Milliseconds(), s.Every.Milliseconds()
	if size%every == 0 {
		n := size / every
		rows, starts = grow(rows, starts, len(ts)*int(n))
		for i, t := range ts {
			// The latest window holding t starts at floorTo(t, every); the earliest n-1 slides
			// before it.
			first := floorTo(t, every) - (n-1)*every
			for k := int64(0); k < n; k++ {
				rows = append(rows, int32(i))
				starts = append(starts, first+k*every)
			}
		}
		return rows, starts
	}
	rows, starts = grow(rows, starts, len(ts)*int(size/every+1))
	for i, t := range ts {
		last := floorTo(t, every)
		// Windows start at last, last-every, ... while start > t-size, that is
		// k*every < size-(t-last): n = ceil((size-(t-last))/every) of them.
		n := (size - (t - last) + every - 1) / every
		first := last - (n-1)*every
		for k := int64(0); k < n; k++ {
			rows = append(rows, int32(i))
			starts = append(starts, first+k*every)
		}
	}
	return rows, starts
}

// PerRecord returns the most windows a single record can belong to: 1 for tumbling, session
// and whole-input windows, ceil(Size/Every) for hopping ones. Callers use it to size assignment buffers.
func (s Spec) PerRecord() int {
	if s.Kind != Hop {
		return 1
	}
	size, every := s.Size.Milliseconds(), s.Every.Milliseconds()
	return int((size + every - 1) / every)
}

// grow makes room for n more pairs without reallocating inside the loops.
func grow(rows []int32, starts []int64, n int) ([]int32, []int64) {
	if cap(rows)-len(rows) < n {
		r := make([]int32, len(rows), len(rows)+n)
		copy(r, rows)
		rows = r
	}
	if cap(starts)-len(starts) < n {
		st := make([]int64, len(starts), len(starts)+n)
		copy(st, starts)
		starts = st
	}
	return rows, starts
}
