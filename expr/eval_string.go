package expr

import (
	"bytes"
	"fmt"
	"math"
	"slices"
	"unicode"
	"unicode/utf8"
)

// String functions work on UTF-8 straight from the offsets and data buffers. Lengths and
// positions count characters (code points), not bytes; bytes that are not valid UTF-8 count
// as one character each and pass through unchanged. Every function is NULL when an argument
// is NULL, except concat(), which skips NULL arguments.

// strOut accumulates a string column. Kernels keep it in a local variable, so that growing
// it stores no pointers into the heap (which would cost a write barrier per row during GC).
type strOut struct {
	offs []int32
	data []byte
}

func newStrOut(rows, capacity int) strOut {
	return strOut{offs: make([]int32, 1, rows+1), data: make([]byte, 0, capacity)}
}

// end closes the current row.
func (o *strOut) end() { o.offs = append(o.offs, int32(len(o.data))) }

// strArg reads row i of a string vec that may be a constant.
func strArg(v *vec, i int) []byte {
	j := i & idxMask(v)
	return v.data[v.offs[j]:v.offs[j+1]]
}

func rowsOf(vs ...*vec) (rows int, konst bool) {
	konst = true
	for _, v := range vs {
		konst = konst && v.konst
	}
	if konst {
		return 1, true
	}
	return vs[0].n, false
}

// evalAll evaluates several arguments over the same rows.
func evalAll(c *evalCtx, sel bitmap, evs []evaluator) ([]*vec, error) {
	out := make([]*vec, len(evs))
	for i, e := range evs {
		v, err := e.eval(c, sel)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

func (c *compiler) caseMap(a []*operand, n *Call, upper bool) (*operand, error) {
	if err := want(n, 0, a[0], "a string", kString); err != nil {
		return nil, err
	}
	if strictNull(a...) {
		return nullOf(tString, n), nil
	}
	return c.finish(&operand{ev: &caseMapEval{x: a[0].ev, upper: upper}, t: tString, nullable: a[0].nullable, node: n}, a...)
}

type caseMapEval struct {
	x     evaluator
	upper bool
}

func (e *caseMapEval) eval(c *evalCtx, sel bitmap) (*vec, error) {
	v, err := e.x.eval(c, sel)
	if err != nil {
		return nil, err
	}
	rows, konst := rowsOf(v)
	// ASCII text keeps its length, so the whole column maps in one pass over its bytes.
	base := v.offs[0]
	data := make([]byte, v.offs[rows]-base)
	if mapASCII(data, v.data[base:v.offs[rows]], e.upper) {
		offs := make([]int32, rows+1)
		for i, o := range v.offs[:rows+1] {
			offs[i] = o - base
		}
		return &vec{n: v.n, konst: konst, valid: v.valid, offs: offs, data: data}, nil
	}
	o := newStrOut(rows, len(data))
	for i := 0; i < rows; i++ {
		o.data = appendCase(o.data, v.str(i), e.upper)
		o.end()
	}
	return &vec{n: v.n, konst: konst, valid: v.valid, offs: o.offs, data: o.data}, nil
}

// mapASCII writes src to dst in upper or lower case, moving bytes in a-z (A-Z) by 32 without
// branches. It reports whether src was all ASCII; if not, dst is not fully mapped.
func mapASCII(dst, src []byte, upper bool) bool {
	dst = dst[:len(src)]
	var all byte
	if upper {
		for i, c := range src {
			all |= c
			dst[i] = c - byte(b2u(c-'a' < 26))<<5
		}
	} else {
		for i, c := range src {
			all |= c
			dst[i] = c + byte(b2u(c-'A' < 26))<<5
		}
	}
	return all < utf8.RuneSelf
}

// appendCase appends s converted to upper or lower case, character by character.
func appendCase(dst, s []byte, upper bool) []byte {
	start := len(dst)
	dst = slices.Grow(dst, len(s))[:start+len(s)]
	if mapASCII(dst[start:], s, upper) {
		return dst
	}
	dst = dst[:start]
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case upper && 'a' <= c && c <= 'z':
				c -= 'a' - 'A'
			case !upper && 'A' <= c && c <= 'Z':
				c += 'a' - 'A'
			}
			dst = append(dst, c)
			i++
			continue
		}
		r, n := utf8.DecodeRune(s[i:])
		if r == utf8.RuneError && n == 1 {
			dst = append(dst, c)
			i++
			continue
		}
		if upper {
			r = unicode.ToUpper(r)
		} else {
			r = unicode.ToLower(r)
		}
		dst = utf8.AppendRune(dst, r)
		i += n
	}
	return dst
}

