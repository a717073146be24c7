package expr

import "fmt"

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
	return c.finish(&operand{ev: e, t: tBool, nullable: x.nullable || e.hasNull, node: n}, x)
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
	switch e.k {
	case kInt32, kDate:
		member(&e.i32, v.i32[:rows], found)
	case kInt64, kTimestamp, kInterval:
		member(&e.i64, v.i64[:rows], found)
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
