package expr

import "fmt"

// Boolean logic is SQL's three-valued logic, computed 64 rows at a time on bitmap words:
//
//	AND: FALSE if either side is FALSE, else NULL if either is NULL, else TRUE
//	OR:  TRUE if either side is TRUE, else NULL if either is NULL, else FALSE
//	NOT: NULL stays NULL
//
// The right side of AND is evaluated with the rows where the left side is FALSE deselected,
// and of OR with the rows where it is TRUE deselected, so an error in a row that cannot
// change the result (x <> 0 AND 1 % x ...) is not reported.

func (c *compiler) requireBool(x *operand, what string) (*operand, error) {
	switch x.t.k {
	case kBool:
		return x, nil
	case kNull:
		return nullOf(tBool, x.node), nil
	}
	return nil, fmt.Errorf("%s needs a bool, but %s is %s", what, x.node, x.t)
}

func (c *compiler) logic(op string, l, r *operand, n Node) (*operand, error) {
	l, err := c.requireBool(l, op)
	if err != nil {
		return nil, err
	}
	if r, err = c.requireBool(r, op); err != nil {
		return nil, err
	}
	out := &operand{ev: &logicEval{or: op == "OR", l: l.ev, r: r.ev}, t: tBool, nullable: anyNullable(l, r), node: n}
	return c.finish(out, l, r)
}

func (c *compiler) not(x *operand, n Node) (*operand, error) {
	x, err := c.requireBool(x, "NOT")
	if err != nil {
		return nil, err
	}
	return c.finish(&operand{ev: &notEval{x: x.ev}, t: tBool, nullable: x.nullable, node: n}, x)
}

func (c *compiler) isNull(n *IsNull) (*operand, error) {
	x, err := c.compile(n.X)
	if err != nil {
		return nil, err
	}
	return c.finish(&operand{ev: &isEval{x: x.ev, not: n.Not, what: isNullTest}, t: tBool, node: n}, x)
}

func (c *compiler) isBool(n *IsBool) (*operand, error) {
	x, err := c.compile(n.X)
	if err != nil {
		return nil, err
	}
	if x, err = c.requireBool(x, "IS TRUE / IS FALSE"); err != nil {
		return nil, err
	}
	what := isFalseTest
	if n.Value {
		what = isTrueTest
	}
	return c.finish(&operand{ev: &isEval{x: x.ev, not: n.Not, what: what}, t: tBool, node: n}, x)
}

// boolWords returns the value and validity words of a bool vec of n rows; validity is nil
// when every row is valid. Constants are expanded.
func boolWords(v *vec) (val, valid bitmap) {
	v = v.expand(tBool)
	return v.bits, v.valid
}

type logicEval struct {
	or   bool
	l, r evaluator
}

func (e *logicEval) eval(c *evalCtx, sel bitmap) (*vec, error) {
	lv, err := e.l.eval(c, sel)
	if err != nil {
		return nil, err
	}
	lb, lvalid := boolWords(lv)
	// Rows the left side decides do not matter on the right.
	rsel, owned := sel, false
	for w, x := range lb {
		valid := ^uint64(0)
		if lvalid != nil {
			valid = lvalid[w]
		}
		decided := valid &^ x // FALSE on the left of AND
		if e.or {
			decided = valid & x // TRUE on the left of OR
		}
		if decided == 0 {
			continue
		}
		if !owned {
			rsel, owned = onesBitmap(lv.n), true
			if sel != nil {
				copy(rsel, sel)
			}
		}
		rsel[w] &^= decided
	}
	rv, err := e.r.eval(c, rsel)
	if err != nil {
		return nil, err
	}
	rb, rvalid := boolWords(rv)
	out := &vec{n: lv.n, konst: lv.konst && rv.konst, bits: make(bitmap, len(lb))}
	if lvalid == nil && rvalid == nil {
		for w := range lb {
			if e.or {
				out.bits[w] = lb[w] | rb[w]
			} else {
				out.bits[w] = lb[w] & rb[w]
			}
		}
		return out, nil
	}
	out.valid = make(bitmap, len(lb))
	for w := range lb {
		lw, rw := ^uint64(0), ^uint64(0)
		if lvalid != nil {
			lw = lvalid[w]
		}
		if rvalid != nil {
			rw = rvalid[w]
		}
		if e.or {
			lt, rt := lw&lb[w], rw&rb[w]
			out.bits[w] = lt | rt
			out.valid[w] = lw&rw | lt | rt
		} else {
			out.bits[w] = lb[w] & rb[w]
			out.valid[w] = lw&rw | lw&^lb[w] | rw&^rb[w]
		}
	}
	return out, nil
}

type notEval struct{ x evaluator }

func (e *notEval) eval(c *evalCtx, sel bitmap) (*vec, error) {
	v, err := e.x.eval(c, sel)
	if err != nil {
		return nil, err
	}
	b, valid := boolWords(v)
	out := &vec{n: v.n, konst: v.konst, valid: valid, bits: make(bitmap, len(b))}
	for w, x := range b {
		out.bits[w] = ^x
	}
	return out, nil
}

type isTest uint8

const (
	isNullTest isTest = iota
	isTrueTest
	isFalseTest
)

// isEval computes IS [NOT] NULL, IS [NOT] TRUE and IS [NOT] FALSE, which are never NULL.
type isEval struct {
	x    evaluator
	not  bool
	what isTest
}

func (e *isEval) eval(c *evalCtx, sel bitmap) (*vec, error) {
	v, err := e.x.eval(c, sel)
	if err != nil {
		return nil, err
	}
	rows := v.n
	if v.konst {
		rows = 1
	}
	valid := v.valid
	if valid == nil {
		valid = onesBitmap(rows)
	}
	var vals bitmap
	if e.what != isNullTest {
		vals = v.bits
	}
	out := &vec{n: v.n, konst: v.konst, bits: make(bitmap, len(valid))}
	for w, ok := range valid {
		var x uint64
		switch e.what {
		case isNullTest:
			x = ^ok
		case isTrueTest:
			x = ok & vals[w]
		case isFalseTest:
			x = ok &^ vals[w]
		}
		if e.not {
			x = ^x
		}
		out.bits[w] = x
	}
	return out, nil
}
