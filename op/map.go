package op

import (
	"fmt"
	"millrace/take"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// Evaluator computes one column from a batch: an expression compiled for its schema.
type Evaluator interface {
	// Eval returns one value per row of rec; the caller releases the array.
	Eval(rec arrow.RecordBatch) (arrow.Array, error)
}

// Map filters rows and computes new columns: the stateless part of a view (`where` and
// `select`), fused into one step.
type Map struct {
	Base
	where   Evaluator // nil keeps every row
	columns []Evaluator
	out     *arrow.Schema // nil passes the kept rows on unchanged
	ctx     Context
	dropped int64
}

// NewMap returns a Map keeping the rows where is TRUE for (NULL and FALSE drop them) and
// computing columns, of schema out, from them. With no columns the kept rows pass on as
// they are.
func NewMap(where Evaluator, columns []Evaluator, out *arrow.Schema) *Map {
	return &Map{where: where, columns: columns, out: out}
}

// Open keeps the context.
func (m *Map) Open(ctx Context) error { m.ctx = ctx; return nil }

// Dropped counts the rows `where` filtered out.
func (m *Map) Dropped() int64 { return m.dropped }

// Process filters and projects rec.
func (m *Map) Process(_ int, rec arrow.RecordBatch, out Collector) error {
	defer rec.Release()
	kept := rec
	if m.where != nil {
		mask, err := m.where.Eval(rec)
		if err != nil {
			return fmt.Errorf("where: %w", err)
		}
		keep := selected(mask)
		mask.Release()
		m.dropped += rec.NumRows() - int64(len(keep))
		if len(keep) == 0 {
			return nil
		}
		if kept, err = take.Rows(rec, keep); err != nil {
			return err
		}
		defer kept.Release()
	}
	if m.out == nil {
		kept.Retain()
		return out.Collect(kept)
	}
	cols := make([]arrow.Array, len(m.columns))
	for i, e := range m.columns {
		c, err := e.Eval(kept)
		if err != nil {
			releaseAll(cols[:i])
			return fmt.Errorf("select %s: %w", m.out.Field(i).Name, err)
		}
		cols[i] = c
	}
	res := array.NewRecordBatch(m.out, cols, kept.NumRows())
	releaseAll(cols)
	return out.Collect(res)
}

// selected lists the rows where a boolean column is TRUE.
func selected(mask arrow.Array) []int32 {
	b, ok := mask.(*array.Boolean)
	if !ok {
		return nil
	}
	keep := make([]int32, 0, b.Len())
	for i := range b.Len() {
		if b.IsValid(i) && b.Value(i) {
			keep = append(keep, int32(i))
		}
	}
	return keep
}
