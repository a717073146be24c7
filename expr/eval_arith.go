package expr

import (
	"fmt"
	"math"
	"math/bits"

	"millrace/decimal"
)

// Arithmetic types, following SQL:
//
//   - int32 and int64 operands compute in int64; overflow is an error.
//   - With a decimal operand (and no float), the result is an exact decimal. For + and - the
//     scale is the larger of the two and the precision one more than the larger count of
//     integer digits; for * the scales and precisions add; for % the scale is the larger one.
//     Precision is capped at 38; a result that then does not fit is an error, never a wrap.
//     Integer columns count as decimal(10,0) or decimal(19,0), integer constants as just
//     their digits, so amount * 2 is decimal(19,2).
//   - With a float64 operand, the result is float64 (IEEE: overflow gives ±Inf).
//   - / always divides in float64, whatever the operand types: 7 / 2 is 3.5, and decimal
//     money divided is no longer exact. Division or % by zero is NULL, for every type.
//   - timestamp ± interval is a timestamp, timestamp - timestamp an interval, date ± integer
//     a date, date - date an int64 count of days, interval * integer an interval.

func (c *compiler) arith(op string, l, r *operand, n Node) (*operand, error) {
	lt, rt := l.t, r.t
	if lt.k == kNull && rt.k == kNull {
		return nullOf(tNull, n), nil
	}
	if isTemporal(lt) || isTemporal(rt) {
		return c.temporalArith(op, l, r, n)
	}
	if (!lt.isNumeric() && lt.k != kNull) || (!rt.isNumeric() && rt.k != kNull) {
		return nil, fmt.Errorf("cannot apply %s to %s and %s", op, lt, rt)
	}
	if lt.k == kNull {
		lt = rt
	}
	if rt.k == kNull {
		rt = lt
	}
	e := &arithEval{op: op[0], l: l.ev, r: r.ev, node: n}
	var t typ
	switch {
	case op == "/" || lt.k == kFloat64 || rt.k == kFloat64:
		e.k, t = kFloat64, tFloat64
	case lt.k == kDecimal || rt.k == kDecimal:
		return c.decimalArith(op, l, r, n)
	default:
		e.k, t = kInt64, tInt64
	}
	if strictNull(l, r) {
		return nullOf(t, n), nil
	}
	var err error
	if l, err = c.coerce(l, t); err != nil {
		return nil, err
	}
	if r, err = c.coerce(r, t); err != nil {
		return nil, err
	}
	e.l, e.r = l.ev, r.ev
	nullable := anyNullable(l, r) || ((op == "/" || op == "%") && !nonZeroConst(r))
	return c.finish(&operand{ev: e, t: t, nullable: nullable, node: n}, l, r)
}

// nonZeroConst reports whether o is a constant other than zero, so dividing by it never
// yields NULL.
func nonZeroConst(o *operand) bool {
	v := o.konst
	if v == nil || v.null(0) {
		return false
	}
	switch o.t.k {
	case kInt64, kTimestamp, kInterval:
		return v.i64[0] != 0
	case kInt32:
		return v.i32[0] != 0
	case kFloat64:
		return v.f64[0] != 0
	case kDecimal:
		return v.dec[0].Sign() != 0
	}
	return false
}