func (c *compiler) length(a []*operand, n *Call) (*operand, error) {
	if err := want(n, 0, a[0], "a string", kString); err != nil {
		return nil, err
	}
	if strictNull(a...) {
		return nullOf(tInt64, n), nil
	}
	return c.finish(&operand{ev: &lengthEval{x: a[0].ev}, t: tInt64, nullable: a[0].nullable, node: n}, a...)
}

type lengthEval struct{ x evaluator }

func (e *lengthEval) eval(c *evalCtx, sel bitmap) (*vec, error) {
	v, err := e.x.eval(c, sel)
	if err != nil {
		return nil, err
	}
	rows, konst := rowsOf(v)
	out := &vec{n: v.n, konst: konst, valid: v.valid, i64: make([]int64, rows)}
	for i := range out.i64 {
		out.i64[i] = int64(utf8.RuneCount(v.str(i)))
	}
	return out, nil
}

// substr(s, start[, count]) takes count characters from the 1-based position start, as in
// PostgreSQL: positions before 1 count against count, and a negative count is an error.
func (c *compiler) substr(a []*operand, n *Call) (*operand, error) {
	if err := want(n, 0, a[0], "a string", kString); err != nil {
		return nil, err
	}
	args := []*operand{a[0]}
	for i, x := range a[1:] {
		if err := want(n, i+1, x, "an integer", kInt32, kInt64); err != nil {
			return nil, err
		}
		x, err := c.coerce(x, tInt64)
		if err != nil {
			return nil, err
		}
		args = append(args, x)
	}
	if strictNull(args...) {
		return nullOf(tString, n), nil
	}
	e := &substrEval{node: n}
	for _, x := range args {
		e.args = append(e.args, x.ev)
	}
	return c.finish(&operand{ev: e, t: tString, nullable: anyNullable(args...), node: n}, args...)
}

type substrEval struct {
	args []evaluator
	node Node
}

func (e *substrEval) eval(c *evalCtx, sel bitmap) (*vec, error) {
	vs, err := evalAll(c, sel, e.args)
	if err != nil {
		return nil, err
	}
	rows, konst := rowsOf(vs...)
	valid := strictValidity(konst, vs...)
	s, start := vs[0], vs[1]
	var count *vec
	if len(vs) == 3 {
		count = vs[2]
	}
	o := newStrOut(rows, 0)
	bad := badRows{n: rows}
	for i := 0; i < rows; i++ {
		from := start.i64[i&idxMask(start)]
		to := int64(math.MaxInt64)
		if count != nil {
			cnt := count.i64[i&idxMask(count)]
			if cnt < 0 {
				bad.mark(i)
			} else if from <= math.MaxInt64-cnt {
				to = from + cnt
			}
		}
		from = max(from, 1)
		if to > from {
			str := strArg(s, i)
			b0 := charOffset(str, from-1)
			b1 := b0 + charOffset(str[b0:], to-from)
			o.data = append(o.data, str[b0:b1]...)
		}
		o.end()
	}
	if err := bad.check(e.node, "negative substring length", valid, sel); err != nil {
		return nil, err
	}
	return &vec{n: s.n, konst: konst, valid: valid, offs: o.offs, data: o.data}, nil
}

// charOffset returns the byte offset of the character k characters into s, or len(s).
func charOffset(s []byte, k int64) int {
	i := 0
	for ; i < len(s) && k > 0; k-- {
		if s[i] < utf8.RuneSelf {
			i++
			continue
		}
		_, n := utf8.DecodeRune(s[i:])
		i += n
	}
	return i
}

type trimSide uint8

const (
	trimBoth trimSide = iota
	trimLeft
	trimRight
)

// trim removes spaces, or the characters of its second argument, from the ends.
func (c *compiler) trim(a []*operand, n *Call, side trimSide) (*operand, error) {
	for i, x := range a {
		if err := want(n, i, x, "a string", kString); err != nil {
			return nil, err
		}
	}
	if strictNull(a...) {
		return nullOf(tString, n), nil
	}
	e := &trimEval{side: side, x: a[0].ev}
	kids := a
	if len(a) == 2 {
		e.chars = a[1].ev
	}
	return c.finish(&operand{ev: e, t: tString, nullable: anyNullable(a...), node: n}, kids...)
}

type trimEval struct {
	side  trimSide
	x     evaluator
	chars evaluator // nil: spaces
}

