package expr

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"millrace/take"
)

// Filter returns the rows of rec for which the predicate e is TRUE; rows where it is FALSE or
// NULL are dropped, as in a SQL WHERE. When every row is kept it returns rec itself,
// retained; otherwise a new batch. The caller releases the result.
func (e *Expr) Filter(rec arrow.RecordBatch) (arrow.RecordBatch, error) {
	if e.t.k != kBool && e.t.k != kNull {
		return nil, fmt.Errorf("expr: filter %s: predicate is %s, not bool", e, e.t)
	}
	v, err := e.evalVec(rec)
	if err != nil {
		return nil, err
	}
	n := int(rec.NumRows())
	keep := newBitmap(n)
	if e.t.k == kBool {
		vals, valid := boolWords(v)
		for w := range keep {
			keep[w] = vals[w]
			if valid != nil {
				keep[w] &= valid[w]
			}
		}
	}
	return filterRows(rec, keep)
}

// FilterBatch returns the rows of rec where keep is TRUE (not FALSE, not NULL). keep must have
// rec's length.
func FilterBatch(rec arrow.RecordBatch, keep *array.Boolean) (arrow.RecordBatch, error) {
	n := int(rec.NumRows())
	if keep.Len() != n {
		return nil, fmt.Errorf("expr: filter mask has %d rows, batch has %d", keep.Len(), n)
	}
	v, err := loadColumn(keep)
	if err != nil {
		return nil, err
	}
	mask := andBitmaps(v.bits, v.valid)
	if mask == nil {
		mask = newBitmap(n)
	}
	return filterRows(rec, mask)
}

// filterRows keeps the rows whose bit is set in keep.
func filterRows(rec arrow.RecordBatch, keep bitmap) (arrow.RecordBatch, error) {
	n := int(rec.NumRows())
	count := keep.count(n)
	switch count {
	case n:
		rec.Retain()
		return rec, nil
	case 0:
		return rec.NewSlice(0, 0), nil
	}
	out, err := take.Batch(rec, take.Bits(keep, n, count))
	if err != nil {
		return nil, fmt.Errorf("expr: filter: %w", err)
	}
	return out, nil
}
