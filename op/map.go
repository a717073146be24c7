package op

import (
	"errors"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"

	"millrace/expr"
	"millrace/take"
)

// Evaluator computes one column from a batch: an expression compiled for its schema.
type Evaluator interface {
	// Eval returns one value per row of rec; the caller releases the array. A value that
	// cannot be computed for a row (a failed CAST, an overflow) is an *expr.EvalError naming
	// the row.
	Eval(rec arrow.RecordBatch) (arrow.Array, error)
}

// Map filters rows and computes new columns: the stateless part of a view (`where` and
// `select`), fused into one step.
//
// A row on which where or a select expression fails at run time fails the step, unless the
// Map rejects errors (WithErrors) and the engine takes them (Context.Errors): then the row
// goes there as a Reject, with the failing expression and the reason, and the other rows of
// its batch go on. Finding the failing rows evaluates parts of the batch again (see sortOut),
// which costs only batches that have one.
type Map struct {
	Base
	where   Evaluator // nil keeps every row
	columns []Evaluator
	out     *arrow.Schema // nil passes the kept rows on unchanged
	ctx     Context
	dropped int64
	reject  bool
	text    rowText
}

// NewMap returns a Map keeping the rows where is TRUE for (NULL and FALSE drop them) and
// computing columns, of schema out, from them. With no columns the kept rows pass on as
// they are.
func NewMap(where Evaluator, columns []Evaluator, out *arrow.Schema) *Map {
	return &Map{where: where, columns: columns, out: out}
}

// WithErrors makes m send the rows its expressions fail on to Context.Errors, when it is
// set, instead of failing; it returns m.
func (m *Map) WithErrors() *Map { m.reject = true; return m }

// Open keeps the context.
func (m *Map) Open(ctx Context) error { m.ctx = ctx; return nil }

// Dropped counts the rows `where` filtered out.
func (m *Map) Dropped() int64 { return m.dropped }

// Process filters and projects rec.
func (m *Map) Process(_ int, rec arrow.RecordBatch, out Collector) error {
	defer rec.Release()
	res, err := m.apply(rec)
	var evalErr *expr.EvalError
	if err == nil || !m.reject || m.ctx.Errors == nil || !errors.As(err, &evalErr) {
		if err != nil || res == nil {
			return err
		}
		return out.Collect(res)
	}
	good, rejects, err := m.sortOut(rec)
	if err != nil {
		return err
	}
	if len(rejects) > 0 {
		if err := m.ctx.Errors.Collect(ErrorBatch(m.ctx.Mem, rejects)); err != nil {
			if good != nil {
				good.Release()
			}
			return err
		}
	}
	if good == nil {
		return nil
	}
	defer good.Release()
	if res, err = m.apply(good); err != nil || res == nil {
		return err
	}
	return out.Collect(res)
}

// apply filters and projects rec and counts the rows where dropped; it returns nil when no
// row is kept.
func (m *Map) apply(rec arrow.RecordBatch) (arrow.RecordBatch, error) {
	res, drop, clause, err := m.eval(rec)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", clause, err)
	}
	m.dropped += drop
	return res, nil
}

// eval filters and projects rec: it returns the rows kept (nil when none), how many where
// dropped, and on a failure the clause that failed (`where`, `select v`) and its error.
func (m *Map) eval(rec arrow.RecordBatch) (res arrow.RecordBatch, drop int64, clause string, err error) {
	kept := rec
	if m.where != nil {
		mask, err := m.where.Eval(rec)
		if err != nil {
			return nil, 0, "where", err
		}
		keep := selected(mask)
		mask.Release()
		if len(keep) == 0 {
			return nil, rec.NumRows(), "", nil
		}
		if kept, err = take.Rows(rec, keep); err != nil {
			return nil, 0, "where", err
		}
		defer kept.Release()
		drop = rec.NumRows() - int64(len(keep))
	}
	if m.out == nil {
		kept.Retain()
		return kept, drop, "", nil
	}
	cols := make([]arrow.Array, len(m.columns))
	for i, e := range m.columns {
		c, err := e.Eval(kept)
		if err != nil {
			releaseAll(cols[:i])
			return nil, 0, "select " + m.out.Field(i).Name, err
		}
		cols[i] = c
	}
	res = array.NewRecordBatch(m.out, cols, kept.NumRows())
	releaseAll(cols)
	return res, drop, "", nil
}

// sortOut returns the rows of rec on which no expression fails, as a batch (nil if none),
// and a Reject for each of the others, in row order. It halves rec until each part
// evaluates whole or is one failing row, so k failing rows among n cost about 2k·log2(n)
// evaluations of small parts, and n of one row when every row fails.
func (m *Map) sortOut(rec arrow.RecordBatch) (arrow.RecordBatch, []Reject, error) {
	var good []int32
	var rejects []Reject
	var visit func(from, to int64) error
	visit = func(from, to int64) error {
		part := rec.NewSlice(from, to)
		res, _, clause, err := m.eval(part)
		part.Release()
		if res != nil {
			res.Release()
		}
		var evalErr *expr.EvalError
		switch {
		case err == nil:
			for i := from; i < to; i++ {
				good = append(good, int32(i))
			}
			return nil
		case !errors.As(err, &evalErr):
			return fmt.Errorf("%s: %w", clause, err)
		case to-from == 1:
			rejects = append(rejects, Reject{Row: m.text.json(rec, int(from)), Expression: evalErr.Expr,
				Reason: fmt.Sprintf("%s: %s", clause, evalErr.Msg)})
			return nil
		}
		mid := from + (to-from)/2
		if err := visit(from, mid); err != nil {
			return err
		}
		return visit(mid, to)
	}
	if err := visit(0, rec.NumRows()); err != nil {
		return nil, nil, err
	}
	if len(good) == 0 {
		return nil, rejects, nil
	}
	if len(good) == int(rec.NumRows()) {
		rec.Retain()
		return rec, rejects, nil
	}
	out, err := take.Rows(rec, good)
	if err != nil {
		return nil, nil, fmt.Errorf("set the rejected rows aside: %w", err)
	}
	return out, rejects, nil
}

// selected lists the rows where a boolean column is TRUE.
func selected(mask arrow.Array) []int32 {
	b, ok := mask.(*array.Boolean)
	if !ok {
		return nil
	}
	if b.NullN() > 0 {
		keep := make([]int32, 0, b.Len())
		for i := range b.Len() {
			if b.IsValid(i) && b.Value(i) {
				keep = append(keep, int32(i))
			}
		}
		return keep
	}
	// Without nulls the rows kept are the set bits: count them first, so that a selective
	// filter does not allocate a slot for every row.
	bits, off := b.Data().Buffers()[1].Bytes(), b.Data().Offset()
	keep := make([]int32, 0, bitutil.CountSetBits(bits, off, b.Len()))
	for i := range b.Len() {
		if bitutil.BitIsSet(bits, off+i) {
			keep = append(keep, int32(i))
		}
	}
	return keep
}