func (e *trimEval) eval(c *evalCtx, sel bitmap) (*vec, error) {
	v, err := e.x.eval(c, sel)
	if err != nil {
		return nil, err
	}
	vs := []*vec{v}
	if e.chars != nil {
		cv, err := e.chars.eval(c, sel)
		if err != nil {
			return nil, err
		}
		vs = append(vs, cv)
	}
	rows, konst := rowsOf(vs...)
	o := newStrOut(rows, int(v.offs[len(v.offs)-1]-v.offs[0]))
	cut := " "
	for i := 0; i < rows; i++ {
		s := strArg(v, i)
		if len(vs) == 2 {
			cut = string(strArg(vs[1], i))
		}
		switch e.side {
		case trimBoth:
			s = bytes.Trim(s, cut)
		case trimLeft:
			s = bytes.TrimLeft(s, cut)
		case trimRight:
			s = bytes.TrimRight(s, cut)
		}
		o.data = append(o.data, s...)
		o.end()
	}
	return &vec{n: v.n, konst: konst, valid: strictValidity(konst, vs...), offs: o.offs, data: o.data}, nil
}

// concat joins any values as text, skipping NULLs; it is never NULL.
func (c *compiler) concatFunc(a []*operand, n *Call) (*operand, error) {
	e := &concatEval{}
	for i, x := range a {
		s, err := c.cast(x, tString, n, false)
		if err != nil {
			return nil, err
		}
		a[i] = s
		e.args = append(e.args, s.ev)
	}
	return c.finish(&operand{ev: e, t: tString, node: n}, a...)
}

// concat is the || operator: text joined, NULL when either side is NULL. A side that is not
// a string is converted to text when the other side is one.
func (c *compiler) concat(l, r *operand, n Node) (*operand, error) {
	if l.t.k != kString && r.t.k != kString && l.t.k != kNull && r.t.k != kNull {
		return nil, fmt.Errorf("cannot apply || to %s and %s: one side must be a string", l.t, r.t)
	}
	ops := []*operand{l, r}
	for i, x := range ops {
		s, err := c.cast(x, tString, n, false)
		if err != nil {
			return nil, err
		}
		ops[i] = s
	}
	if strictNull(ops...) {
		return nullOf(tString, n), nil
	}
	e := &concatEval{strict: true, args: []evaluator{ops[0].ev, ops[1].ev}}
	return c.finish(&operand{ev: e, t: tString, nullable: anyNullable(ops...), node: n}, ops...)
}

type concatEval struct {
	strict bool
	args   []evaluator
}

func (e *concatEval) eval(c *evalCtx, sel bitmap) (*vec, error) {
	vs, err := evalAll(c, sel, e.args)
	if err != nil {
		return nil, err
	}
	rows, konst := rowsOf(vs...)
	size := 0
	for _, v := range vs {
		n := int(v.offs[len(v.offs)-1] - v.offs[0])
		if v.konst {
			n *= rows
		}
		size += n
	}
	o := newStrOut(rows, size)
	for i := 0; i < rows; i++ {
		for _, v := range vs {
			if !v.null(i & idxMask(v)) {
				o.data = append(o.data, strArg(v, i)...)
			}
		}
		o.end()
	}
	out := &vec{n: vs[0].n, konst: konst, offs: o.offs, data: o.data}
	if e.strict {
		out.valid = strictValidity(konst, vs...)
	}
	return out, nil
}

type strTest uint8

const (
	testPrefix strTest = iota
	testSuffix
	testContains
)

// strTest builds starts_with, ends_with and contains.
func (c *compiler) strTest(a []*operand, n *Call, test strTest) (*operand, error) {
	for i, x := range a {
		if err := want(n, i, x, "a string", kString); err != nil {
			return nil, err
		}
	}
	if strictNull(a...) {
		return nullOf(tBool, n), nil
	}
	e := &strTestEval{test: test, s: a[0].ev, p: a[1].ev}
	return c.finish(&operand{ev: e, t: tBool, nullable: anyNullable(a...), node: n}, a...)
}

type strTestEval struct {
	test strTest
	s, p evaluator
}

func (e *strTestEval) eval(c *evalCtx, sel bitmap) (*vec, error) {
	vs, err := evalAll(c, sel, []evaluator{e.s, e.p})
	if err != nil {
		return nil, err
	}
	rows, konst := rowsOf(vs...)
	s, p := vs[0], vs[1]
	out := &vec{n: s.n, konst: konst, valid: strictValidity(konst, vs...), bits: newBitmap(rows)}
	for i := 0; i < rows; i++ {
		x, y := strArg(s, i), strArg(p, i)
		var ok bool
		switch e.test {
		case testPrefix:
			ok = bytes.HasPrefix(x, y)
		case testSuffix:
			ok = bytes.HasSuffix(x, y)
		case testContains:
			ok = bytes.Contains(x, y)
		}
		if ok {
			out.bits.set(i)
		}
	}
	return out, nil
}
