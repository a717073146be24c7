package expr

import (
	"bytes"
	"cmp"
	"fmt"

	"millrace/decimal"
)

// CASE, COALESCE, NULLIF, GREATEST and LEAST pick, for each row, the value of one of several
// inputs. They evaluate each input only for the rows still undecided (passed down as the
// selection), record per row which input won, and then gather the winners into one column.

// maxArms bounds the inputs of one CASE or COALESCE, so a row's choice fits in a uint16.
const maxArms = 1<<16 - 2

func (c *compiler) caseExpr(n *Case) (*operand, error) {
	if len(n.Whens)+1 > maxArms {
		return nil, fmt.Errorf("CASE has %d arms, more than %d", len(n.Whens), maxArms)
	}
	var subject *operand
	if n.Operand != nil {
		x, err := c.compile(n.Operand)
		if err != nil {
			return nil, err
		}
		subject = c.memoize(x)
	}
	var conds, results []*operand
	for _, w := range n.Whens {
		cond, err := c.compile(w.Cond)
		if err != nil {
			return nil, err
		}
		if subject != nil {
			cond, err = c.compare("=", subject, cond, w.Cond)
		} else {
			cond, err = c.requireBool(cond, "CASE WHEN")
		}
		if err != nil {
			return nil, err
		}
		res, err := c.compile(w.Result)
		if err != nil {
			return nil, err
		}
		conds, results = append(conds, cond), append(results, res)
	}
	els := nullOf(tNull, n)
	if n.Else != nil {
		var err error
		if els, err = c.compile(n.Else); err != nil {
			return nil, err
		}
	}
	results = append(results, els)
	t, err := c.coerceAll(results, "combine")
	if err != nil {
		return nil, fmt.Errorf("CASE results: %w", err)
	}
	e := &caseEval{t: t}
	for i := range conds {
		e.conds = append(e.conds, conds[i].ev)
	}
	for _, r := range results {
		e.results = append(e.results, r.ev)
	}
	op := &operand{ev: e, t: t, nullable: anyNullable(results...), node: n}
	return c.finish(op, append(conds, results...)...)
}

// caseEval evaluates WHEN conditions in order; results has one more entry than conds, the
// ELSE value.
type caseEval struct {
	t       typ
	conds   []evaluator
	results []evaluator
}

func (e *caseEval) eval(c *evalCtx, sel bitmap) (*vec, error) {
	n := c.n
	remaining := onesBitmap(n)
	if sel != nil {
		copy(remaining, sel)
	}
	choice := make([]uint16, n)
	vals := make([]*vec, len(e.results))
	for k, cond := range e.conds {
		if isEmpty(remaining, n) {
			break
		}
		cv, err := cond.eval(c, remaining)
		if err != nil {
			return nil, err
		}
		cb, cvalid := boolWords(cv)
		take := make(bitmap, len(remaining))
		for w := range take {
			t := remaining[w] & cb[w]
			if cvalid != nil {
				t &= cvalid[w]
			}
			take[w] = t
			remaining[w] &^= t
		}
		if err := e.arm(c, k, take, vals, choice); err != nil {
			return nil, err
		}
	}
	if err := e.arm(c, len(e.results)-1, remaining, vals, choice); err != nil {
		return nil, err
	}
	return gather(e.t, n, vals, choice), nil
}

// arm evaluates result k for the rows in take and records them as choosing it.
func (e *caseEval) arm(c *evalCtx, k int, take bitmap, vals []*vec, choice []uint16) error {
	if isEmpty(take, c.n) {
		return nil
	}
	v, err := e.results[k].eval(c, take)
	if err != nil {
		return err
	}
	vals[k] = v
	forEachSet(take, c.n, func(i int) { choice[i] = uint16(k + 1) })
	return nil
}

func isEmpty(b bitmap, n int) bool { return b.count(n) == 0 }

// forEachSet calls fn for each set bit among the first n.
func forEachSet(b bitmap, n int, fn func(i int)) {
	for w, x := range b {
		for x != 0 {
			i := w*64 + trailing(x)
			if i >= n {
				return
			}
			fn(i)
			x &= x - 1
		}
	}
}

// gather builds a column of type t whose row i is row i of vals[choice[i]-1], or NULL when
// choice[i] is 0.
func gather(t typ, n int, vals []*vec, choice []uint16) *vec {
	out := &vec{n: n, valid: onesBitmap(n)}
	for i, k := range choice {
		if k == 0 {
			out.valid[i>>6] &^= 1 << (uint(i) & 63)
		} else if v := vals[k-1]; v.null(i & idxMask(v)) {
			out.valid[i>>6] &^= 1 << (uint(i) & 63)
		}
	}
	switch t.k {
	case kBool:
		out.bits = newBitmap(n)
		for i, k := range choice {
			if k != 0 && out.valid.get(i) {
				v := vals[k-1]
				if v.bits.get(i & idxMask(v)) {
					out.bits.set(i)
				}
			}
		}
	case kInt32, kDate:
		out.i32 = gatherVals(vals, choice, func(v *vec) []int32 { return v.i32 })
	case kInt64, kTimestamp, kInterval:
		out.i64 = gatherVals(vals, choice, func(v *vec) []int64 { return v.i64 })
	case kFloat64:
		out.f64 = gatherVals(vals, choice, func(v *vec) []float64 { return v.f64 })
	case kDecimal:
		out.dec = gatherVals(vals, choice, func(v *vec) []num { return v.dec })
	case kString:
		size := 0
		for i, k := range choice {
			if k != 0 && out.valid.get(i) {
				v := vals[k-1]
				j := i & idxMask(v)
				size += int(v.offs[j+1] - v.offs[j])
			}
		}
		offs, data := make([]int32, n+1), make([]byte, size)
		pos := 0
		for i, k := range choice {
			if k != 0 && out.valid.get(i) {
				pos += copy(data[pos:], strArg(vals[k-1], i))
			}
			offs[i+1] = int32(pos)
		}
		out.offs, out.data = offs, data
	}
	return out
}

