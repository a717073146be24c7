package expr

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"millrace/decimal"
)

// cmpOp is a comparison operator.
type cmpOp uint8

const (
	opEQ cmpOp = iota
	opNE
	opLT
	opLE
	opGT
	opGE
)

var cmpOps = map[string]cmpOp{"=": opEQ, "<>": opNE, "<": opLT, "<=": opLE, ">": opGT, ">=": opGE}

// flip gives the operator with its operands swapped: a < b is b > a.
func (o cmpOp) flip() cmpOp {
	switch o {
	case opLT:
		return opGT
	case opLE:
		return opGE
	case opGT:
		return opLT
	case opGE:
		return opLE
	}
	return o
}

// mask has bit c+1 set when a three-way comparison result c in {-1, 0, 1} satisfies o.
func (o cmpOp) mask() uint64 {
	return [...]uint64{opEQ: 0b010, opNE: 0b101, opLT: 0b001, opLE: 0b011, opGT: 0b100, opGE: 0b110}[o]
}

// b2u is 1 for true and 0 for false; the compiler turns it into a flag move, not a branch.
func b2u(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

// decimalOf is the decimal type an exact number converts to: integer constants need only
// their own digits, integer columns all the digits of their type.
func decimalOf(o *operand) typ {
	if o.konst != nil && !o.konst.null(0) {
		switch o.t.k {
		case kInt64:
			return tDecimal(decimal.Digits(o.konst.i64[0]), 0)
		case kInt32:
			return tDecimal(decimal.Digits(int64(o.konst.i32[0])), 0)
		}
	}
	return asDecimal(o.t)
}

// narrowInts keeps an int32 column as it is when it meets int64 constants that fit in int32,
// so mcc = 5411 compares int32 values instead of widening the column.
func narrowInts(ops []*operand) {
	has32 := false
	for _, o := range ops {
		switch {
		case o.t.k == kInt32 && o.konst == nil:
			has32 = true
		case o.konst == nil && o.t.k != kNull:
			return
		case o.konst != nil && o.t.k == kInt64 && !o.konst.null(0):
			if v := o.konst.i64[0]; int64(int32(v)) != v {
				return
			}
		case o.konst != nil && o.t.k != kInt32 && o.t.k != kInt64 && o.t.k != kNull:
			return
		}
	}
	if !has32 {
		return
	}
	for i, o := range ops {
		if o.konst != nil && o.t.k == kInt64 {
			v := &vec{i32: []int32{int32(o.konst.i64[0])}, valid: o.konst.valid}
			ops[i] = constant(v, tInt32, o.node)
		}
	}
}

// comparable converts two or more operands to one type for comparing them. Exact numbers
// meeting a decimal become decimals of a common scale, rescaled only for comparing, so no
// value can overflow. It returns the kind compared.
func (c *compiler) comparable(ops []*operand) (kind, error) {
	exact, dec := true, false
	for _, o := range ops {
		exact = exact && (o.t.isInt() || o.t.k == kDecimal || o.t.k == kNull)
		dec = dec || o.t.k == kDecimal
	}
	if !exact || !dec {
		narrowInts(ops)
		t, err := c.coerceAll(ops, "compare")
		return t.k, err
	}
	var s int32
	for i, o := range ops {
		d, err := c.coerce(o, decimalOf(o))
		if err != nil {
			return 0, err
		}
		ops[i] = d
		s = max(s, d.t.s)
	}
	for i, o := range ops {
		if o.t.s < s {
			ops[i] = c.rescaleForCompare(o, s)
		}
	}
	return kDecimal, nil
}

// rescaleForCompare raises the scale of a decimal to s, saturating values too large to
// represent at ±10^38, which compare correctly with every decimal128 of scale s.
func (c *compiler) rescaleForCompare(o *operand, s int32) *operand {
	out := &operand{ev: &rescaleEval{x: o.ev, by: s - o.t.s}, t: tDecimal(maxPrecision, s), nullable: o.nullable, node: o.node}
	if o.konst != nil {
		v := o.konst
		r := &vec{dec: []num{decimal.RescaleSaturating(v.dec[0], s-o.t.s)}, valid: v.valid}
		return constant(r, out.t, o.node)
	}
	return out
}

type rescaleEval struct {
	x  evaluator
	by int32
}

func (e *rescaleEval) eval(c *evalCtx, sel bitmap) (*vec, error) {
	v, err := e.x.eval(c, sel)
	if err != nil {
		return nil, err
	}
	out := &vec{n: v.n, konst: v.konst, valid: v.valid, dec: make([]num, len(v.dec))}
	for i, x := range v.dec {
		out.dec[i] = decimal.RescaleSaturating(x, e.by)
	}
	return out, nil
}

func (c *compiler) compare(op string, l, r *operand, n Node) (*operand, error) {
	ops := []*operand{l, r}
	k, err := c.comparable(ops)
	if err != nil {
		return nil, err
	}
	if k == kNull || strictNull(ops...) {
		return nullOf(tBool, n), nil
	}
	out := &operand{ev: &cmpEval{op: cmpOps[op], k: k, l: ops[0].ev, r: ops[1].ev},
		t: tBool, nullable: anyNullable(ops...), node: n}
	return c.finish(out, ops...)
}

func (c *compiler) between(n *Between) (*operand, error) {
	x, err := c.compile(n.X)
	if err != nil {
		return nil, err
	}
	x = c.memoize(x)
	lo, err := c.compile(n.Lo)
	if err != nil {
		return nil, err
	}
	hi, err := c.compile(n.Hi)
	if err != nil {
		return nil, err
	}
	ge, err := c.compare(">=", x, lo, n)
	if err != nil {
		return nil, err
	}
	le, err := c.compare("<=", x, hi, n)
	if err != nil {
		return nil, err
	}
	both, err := c.logic("AND", ge, le, n)
	if err != nil || !n.Not {
		return both, err
	}
	return c.not(both, n)
}

// cmpEval compares two values of one kind, row by row.
type cmpEval struct {
	op   cmpOp
	k    kind
	l, r evaluator
}

// strictValidity is the validity of a result that is NULL wherever an input is.
func strictValidity(konst bool, vs ...*vec) bitmap {
	if !konst {
		return andValidity(vs...)
	}
	for _, v := range vs {
		if v.null(0) {
			return bitmap{0}
		}
	}
	return nil
}

// evalBoth evaluates the operands of a strict binary operator and starts its result: a
// constant when both operands are, NULL where either is; rows is how many values it holds.
func evalBoth(c *evalCtx, sel bitmap, l, r evaluator) (lv, rv, out *vec, rows int, err error) {
	if lv, err = l.eval(c, sel); err != nil {
		return nil, nil, nil, 0, err
	}
	if rv, err = r.eval(c, sel); err != nil {
		return nil, nil, nil, 0, err
	}
	konst := lv.konst && rv.konst
	rows = lv.n
	if konst {
		rows = 1
	}
	return lv, rv, &vec{n: lv.n, konst: konst, valid: strictValidity(konst, lv, rv)}, rows, nil
}

func (e *cmpEval) eval(c *evalCtx, sel bitmap) (*vec, error) {
	lv, rv, out, rows, err := evalBoth(c, sel, e.l, e.r)
	if err != nil {
		return nil, err
	}
	out.bits = newBitmap(rows)
	op := e.op
	if lv.konst && !rv.konst {
		lv, rv, op = rv, lv, op.flip()
	}
	scalar := rv.konst
	switch e.k {
	case kInt32, kDate:
		cmpOrdered(op, lv.i32[:rows], rv.i32, scalar, out.bits)
	case kInt64, kTimestamp, kInterval:
		cmpOrdered(op, lv.i64[:rows], rv.i64, scalar, out.bits)
	case kFloat64:
		cmpOrdered(op, lv.f64[:rows], rv.f64, scalar, out.bits)
	case kDecimal:
		cmpDecimals(op, lv.dec[:rows], rv.dec, scalar, out.bits)
	case kString:
		cmpStrings(op, lv, rv, rows, scalar, out.bits)
	case kBool:
		cmpBools(op, lv.expand(tBool).bits, rv.expand(tBool).bits, out.bits)
	default:
		return nil, fmt.Errorf("expr: cannot compare values of kind %d", e.k)
	}
	return out, nil
}

// cmpOrdered sets bit i of out when a[i] op b[i], or a[i] op b[0] when scalar. NE is computed
// as the complement of EQ, and with two vectors GT and GE as LT and LE with swapped operands.
func cmpOrdered[T int32 | int64 | float64](op cmpOp, a, b []T, scalar bool, out bitmap) {
	invert := op == opNE
	if invert {
		op = opEQ
	}
	if scalar {
		cmpOrderedScalar(op, a, b[0], out)
	} else {
		if op == opGT || op == opGE {
			a, b, op = b, a, op.flip()
		}
		b = b[:len(a)]
		for w := range out {
			lo, hi := w*64, min(w*64+64, len(a))
			x, y := a[lo:hi], b[lo:hi]
			y = y[:len(x)]
			var word uint64
			switch op {
			case opEQ:
				for j := range x {
					word |= b2u(x[j] == y[j]) << uint(j)
				}
			case opLT:
				for j := range x {
					word |= b2u(x[j] < y[j]) << uint(j)
				}
			case opLE:
				for j := range x {
					word |= b2u(x[j] <= y[j]) << uint(j)
				}
			}
			out[w] = word
		}
	}
	if invert {
		for w := range out {
			out[w] = ^out[w]
		}
	}
}

func cmpOrderedScalar[T int32 | int64 | float64](op cmpOp, a []T, s T, out bitmap) {
	for w := range out {
		x := a[w*64 : min(w*64+64, len(a))]
		var word uint64
		switch op {
		case opEQ:
			for j, v := range x {
				word |= b2u(v == s) << uint(j)
			}
		case opLT:
			for j, v := range x {
				word |= b2u(v < s) << uint(j)
			}
		case opLE:
			for j, v := range x {
				word |= b2u(v <= s) << uint(j)
			}
		case opGT:
			for j, v := range x {
				word |= b2u(v > s) << uint(j)
			}
		case opGE:
			for j, v := range x {
				word |= b2u(v >= s) << uint(j)
			}
		}
		out[w] = word
	}
}

// lessDec reports a < b for two decimals of the same scale.
func lessDec(a, b num) bool {
	ah, bh := a.HighBits(), b.HighBits()
	return ah < bh || (ah == bh && a.LowBits() < b.LowBits())
}

// cmpDecimals compares decimals of the same scale.
func cmpDecimals(op cmpOp, a, b []num, scalar bool, out bitmap) {
	invert := op == opNE
	if invert {
		op = opEQ
	}
	for w := range out {
		lo, hi := w*64, min(w*64+64, len(a))
		x := a[lo:hi]
		var word uint64
		if scalar {
			s := b[0]
			switch op {
			case opEQ:
				for j, v := range x {
					word |= b2u(v == s) << uint(j)
				}
			case opLT:
				for j, v := range x {
					word |= b2u(lessDec(v, s)) << uint(j)
				}
			case opLE:
				for j, v := range x {
					word |= b2u(!lessDec(s, v)) << uint(j)
				}
			case opGT:
				for j, v := range x {
					word |= b2u(lessDec(s, v)) << uint(j)
				}
			case opGE:
				for j, v := range x {
					word |= b2u(!lessDec(v, s)) << uint(j)
				}
			}
		} else {
			y := b[lo:hi]
			y = y[:len(x)]
			m := op.mask()
			for j, v := range x {
				word |= (m >> uint(decimal.Cmp(v, y[j])+1) & 1) << uint(j)
			}
		}
		out[w] = word
	}
	if invert {
		for w := range out {
			out[w] = ^out[w]
		}
	}
}

// cmpStrings compares strings byte-wise (which for UTF-8 is code point order) straight from
// the offsets and data buffers.
func cmpStrings(op cmpOp, a, b *vec, rows int, scalar bool, out bitmap) {
	m := op.mask()
	ao, ad := a.offs[:rows+1], a.data
	if scalar && (op == opEQ || op == opNE) {
		eqStringsScalar(ao, ad, string(b.str(0)), out)
		if op == opNE {
			for w := range out {
				out[w] = ^out[w]
			}
		}
		return
	}
	if scalar {
		s := b.str(0)
		for w := range out {
			var word uint64
			for j, i := 0, w*64; j < 64 && i < rows; j, i = j+1, i+1 {
				word |= (m >> uint(bytes.Compare(ad[ao[i]:ao[i+1]], s)+1) & 1) << uint(j)
			}
			out[w] = word
		}
		return
	}
	bo, bd := b.offs[:rows+1], b.data
	for w := range out {
		var word uint64
		for j, i := 0, w*64; j < 64 && i < rows; j, i = j+1, i+1 {
			c := bytes.Compare(ad[ao[i]:ao[i+1]], bd[bo[i]:bo[i+1]])
			word |= (m >> uint(c+1) & 1) << uint(j)
		}
		out[w] = word
	}
}

// eqStringsScalar sets bit i of out when string i equals s. It compares lengths and the first
// eight bytes as integers, without branches, and looks at further bytes only when those match.
func eqStringsScalar(offs []int32, data []byte, s string, out bitmap) {
	n := int32(len(s))
	k := min(len(s), 8)
	var head uint64
	for i := k - 1; i >= 0; i-- {
		head = head<<8 | uint64(s[i])
	}
	mask := uint64(1)<<(8*uint(k)) - 1 // k = 8 shifts out every bit: all ones
	limit := int32(len(data) - 8)
	long := n > 8
	for w := range out {
		lo := w * 64
		o := offs[lo : min(lo+64, len(offs)-1)+1]
		var word uint64
		for j := 0; j+1 < len(o); j++ {
			start, end := o[j], o[j+1]
			var x uint64
			if start <= limit {
				x = binary.LittleEndian.Uint64(data[start:])
			} else {
				x = loadTail(data[start:])
			}
			eq := b2u(x&mask == head) & b2u(end-start == n)
			if long && eq != 0 && string(data[start+8:end]) != s[8:] {
				eq = 0
			}
			word |= eq << uint(j)
		}
		out[w] = word
	}
}

// loadTail reads up to eight bytes at the end of a buffer as a little-endian integer.
func loadTail(b []byte) uint64 {
	var x uint64
	for i := min(len(b), 8) - 1; i >= 0; i-- {
		x = x<<8 | uint64(b[i])
	}
	return x
}

// cmpBools compares booleans word by word, FALSE < TRUE.
func cmpBools(op cmpOp, a, b bitmap, out bitmap) {
	for w := range out {
		x, y := a[w], b[w]
		var r uint64
		switch op {
		case opEQ:
			r = ^(x ^ y)
		case opNE:
			r = x ^ y
		case opLT:
			r = ^x & y
		case opLE:
			r = ^x | y
		case opGT:
			r = x &^ y
		case opGE:
			r = x | ^y
		}
		out[w] = r
	}
}
