package op

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// newArrayWithRoom returns the array b built and reserves room in b for as many values
// again, and for variable-width values as many bytes: an operator that fills one builder
// batch after batch then allocates each batch's buffers once, instead of growing them by
// doubling (a copy each time) from empty.
func newArrayWithRoom(b array.Builder) arrow.Array {
	a := b.NewArray()
	b.Reserve(a.Len())
	if v, ok := a.(interface{ ValueBytes() []byte }); ok {
		if d, ok := b.(interface{ ReserveData(int) }); ok {
			d.ReserveData(len(v.ValueBytes()))
		}
	}
	return a
}

// newRecordWithRoom is newArrayWithRoom for every column of b.
func newRecordWithRoom(b *array.RecordBuilder) arrow.RecordBatch {
	fields := b.Fields()
	cols := make([]arrow.Array, len(fields))
	for i, f := range fields {
		cols[i] = newArrayWithRoom(f)
	}
	rows := int64(0)
	if len(cols) > 0 {
		rows = int64(cols[0].Len())
	}
	rec := array.NewRecordBatch(b.Schema(), cols, rows)
	releaseAll(cols)
	return rec
}