// gatherVals picks each row's value from the input its choice names; rows without a choice
// are left zero.
func gatherVals[T any](vals []*vec, choice []uint16, values func(*vec) []T) []T {
	srcs := make([][]T, len(vals))
	masks := make([]int, len(vals))
	for k, v := range vals {
		if v != nil {
			srcs[k], masks[k] = values(v), idxMask(v)
		}
	}
	out := make([]T, len(choice))
	for i, k := range choice {
		if k != 0 {
			out[i] = srcs[k-1][i&masks[k-1]]
		}
	}
	return out
}

// coalesce returns the first non-NULL argument.
func (c *compiler) coalesce(args []*operand, n *Call) (*operand, error) {
	if len(args) > maxArms {
		return nil, fmt.Errorf("coalesce() takes at most %d arguments", maxArms)
	}
	t, err := c.coerceAll(args, "combine")
	if err != nil {
		return nil, fmt.Errorf("coalesce(): %w", err)
	}
	e := &coalesceEval{t: t}
	nullable := true
	for _, a := range args {
		e.args = append(e.args, a.ev)
		nullable = nullable && a.nullable
	}
	return c.finish(&operand{ev: e, t: t, nullable: nullable, node: n}, args...)
}

type coalesceEval struct {
	t    typ
	args []evaluator
}

func (e *coalesceEval) eval(c *evalCtx, sel bitmap) (*vec, error) {
	n := c.n
	remaining := onesBitmap(n)
	if sel != nil {
		copy(remaining, sel)
	}
	choice := make([]uint16, n)
	vals := make([]*vec, len(e.args))
	for k, a := range e.args {
		if isEmpty(remaining, n) {
			break
		}
		v, err := a.eval(c, remaining)
		if err != nil {
			return nil, err
		}
		vals[k] = v
		valid := v.validity()
		for w := range remaining {
			take := remaining[w]
			if valid != nil {
				take &= valid[w]
			}
			remaining[w] &^= take
			for x := take; x != 0; x &= x - 1 {
				if i := w*64 + trailing(x); i < n {
					choice[i] = uint16(k + 1)
				}
			}
		}
	}
	return gather(e.t, n, vals, choice), nil
}

// nullif returns NULL when a = b and a otherwise.
func (c *compiler) nullif(args []*operand, n *Call) (*operand, error) {
	a := c.memoize(args[0])
	eq, err := c.compare("=", a, args[1], n)
	if err != nil {
		return nil, fmt.Errorf("nullif(): %w", err)
	}
	if a.t.k == kNull {
		return a, nil
	}
	e := &caseEval{t: a.t, conds: []evaluator{eq.ev}, results: []evaluator{nullOf(a.t, n).ev, a.ev}}
	return c.finish(&operand{ev: e, t: a.t, nullable: true, node: n}, a, eq)
}

// extreme returns the greatest (or least) non-NULL argument; NULL only when all are NULL.
func (c *compiler) extreme(args []*operand, n *Call, greatest bool) (*operand, error) {
	t, err := c.coerceAll(args, "compare")
	if err != nil {
		return nil, fmt.Errorf("%s(): %w", n.Name, err)
	}
	if t.k == kNull {
		return nullOf(tNull, n), nil
	}
	e := &extremeEval{t: t, greatest: greatest}
	nullable := true
	for _, a := range args {
		e.args = append(e.args, a.ev)
		nullable = nullable && a.nullable
	}
	return c.finish(&operand{ev: e, t: t, nullable: nullable, node: n}, args...)
}

type extremeEval struct {
	t        typ
	greatest bool
	args     []evaluator
}

func (e *extremeEval) eval(c *evalCtx, sel bitmap) (*vec, error) {
	n := c.n
	vals := make([]*vec, len(e.args))
	choice := make([]uint16, n)
	for k, a := range e.args {
		v, err := a.eval(c, sel)
		if err != nil {
			return nil, err
		}
		vals[k] = v
		for i := 0; i < n; i++ {
			j := i & idxMask(v)
			if v.null(j) {
				continue
			}
			if b := choice[i]; b != 0 {
				bv := vals[b-1]
				d := compareAt(e.t, v, j, bv, i&idxMask(bv))
				if (e.greatest && d <= 0) || (!e.greatest && d >= 0) {
					continue
				}
			}
			choice[i] = uint16(k + 1)
		}
	}
	return gather(e.t, n, vals, choice), nil
}

// compareAt compares row i of a with row j of b, both of type t.
func compareAt(t typ, a *vec, i int, b *vec, j int) int {
	switch t.k {
	case kBool:
		return cmp.Compare(b2u(a.bits.get(i)), b2u(b.bits.get(j)))
	case kInt32, kDate:
		return cmp.Compare(a.i32[i], b.i32[j])
	case kInt64, kTimestamp, kInterval:
		return cmp.Compare(a.i64[i], b.i64[j])
	case kFloat64:
		return cmp.Compare(a.f64[i], b.f64[j])
	case kDecimal:
		return decimal.Cmp(a.dec[i], b.dec[j])
	case kString:
		return bytes.Compare(a.str(i), b.str(j))
	}
	return 0
}
