package redact

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// DeadLetters returns rec, a batch of dead letters (format.DeadLetterSchema), with its raw
// records masked as Record does and its reasons as Text does; the other columns are
// shared. It takes over rec's reference: the caller releases what it returns.
func (r Rules) DeadLetters(mem memory.Allocator, rec arrow.RecordBatch) arrow.RecordBatch {
	cols := make([]arrow.Array, rec.NumCols())
	copy(cols, rec.Columns())
	var fresh []arrow.Array
	for i, f := range rec.Schema().Fields() {
		var mask func(string) string
		switch f.Name {
		case "raw":
			mask = r.Record
		case "reason":
			mask = r.Text
		default:
			continue
		}
		in, ok := cols[i].(*array.String)
		if !ok {
			continue
		}
		b := array.NewStringBuilder(mem)
		b.Reserve(in.Len())
		for j := range in.Len() {
			if in.IsNull(j) {
				b.AppendNull()
				continue
			}
			b.Append(mask(in.Value(j)))
		}
		cols[i] = b.NewArray()
		b.Release()
		fresh = append(fresh, cols[i])
	}
	out := array.NewRecordBatch(rec.Schema(), cols, rec.NumRows())
	for _, a := range fresh {
		a.Release()
	}
	rec.Release()
	return out
}