// decimalArith types an exact decimal operation and aligns the operands' scales.
func (c *compiler) decimalArith(op string, l, r *operand, n Node) (*operand, error) {
	ld, rd := decimalOf(l), decimalOf(r)
	if l.t.k == kNull {
		ld = rd
	}
	if r.t.k == kNull {
		rd = ld
	}
	e := &arithEval{op: op[0], k: kDecimal, node: n}
	var p, s int32
	switch op {
	case "+", "-":
		s = max(ld.s, rd.s)
		p = max(ld.p-ld.s, rd.p-rd.s) + 1 + s
		e.lk, e.rk = s-ld.s, s-rd.s
	case "*":
		s = ld.s + rd.s
		p = ld.p + rd.p
		if s > maxPrecision {
			return nil, fmt.Errorf("%s: the product of %s and %s would have %d decimal places, more than %d",
				n, ld, rd, s, maxPrecision)
		}
	case "%":
		s = max(ld.s, rd.s)
		p = min(ld.p-ld.s, rd.p-rd.s) + s
		e.lk, e.rk = s-ld.s, s-rd.s
	}
	if p > maxPrecision {
		p, e.check = maxPrecision, true
	}
	e.prec = p
	t := tDecimal(p, s)
	if strictNull(l, r) {
		return nullOf(t, n), nil
	}
	var err error
	if l, err = c.coerce(l, ld); err != nil {
		return nil, err
	}
	if r, err = c.coerce(r, rd); err != nil {
		return nil, err
	}
	e.l, e.r = l.ev, r.ev
	nullable := anyNullable(l, r) || (op == "%" && !nonZeroConst(r))
	return c.finish(&operand{ev: e, t: t, nullable: nullable, node: n}, l, r)
}

func isTemporal(t typ) bool { return t.k == kTimestamp || t.k == kDate || t.k == kInterval }

// relabel gives op another type stored the same way (a timestamp as int64, a date as int32).
func relabel(op *operand, t typ) *operand {
	out := *op
	out.t = t
	return &out
}

// temporalArith handles arithmetic on timestamps, dates and intervals by computing on their
// integer representation.
func (c *compiler) temporalArith(op string, l, r *operand, n Node) (*operand, error) {
	lk, rk := l.t.k, r.t.k
	// String constants next to a temporal value are read as that type (ts - '...').
	if t := temporalOf([]*operand{l, r}); t.k != kNull {
		var err error
		if lk == kString && l.konst != nil {
			if l, err = c.coerce(l, t); err != nil {
				return nil, err
			}
		}
		if rk == kString && r.konst != nil {
			if r, err = c.coerce(r, t); err != nil {
				return nil, err
			}
		}
		lk, rk = l.t.k, r.t.k
	}
	// A date meeting an interval or a timestamp becomes a timestamp.
	if lk == kDate && (rk == kInterval || rk == kTimestamp) {
		return c.thenArith(op, l, r, n, tTimestamp, 0)
	}
	if rk == kDate && (lk == kInterval || lk == kTimestamp) {
		return c.thenArith(op, l, r, n, tTimestamp, 1)
	}
	i64 := func(o *operand) (*operand, error) {
		if o.t.isInt() || o.t.k == kNull {
			return c.coerce(o, tInt64)
		}
		if o.t.k == kDate {
			return c.coerce(relabel(o, tInt32), tInt64)
		}
		return relabel(o, tInt64), nil
	}
	var result typ
	switch {
	case lk == kTimestamp && rk == kInterval && (op == "+" || op == "-"),
		lk == kInterval && rk == kTimestamp && op == "+":
		result = tTimestamp
	case lk == kTimestamp && rk == kTimestamp && op == "-":
		result = tInterval
	case lk == kInterval && rk == kInterval && (op == "+" || op == "-"):
		result = tInterval
	case (lk == kInterval && (r.t.isInt() || rk == kNull) || rk == kInterval && (l.t.isInt() || lk == kNull)) && op == "*":
		result = tInterval
	case lk == kDate && (r.t.isInt() || rk == kNull) && (op == "+" || op == "-"),
		rk == kDate && (l.t.isInt() || lk == kNull) && op == "+":
		result = tDate
	case lk == kDate && rk == kDate && op == "-":
		result = tInt64
	default:
		return nil, fmt.Errorf("cannot apply %s to %s and %s", op, l.t, r.t)
	}
	if strictNull(l, r) {
		return nullOf(result, n), nil
	}
	li, err := i64(l)
	if err != nil {
		return nil, err
	}
	ri, err := i64(r)
	if err != nil {
		return nil, err
	}
	e := &arithEval{op: op[0], k: kInt64, l: li.ev, r: ri.ev, node: n}
	sum, err := c.finish(&operand{ev: e, t: tInt64, nullable: anyNullable(l, r), node: n}, li, ri)
	if err != nil || result.k != kDate {
		if sum != nil {
			sum = relabel(sum, result)
		}
		return sum, err
	}
	d, err := c.cast(sum, tInt32, n, false)
	if err != nil {
		return nil, err
	}
	return relabel(d, tDate), nil
}

