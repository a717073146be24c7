package expr

import (
	"fmt"
	"math/bits"

	"github.com/apache/arrow-go/v18/arrow"
)

// evaluator computes one compiled node over a whole batch. Each implementation dispatches on
// types once per batch and then runs a loop over typed slices; nothing is called per row
// through an interface.
//
// sel, when not nil, marks the rows whose values matter: rows outside it belong to a CASE arm
// that was not taken or to the right side of an AND whose left side is already FALSE. Their
// values may be anything, and errors such as overflow are reported only for rows in sel.
type evaluator interface {
	eval(c *evalCtx, sel bitmap) (*vec, error)
}

// evalCtx holds the state of one Eval call: the batch, its columns read so far and the
// results of shared sub-expressions.
type evalCtx struct {
	rec  arrow.RecordBatch
	n    int
	cols []*vec
	memo []*vec
}

// EvalError is an error found while evaluating an expression over a batch. Row is the
// 0-based index in the batch of the failing row (the first one of the sub-expression that
// failed), so callers can trace it to its source record.
type EvalError struct {
	Expr string // the failing sub-expression, as SQL
	Row  int
	Msg  string
}

func (e *EvalError) Error() string { return fmt.Sprintf("%s: %s at row %d", e.Expr, e.Msg, e.Row) }

// badRows collects rows a kernel could not compute (overflow, unparsable text). Kernels mark
// rows as they go, without checking whether the row matters, and report only at the end, so
// the common loop stays free of error handling.
type badRows struct {
	bm bitmap
	n  int
}

// mark records that row i failed. It is kept out of line: the call sits on the rare path.
//
//go:noinline
func (b *badRows) mark(i int) {
	if b.bm == nil {
		b.bm = newBitmap(b.n)
	}
	b.bm.set(i)
}

// first returns the first failed row that is valid and selected, or -1.
func (b *badRows) first(valid, sel bitmap) int {
	if b.bm == nil {
		return -1
	}
	for w, x := range b.bm {
		if valid != nil {
			x &= valid[w]
		}
		if sel != nil {
			x &= sel[w]
		}
		if x != 0 {
			if i := w*64 + bits.TrailingZeros64(x); i < b.n {
				return i
			}
			return -1
		}
	}
	return -1
}

// check turns the first relevant failed row into an EvalError for node.
func (b *badRows) check(node Node, msg string, valid, sel bitmap) error {
	if i := b.first(valid, sel); i >= 0 {
		return &EvalError{Expr: node.String(), Row: i, Msg: msg}
	}
	return nil
}

// colEval reads an input column.
type colEval struct {
	idx  int
	name string
}

func (e *colEval) eval(c *evalCtx, _ bitmap) (*vec, error) {
	if v := c.cols[e.idx]; v != nil {
		return v, nil
	}
	v, err := loadColumn(c.rec.Column(e.idx))
	if err != nil {
		return nil, fmt.Errorf("column %q: %w", e.name, err)
	}
	c.cols[e.idx] = v
	return v, nil
}

// constEval returns a constant computed at compile time, for any batch size.
type constEval struct{ v *vec }

func (e *constEval) eval(c *evalCtx, _ bitmap) (*vec, error) { return e.v.withRows(c.n), nil }

// memoEval evaluates a shared sub-expression once per batch, such as the operand of BETWEEN
// or of a simple CASE.
type memoEval struct {
	slot int
	x    evaluator
}

func (e *memoEval) eval(c *evalCtx, sel bitmap) (*vec, error) {
	if v := c.memo[e.slot]; v != nil {
		return v, nil
	}
	v, err := e.x.eval(c, sel)
	if err != nil {
		return nil, err
	}
	if v.scratch {
		shared := *v
		shared.scratch = false
		v = &shared
	}
	c.memo[e.slot] = v
	return v, nil
}
