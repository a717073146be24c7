package expr

import (
	"fmt"
	"math"

	"millrace/decimal"
)

// Numeric functions keep decimals exact: round(x, n) rounds half away from zero to n places
// (n may be negative) and returns decimal(P, max(n,0)) with room for the carry; floor and
// ceil return decimal(P, 0). Integers keep their value (or round to tens, hundreds... for a
// negative n); floats use math.Round, math.Floor and math.Ceil.

type mathOp uint8

const (
	mathAbs mathOp = iota
	mathRound
	mathFloor
	mathCeil
)

func (c *compiler) abs(a []*operand, n *Call) (*operand, error) {
	x := a[0]
	if err := want(n, 0, x, "a number", kInt32, kInt64, kFloat64, kDecimal, kInterval); err != nil {
		return nil, err
	}
	if x.t.isInt() {
		var err error
		if x, err = c.coerce(x, tInt64); err != nil {
			return nil, err
		}
	}
	return c.mathFunc(mathAbs, x, x.t, 0, n)
}

func (c *compiler) round(a []*operand, n *Call) (*operand, error) {
	x := a[0]
	if err := want(n, 0, x, "a number", kInt32, kInt64, kFloat64, kDecimal); err != nil {
		return nil, err
	}
	var digits int64
	if len(a) == 2 {
		var err error
		if digits, err = constInt(n, 1, a[1]); err != nil {
			return nil, err
		}
		if digits < -maxPrecision || digits > maxPrecision {
			return nil, fmt.Errorf("round(): %d places is out of range [-%d, %d]", digits, maxPrecision, maxPrecision)
		}
	}
	d := int32(digits)
	switch x.t.k {
	case kNull:
		return x, nil
	case kInt32, kInt64:
		if d >= 0 {
			return x, nil
		}
		// Round through decimal, then back to an integer.
		dx, err := c.coerce(x, decimalOf(x))
		if err != nil {
			return nil, err
		}
		r, err := c.round([]*operand{dx, a[1]}, n)
		if err != nil {
			return nil, err
		}
		return c.cast(r, tInt64, n, false)
	case kFloat64:
		return c.mathFunc(mathRound, x, tFloat64, d, n)
	}
	p, s := x.t.p, x.t.s
	if d >= s {
		return x, nil
	}
	scale := max(d, 0)
	return c.mathFunc(mathRound, x, tDecimal(min(p-s+scale+1, maxPrecision), scale), d, n)
}

func (c *compiler) floorCeil(a []*operand, n *Call, ceil bool) (*operand, error) {
	x := a[0]
	if err := want(n, 0, x, "a number", kInt32, kInt64, kFloat64, kDecimal); err != nil {
		return nil, err
	}
	op := mathFloor
	if ceil {
		op = mathCeil
	}
	switch {
	case x.t.isInt() || x.t.k == kNull || (x.t.k == kDecimal && x.t.s == 0):
		return x, nil
	case x.t.k == kFloat64:
		return c.mathFunc(op, x, tFloat64, 0, n)
	}
	return c.mathFunc(op, x, tDecimal(x.t.p-x.t.s+1, 0), 0, n)
}

func (c *compiler) mathFunc(op mathOp, x *operand, out typ, digits int32, n *Call) (*operand, error) {
	if strictNull(x) {
		return nullOf(out, n), nil
	}
	e := &mathEval{op: op, in: x.t, out: out, digits: digits, x: x.ev, node: n}
	return c.finish(&operand{ev: e, t: out, nullable: x.nullable, node: n}, x)
}

type mathEval struct {
	op      mathOp
	in, out typ
	digits  int32
	x       evaluator
	node    Node
}

func (e *mathEval) eval(c *evalCtx, sel bitmap) (*vec, error) {
	v, err := e.x.eval(c, sel)
	if err != nil {
		return nil, err
	}
	rows, konst := rowsOf(v)
	out := &vec{n: v.n, konst: konst, valid: v.valid, scratch: true}
	bad := badRows{n: rows}
	msg := "decimal overflow"
	switch e.in.k {
	case kInt64, kInterval: // abs
		msg = "integer overflow"
		out.i64 = make([]int64, rows)
		for i, x := range v.i64[:rows] {
			if x == math.MinInt64 {
				bad.mark(i)
			}
			if x < 0 {
				x = -x
			}
			out.i64[i] = x
		}
	case kFloat64:
		out.f64 = make([]float64, rows)
		e.floats(v.f64[:rows], out.f64)
	case kDecimal:
		out.dec = make([]num, rows)
		e.decimals(v.dec[:rows], out.dec, &bad)
	}
	if err := bad.check(e.node, msg, v.validity(), sel); err != nil {
		return nil, err
	}
	return out, nil
}

func (e *mathEval) floats(in, out []float64) {
	switch e.op {
	case mathAbs:
		for i, x := range in {
			out[i] = math.Abs(x)
		}
	case mathFloor:
		for i, x := range in {
			out[i] = math.Floor(x)
		}
	case mathCeil:
		for i, x := range in {
			out[i] = math.Ceil(x)
		}
	case mathRound:
		d := e.digits
		p := math.Pow10(int(max(d, -d)))
		for i, x := range in {
			switch {
			case math.Abs(x) >= 1<<52: // already a whole number
				out[i] = x
			case d >= 0:
				out[i] = math.Round(x*p) / p
			default:
				out[i] = math.Round(x/p) * p
			}
		}
	}
}

func (e *mathEval) decimals(in, out []num, bad *badRows) {
	s := e.in.s
	switch e.op {
	case mathAbs:
		for i, x := range in {
			if x.Sign() < 0 {
				x = x.Negate()
			}
			out[i] = x
		}
	case mathFloor, mathCeil:
		for i, x := range in {
			q, _, exact := decimal.DivPow10(x, s)
			switch {
			case exact:
			case e.op == mathFloor && x.Sign() < 0:
				q, _ = decimal.Sub(q, numOf(1))
			case e.op == mathCeil && x.Sign() > 0:
				q, _ = decimal.Add(q, numOf(1))
			}
			out[i] = q
		}
	case mathRound:
		drop := s - e.digits // digits dropped, > 0
		for i, x := range in {
			var r num
			if drop <= maxPrecision {
				r = decimal.Round(x, drop)
			}
			if e.digits < 0 {
				var ok bool
				if r, ok = decimal.MulPow10(r, -e.digits); !ok || !decimal.Fits(r, e.out.p) {
					bad.mark(i)
				}
			}
			out[i] = r
		}
	}
}