// thenArith converts operand which (0 left, 1 right) to t and computes op again.
func (c *compiler) thenArith(op string, l, r *operand, n Node, t typ, which int) (*operand, error) {
	var err error
	if which == 0 {
		l, err = c.coerce(l, t)
	} else {
		r, err = c.coerce(r, t)
	}
	if err != nil {
		return nil, err
	}
	return c.temporalArith(op, l, r, n)
}

func (c *compiler) negate(x *operand, n Node) (*operand, error) {
	switch {
	case x.t.k == kNull:
		return x, nil
	case x.t.isInt():
		var err error
		if x, err = c.coerce(x, tInt64); err != nil {
			return nil, err
		}
	case x.t.k == kDecimal || x.t.k == kFloat64 || x.t.k == kInterval:
	default:
		return nil, fmt.Errorf("cannot negate %s", x.t)
	}
	return c.finish(&operand{ev: &negEval{k: x.t.k, x: x.ev, node: n}, t: x.t, nullable: x.nullable, node: n}, x)
}

// arithEval computes +, -, *, / or % over int64, float64 or decimal operands of the kind k.
type arithEval struct {
	op   byte
	k    kind
	l, r evaluator
	node Node
	// Decimals: the operands are multiplied by 10^lk and 10^rk to align their scales, and
	// when check is set the results must have at most prec digits.
	lk, rk int32
	prec   int32
	check  bool
}

// idxMask is 0 for a constant, whose one value serves every row, and all ones otherwise, so
// that x[i&m] reads row i of either.
func idxMask(v *vec) int {
	if v.konst {
		return 0
	}
	return -1
}

func (e *arithEval) eval(c *evalCtx, sel bitmap) (*vec, error) {
	lv, rv, out, rows, err := evalBoth(c, sel, e.l, e.r)
	if err != nil {
		return nil, err
	}
	bad := badRows{n: rows}
	zero := badRows{n: rows} // rows divided by zero, which become NULL
	lm, rm := idxMask(lv), idxMask(rv)
	// Write over an operand's values when nothing else can see them; every kernel reads
	// row i before it writes row i.
	reuse := lv
	if !lv.scratch || lv.konst {
		reuse = rv
	}
	if !reuse.scratch || reuse.konst {
		reuse = nil
	}
	out.scratch = true
	msg := "integer overflow"
	switch e.k {
	case kInt64:
		out.i64 = scratchOr(reuse, func(v *vec) []int64 { return v.i64 }, rows)
		arithInt(e.op, lv.i64, rv.i64, lm, rm, out.i64, &bad, &zero)
	case kFloat64:
		out.f64 = scratchOr(reuse, func(v *vec) []float64 { return v.f64 }, rows)
		arithFloat(e.op, lv.f64, rv.f64, lm, rm, out.f64, &zero)
	case kDecimal:
		out.dec = scratchOr(reuse, func(v *vec) []num { return v.dec }, rows)
		e.arithDec(lv.dec, rv.dec, lm, rm, out.dec, &bad, &zero)
		msg = "decimal overflow"
	}
	if zero.bm != nil {
		out.valid = clearRows(out.valid, zero.bm, rows)
	}
	if err := bad.check(e.node, msg, out.valid, sel); err != nil {
		return nil, err
	}
	return out, nil
}

