package op

import (
	"errors"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

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
// its batch go on. Finding the failing rows evaluates the batch row by row, which costs only
// batches that have one.
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

// apply filters and projects rec; it returns nil when no row is kept.
func (m *Map) apply(rec arrow.RecordBatch) (arrow.RecordBatch, error) {
	kept, drop := rec, int64(0)
	if m.where != nil {
		mask, err := m.where.Eval(rec)
		if err != nil {
			return nil, fmt.Errorf("where: %w", err)
		}
		keep := selected(mask)
		mask.Release()
		if len(keep) == 0 {
			m.dropped += rec.NumRows()
			return nil, nil
		}
		if kept, err = take.Rows(rec, keep); err != nil {
			return nil, err
		}
		defer kept.Release()
		drop = rec.NumRows() - int64(len(keep))
	}
	if m.out == nil {
		m.dropped += drop
		kept.Retain()
		return kept, nil
	}
	cols := make([]arrow.Array, len(m.columns))
	for i, e := range m.columns {
		c, err := e.Eval(kept)
		if err != nil {
			releaseAll(cols[:i])
			return nil, fmt.Errorf("select %s: %w", m.out.Field(i).Name, err)
		}
		cols[i] = c
	}
	res := array.NewRecordBatch(m.out, cols, kept.NumRows())
	releaseAll(cols)
	m.dropped += drop // counted once the batch is through: one that fails is evaluated again
	return res, nil
}

// sortOut evaluates rec row by row and returns the rows on which no expression fails, as a
// batch (nil if none), and a Reject for each of the others.
func (m *Map) sortOut(rec arrow.RecordBatch) (arrow.RecordBatch, []Reject, error) {
	var good []int32
	var rejects []Reject
	for i := range int(rec.NumRows()) {
		row := rec.NewSlice(int64(i), int64(i+1))
		clause, evalErr := m.failure(row)
		row.Release()
		if evalErr == nil {
			good = append(good, int32(i))
			continue
		}
		rejects = append(rejects, Reject{Row: m.text.json(rec, i), Expression: evalErr.Expr,
			Reason: fmt.Sprintf("%s: %s", clause, evalErr.Msg)})
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

// failure evaluates a one-row batch and returns the clause and evaluation error of the
// first expression that fails on it, or a nil error. A row where drops is not evaluated on.
func (m *Map) failure(row arrow.RecordBatch) (string, *expr.EvalError) {
	var evalErr *expr.EvalError
	if m.where != nil {
		mask, err := m.where.Eval(row)
		if errors.As(err, &evalErr) {
			return "where", evalErr
		}
		if err != nil {
			return "", nil
		}
		keep := len(selected(mask)) > 0
		mask.Release()
		if !keep {
			return "", nil
		}
	}
	for i, e := range m.columns {
		c, err := e.Eval(row)
		if errors.As(err, &evalErr) {
			return "select " + m.out.Field(i).Name, evalErr
		}
		if err == nil {
			c.Release()
		}
	}
	return "", nil
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
