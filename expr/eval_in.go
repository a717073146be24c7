package expr

import (
	"fmt"
	"slices"
)

// x IN (list) is TRUE when x equals an item, NULL when it does not but the list holds a NULL
// (or x is NULL), and FALSE otherwise; NOT IN is its negation, so x NOT IN (1, NULL) is never
// TRUE. A list of constants becomes a set, searched by a linear scan when it is short and a
// hash map when it is long; a list with non-constant items is x = a OR x = b ...

// linearMax is the longest list searched linearly; beyond it a map is faster.
const linearMax = 12

func (c *compiler) in(n *In) (*operand, error) {
	x, err := c.compile(n.X)
	if err != nil {
		return nil, err
	}
	items, err := c.compileAll(n.List)
	if err != nil {
		return nil, err
	}
	allConst := true
	for _, it := range items {
		allConst = allConst && it.konst != nil
	}
	if !allConst {
		x = c.memoize(x)
		var any *operand
		for _, it := range items {
			eq, err := c.compare("=", x, it, n)
			if err != nil {
				return nil, err
			}
			if any == nil {
				any = eq
			} else if any, err = c.logic("OR", any, eq, n); err != nil {
				return nil, err
			}
		}
		if n.Not {
			return c.not(any, n)
		}
		return any, nil
	}
	ops := append([]*operand{x}, items...)
	k, err := c.comparable(ops)
	if err != nil {
		return nil, fmt.Errorf("%w in %s", err, n)
	}
	x = ops[0]
	if x.konst != nil && x.konst.isNullConst() || k == kNull {
		return nullOf(tBool, n), nil
	}
	e := &inEval{x: x.ev, k: k, not: n.Not}
	for _, it := range ops[1:] {
		v := it.konst
		if v.null(0) {
			e.hasNull = true
			continue
		}
		switch k {
		case kInt32, kDate:
			e.i32.add(v.i32[0])
		case kInt64, kTimestamp, kInterval:
			e.i64.add(v.i64[0])
		case kFloat64:
			if f := v.f64[0]; f == f { // NaN equals nothing
				e.f64.add(f)
			}
		case kDecimal:
			e.dec.add(v.dec[0])
		case kString:
			e.str.add(string(v.str(0)))
		case kBool:
			e.bools[v.bits[0]&1] = true
		}
	}
	e.densify()
	return c.finish(&operand{ev: e, t: tBool, nullable: x.nullable || e.hasNull, node: n}, x)
}

// denseMax is the widest range of integers kept as a bitmap (8 KiB).
const denseMax = 1 << 16

// densify turns a large set of integers spanning a narrow range, such as merchant category
// codes, into a bitmap over that range: membership is then one subtraction and one bit test.
func (e *inEval) densify() {
	var vals []int64
	switch {
	case e.i32.m != nil:
		for v := range e.i32.m {
			vals = append(vals, int64(v))
		}
	case e.i64.m != nil:
		for v := range e.i64.m {
			vals = append(vals, v)
		}
	default:
		return
	}
	lo, hi := slices.Min(vals), slices.Max(vals)
	if uint64(hi-lo) >= denseMax {
		return
	}
	e.denseLo, e.dense = lo, newBitmap(int(hi-lo)+1)
	for _, v := range vals {
		e.dense.set(int(v - lo))
	}
}

// memberDense sets bit i of out for each a[i] in the dense set.
func memberDense[T int32 | int64](lo int64, dense bitmap, a []T, out bitmap) {
	span := uint64(len(dense)) * 64
	for w := range out {
		x := a[w*64 : min(w*64+64, len(a))]
		var word uint64
		for j, v := range x {
			u := uint64(int64(v) - lo)
			in := b2u(u < span)
			u &= -in // stay in range: row 0 of the bitmap when outside
			word |= (dense[u>>6] >> (u & 63) & in) << uint(j)
		}
		out[w] = word
	}
}

// set is a set of constants: a slice while small, a map once it grows.
type set[T comparable] struct {
	list []T
	m    map[T]struct{}
}

func (s *set[T]) add(v T) {
	if s.m != nil {
		s.m[v] = struct{}{}
		return
	}
	for _, have := range s.list {
		if have == v {
			return
		}
	}
	s.list = append(s.list, v)
	if len(s.list) > linearMax {
		s.m = make(map[T]struct{}, len(s.list))
		for _, x := range s.list {
			s.m[x] = struct{}{}
		}
		s.list = nil
	}
}

// member sets bit i of out for each a[i] in the set.
func member[T comparable](s *set[T], a []T, out bitmap) {
	if s.m != nil {
		for i, x := range a {
			if _, ok := s.m[x]; ok {
				out.set(i)
			}
		}
		return
	}
	for i, x := range a {
		for _, y := range s.list {
			if x == y {
				out.set(i)
				break
			}
		}
	}
}

type inEval struct {
	x       evaluator
	k       kind
	not     bool
	hasNull bool
	i32     set[int32]
	i64     set[int64]
	f64     set[float64]
	dec     set[num]
	str     set[string]
	bools   [2]bool
	dense   bitmap // large integer sets of a narrow range, from denseLo
	denseLo int64
}

func (e *inEval) eval(c *evalCtx, sel bitmap) (*vec, error) {
	v, err := e.x.eval(c, sel)
	if err != nil {
		return nil, err
	}
	rows := v.n
	if v.konst {
		rows = 1
	}
	found := newBitmap(rows)
	switch {
	case e.dense != nil && (e.k == kInt32 || e.k == kDate):
		memberDense(e.denseLo, e.dense, v.i32[:rows], found)
	case e.dense != nil:
		memberDense(e.denseLo, e.dense, v.i64[:rows], found)
	}
	switch e.k {
	case kInt32, kDate:
		if e.dense == nil {
			member(&e.i32, v.i32[:rows], found)
		}
	case kInt64, kTimestamp, kInterval:
		if e.dense == nil {
			member(&e.i64, v.i64[:rows], found)
		}
	case kFloat64:
		member(&e.f64, v.f64[:rows], found)
	case kDecimal:
		member(&e.dec, v.dec[:rows], found)
	case kString:
		e.strings(v, rows, found)
	case kBool:
		for w, x := range v.bits {
			var f uint64
			if e.bools[1] {
				f |= x
			}
			if e.bools[0] {
				f |= ^x
			}
			found[w] = f
		}
	}
	out := &vec{n: v.n, konst: v.konst, valid: v.valid, bits: found}
	if e.hasNull {
		out.valid = andBitmaps(v.valid, found)
	}
	if e.not {
		out.bits = make(bitmap, len(found))
		for w, x := range found {
			out.bits[w] = ^x
		}
	}
	return out, nil
}

func (e *inEval) strings(v *vec, rows int, found bitmap) {
	offs, data := v.offs, v.data
	if e.str.m != nil {
		for i := 0; i < rows; i++ {
			if _, ok := e.str.m[string(data[offs[i]:offs[i+1]])]; ok {
				found.set(i)
			}
		}
		return
	}
	for i := 0; i < rows; i++ {
		s := data[offs[i]:offs[i+1]]
		for _, y := range e.str.list {
			if string(s) == y {
				found.set(i)
				break
			}
		}
	}
}