// scratchOr returns the values of v to be overwritten, or a new slice of n values when v is
// nil or holds another type.
func scratchOr[T any](v *vec, values func(*vec) []T, n int) []T {
	if v != nil {
		if s := values(v); len(s) == n {
			return s
		}
	}
	return make([]T, n)
}

// clearRows returns valid with the rows of drop made NULL, as a new bitmap.
func clearRows(valid, drop bitmap, rows int) bitmap {
	out := onesBitmap(rows)
	if valid != nil {
		copy(out, valid)
	}
	for w := range out {
		out[w] &^= drop[w]
	}
	return out
}

func arithInt(op byte, a, b []int64, am, bm int, out []int64, bad, zero *badRows) {
	switch op {
	case '+':
		for i := range out {
			x, y := a[i&am], b[i&bm]
			r := x + y
			if (x^r)&(y^r) < 0 {
				bad.mark(i)
			}
			out[i] = r
		}
	case '-':
		for i := range out {
			x, y := a[i&am], b[i&bm]
			r := x - y
			if (x^y)&(x^r) < 0 {
				bad.mark(i)
			}
			out[i] = r
		}
	case '*':
		for i := range out {
			x, y := a[i&am], b[i&bm]
			hi, lo := bits.Mul64(uint64(x), uint64(y))
			// Correct the unsigned high word to the signed one.
			shi := int64(hi) - (x>>63)&y - (y>>63)&x
			if shi != int64(lo)>>63 {
				bad.mark(i)
			}
			out[i] = int64(lo)
		}
	case '%':
		for i := range out {
			x, y := a[i&am], b[i&bm]
			if y == 0 {
				zero.mark(i)
				continue
			}
			out[i] = x % y
		}
	}
}

func arithFloat(op byte, a, b []float64, am, bm int, out []float64, zero *badRows) {
	switch op {
	case '+':
		for i := range out {
			out[i] = a[i&am] + b[i&bm]
		}
	case '-':
		for i := range out {
			out[i] = a[i&am] - b[i&bm]
		}
	case '*':
		for i := range out {
			out[i] = a[i&am] * b[i&bm]
		}
	case '/':
		for i := range out {
			y := b[i&bm]
			if y == 0 {
				zero.mark(i)
			}
			out[i] = a[i&am] / y
		}
	case '%':
		for i := range out {
			y := b[i&bm]
			if y == 0 {
				zero.mark(i)
			}
			out[i] = math.Mod(a[i&am], y)
		}
	}
}

func (e *arithEval) arithDec(a, b []num, am, bm int, out []num, bad, zero *badRows) {
	// Align constant operands once, before the loop.
	lk, rk := e.lk, e.rk
	if am == 0 && lk > 0 {
		v, ok := decimal.MulPow10(a[0], lk)
		if !ok {
			markAll(bad, len(out))
		}
		a, lk = []num{v}, 0
	}
	if bm == 0 && rk > 0 {
		v, ok := decimal.MulPow10(b[0], rk)
		if !ok {
			markAll(bad, len(out))
		}
		b, rk = []num{v}, 0
	}
	if lk == 0 && rk == 0 && !e.check && e.op != '%' {
		decFast(e.op, a, b, am, bm, out, bad)
		return
	}
	for i := range out {
		x, y := a[i&am], b[i&bm]
		ok1, ok2 := true, true
		if lk > 0 {
			x, ok1 = decimal.MulPow10(x, lk)
		}
		if rk > 0 {
			y, ok2 = decimal.MulPow10(y, rk)
		}
		var r num
		ok := true
		switch e.op {
		case '+':
			r, ok = decimal.Add(x, y)
		case '-':
			r, ok = decimal.Sub(x, y)
		case '*':
			r, ok = decimal.Mul(x, y)
		case '%':
			if y.Sign() == 0 {
				zero.mark(i)
				continue
			}
			r = decimal.Rem(x, y)
		}
		if !ok || !ok1 || !ok2 || (e.check && !decimal.Fits(r, e.prec)) {
			bad.mark(i)
		}
		out[i] = r
	}
}

