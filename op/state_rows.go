package op

import (
	"fmt"
	"math"
	"runtime"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"golang.org/x/sync/errgroup"
)

// stateRowsStretch is the fewest groups stateRows hands one goroutine: below it, the
// columns are built where it is called.
const stateRowsStretch = 16 << 10

// stateRows builds the state rows of groups, as a snapshot holds them. The key and
// window_start columns are filled in stretches of groups and each call's states built, all
// at once on every core: a snapshot of many groups reads their keys from all over the heap.
func (w *WindowAgg) stateRows(groups []uint32) (arrow.RecordBatch, error) {
	cols := make([]arrow.Array, 2+len(w.accs))
	defer func() { releaseAll(cols) }()
	var eg errgroup.Group
	eg.SetLimit(runtime.GOMAXPROCS(0))
	for i, a := range w.accs {
		eg.Go(func() error {
			st, err := a.Partial(groups)
			if err != nil {
				return fmt.Errorf("state of %s: %w", w.cfg.Calls[i].Name, err)
			}
			cols[2+i] = st
			return nil
		})
	}
	keys, starts, keysErr := w.keyAndStartColumns(groups)
	cols[0], cols[1] = keys, starts
	if err := eg.Wait(); err != nil {
		return nil, err
	}
	if keysErr != nil {
		return nil, keysErr
	}
	return array.NewRecordBatch(w.stateSchema(), cols, int64(len(groups))), nil
}

// keyAndStartColumns builds the key and window_start columns of groups' state rows, stretch by
// stretch on every core: the lengths of the keys, then their bytes, each stretch into its
// own place.
func (w *WindowAgg) keyAndStartColumns(groups []uint32) (keys, starts arrow.Array, err error) {
	n := len(groups)
	offsets := make([]int32, n+1)
	times := make([]int64, n)
	stretches := min(runtime.GOMAXPROCS(0), n/stateRowsStretch+1)
	each := func(do func(lo, hi int)) {
		var eg errgroup.Group
		for s := range stretches {
			lo, hi := s*n/stretches, (s+1)*n/stretches
			eg.Go(func() error { do(lo, hi); return nil })
		}
		_ = eg.Wait() // do returns nothing to fail
	}
	each(func(lo, hi int) {
		for i, g := range groups[lo:hi] {
			offsets[lo+i+1] = int32(len(w.keyOf(g)))
			times[lo+i] = w.start[g]
		}
	})
	size := int64(0)
	for i := 1; i <= n; i++ {
		size += int64(offsets[i])
		if size > math.MaxInt32 {
			return nil, nil, fmt.Errorf("the keys of %d groups take more than %d bytes, the most one batch of state rows holds", n, math.MaxInt32)
		}
		offsets[i] = int32(size)
	}
	data := make([]byte, size)
	each(func(lo, hi int) {
		for i, g := range groups[lo:hi] {
			copy(data[offsets[lo+i]:], w.keyOf(g))
		}
	})
	keyData := array.NewData(arrow.BinaryTypes.Binary, n,
		[]*memory.Buffer{nil, memory.NewBufferBytes(arrow.Int32Traits.CastToBytes(offsets)), memory.NewBufferBytes(data)}, nil, 0, 0)
	defer keyData.Release()
	startData := array.NewData(stateTime, n, []*memory.Buffer{nil, memory.NewBufferBytes(arrow.Int64Traits.CastToBytes(times))}, nil, 0, 0)
	defer startData.Release()
	return array.NewBinaryData(keyData), array.NewTimestampData(startData), nil
}
