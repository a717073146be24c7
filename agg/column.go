package agg

import (
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// gather appends the state of each group to dst, the zero T for groups beyond the states (never
// updated, so empty).
func gather[T any](dst, states []T, groups []uint32) []T {
	var zero T
	dst = slices.Grow(dst, len(groups))
	for _, g := range groups {
		if int(g) < len(states) {
			dst = append(dst, states[g])
		} else {
			dst = append(dst, zero)
		}
	}
	return dst
}

// fixedColumn builds an array of the fixed-width type typ holding vals, with the rows where
// valid is false null (valid nil: no nulls). The memory comes from mem.
func fixedColumn[T arrow.FixedWidthType](mem memory.Allocator, typ arrow.DataType, vals []T, valid []bool) arrow.Array {
	n := len(vals)
	raw := arrow.GetBytes(vals)
	data := memory.NewResizableBuffer(mem)
	defer data.Release()
	data.Resize(len(raw))
	copy(data.Bytes(), raw)

	var bitmap *memory.Buffer
	nulls := 0
	for _, ok := range valid {
		if !ok {
			nulls++
		}
	}
	if nulls > 0 {
		bitmap = memory.NewResizableBuffer(mem)
		defer bitmap.Release()
		bitmap.Resize(int(bitutil.BytesForBits(int64(n))))
		bits := bitmap.Bytes()
		clear(bits)
		for i, ok := range valid {
			if ok {
				bitutil.SetBit(bits, i)
			}
		}
	}
	d := array.NewData(typ, n, []*memory.Buffer{bitmap, data}, nil, nulls, 0)
	defer d.Release()
	return array.MakeFromData(d)
}