// mulConst sets out[i] = a[i]·y. A y of 64 bits is checked once, so that each row of 64
// bits too (a price, an amount in cents) costs one multiply that cannot overflow.
func mulConst(a []num, y num, out []num, bad *badRows) {
	y64, small := decimal.Int64(y)
	for i, x := range a {
		if x64, ok := decimal.Int64(x); ok && small {
			out[i] = decimal.MulInt64(x64, y64)
			continue
		}
		r, ok := decimal.Mul(x, y)
		out[i] = r
		if !ok {
			bad.mark(i)
		}
	}
}

func markAll(b *badRows, n int) {
	for i := 0; i < n; i++ {
		b.mark(i)
	}
}

// negEval computes unary minus.
type negEval struct {
	k    kind
	x    evaluator
	node Node
}

func (e *negEval) eval(c *evalCtx, sel bitmap) (*vec, error) {
	v, err := e.x.eval(c, sel)
	if err != nil {
		return nil, err
	}
	out := &vec{n: v.n, konst: v.konst, valid: v.valid, scratch: true}
	switch e.k {
	case kInt64, kInterval:
		bad := badRows{n: len(v.i64)}
		out.i64 = make([]int64, len(v.i64))
		for i, x := range v.i64 {
			if x == math.MinInt64 {
				bad.mark(i)
			}
			out.i64[i] = -x
		}
		if err := bad.check(e.node, "integer overflow", v.valid, sel); err != nil {
			return nil, err
		}
	case kFloat64:
		out.f64 = make([]float64, len(v.f64))
		for i, x := range v.f64 {
			out.f64[i] = -x
		}
	case kDecimal:
		out.dec = make([]num, len(v.dec))
		for i, x := range v.dec {
			out.dec[i] = x.Negate()
		}
	}
	return out, nil
}

// decFast computes +, - or * over decimals of aligned scales whose result type needs no
// precision check, in loops specialised for vector-vector and vector-constant operands.
func decFast(op byte, a, b []num, am, bm int, out []num, bad *badRows) {
	if am == 0 && bm != 0 { // constant on the left: swap when the operator commutes
		if op != '-' {
			a, b, am, bm = b, a, bm, am
		}
	}
	switch {
	case am != 0 && bm == 0:
		y := b[0]
		a = a[:len(out)]
		switch op {
		case '+':
			for i, x := range a {
				r, ok := decimal.Add(x, y)
				out[i] = r
				if !ok {
					bad.mark(i)
				}
			}
		case '-':
			for i, x := range a {
				r, ok := decimal.Sub(x, y)
				out[i] = r
				if !ok {
					bad.mark(i)
				}
			}
		case '*':
			mulConst(a, y, out, bad)
		}
	case am != 0 && bm != 0:
		a, b = a[:len(out)], b[:len(out)]
		switch op {
		case '+':
			for i, x := range a {
				r, ok := decimal.Add(x, b[i])
				out[i] = r
				if !ok {
					bad.mark(i)
				}
			}
		case '-':
			for i, x := range a {
				r, ok := decimal.Sub(x, b[i])
				out[i] = r
				if !ok {
					bad.mark(i)
				}
			}
		case '*':
			for i, x := range a {
				r, ok := decimal.Mul(x, b[i])
				out[i] = r
				if !ok {
					bad.mark(i)
				}
			}
		}
	default: // constant minus vector, or both constant
		for i := range out {
			var r num
			var ok bool
			switch op {
			case '+':
				r, ok = decimal.Add(a[i&am], b[i&bm])
			case '-':
				r, ok = decimal.Sub(a[i&am], b[i&bm])
			default:
				r, ok = decimal.Mul(a[i&am], b[i&bm])
			}
			out[i] = r
			if !ok {
				bad.mark(i)
			}
		}
	}
}
