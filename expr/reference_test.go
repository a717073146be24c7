package expr

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"math/big"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// This file is a deliberately naive, row-at-a-time interpreter of the same SQL, written
// against math/big, regexp and the time package instead of the package's own helpers. The
// property tests evaluate expressions both ways over random batches and compare.
//
// Values: nil (NULL), bool, int64 (both integer types), float64, decV (exact decimal with its
// scale), string, tsV (ms since the epoch), dateV (days) and ivlV (ms).

type (
	decV struct {
		r *big.Rat
		s int32
	}
	tsV   int64
	dateV int64
	ivlV  int64
)

var errRefOverflow = errors.New("overflow")

type refRow struct {
	rec arrow.RecordBatch
	i   int
}

func ratOf(n int64) *big.Rat { return new(big.Rat).SetInt64(n) }

func (r refRow) column(name string) any {
	idx := r.rec.Schema().FieldIndices(name)
	a := r.rec.Column(idx[0])
	i := r.i
	if a.IsNull(i) {
		return nil
	}
	switch a := a.(type) {
	case *array.String:
		return a.Value(i)
	case *array.Int32:
		return int64(a.Value(i))
	case *array.Int64:
		return a.Value(i)
	case *array.Float64:
		return a.Value(i)
	case *array.Boolean:
		return a.Value(i)
	case *array.Decimal128:
		s := a.DataType().(*arrow.Decimal128Type).Scale
		return decV{new(big.Rat).SetFrac(a.Value(i).BigInt(), new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(s)), nil)), s}
	case *array.Timestamp:
		return tsV(a.Value(i))
	case *array.Date32:
		return dateV(a.Value(i))
	}
	panic(fmt.Sprintf("reference: column type %T", a))
}

func (r refRow) eval(n Node) (any, error) {
	switch n := n.(type) {
	case *Column:
		return r.column(n.Name), nil
	case *Literal:
		return refLiteral(n)
	case *Unary:
		x, err := r.eval(n.X)
		if err != nil || x == nil {
			return nil, err
		}
		switch n.Op {
		case "NOT":
			return !x.(bool), nil
		case "+":
			return x, nil
		}
		switch x := x.(type) {
		case int64:
			if x == math.MinInt64 {
				return nil, errRefOverflow
			}
			return -x, nil
		case float64:
			return -x, nil
		case decV:
			return decV{new(big.Rat).Neg(x.r), x.s}, nil
		case ivlV:
			return -x, nil
		}
	case *Binary:
		return r.binary(n)
	case *Call:
		return r.call(n)
	case *Case:
		return r.caseExpr(n)
	case *Cast:
		x, err := r.eval(n.X)
		if err != nil || x == nil {
			return nil, err
		}
		to, _ := typeOf(n.Type)
		return refCast(x, to)
	case *In:
		x, err := r.eval(n.X)
		if err != nil {
			return nil, err
		}
		var out any = false
		for _, it := range n.List {
			v, err := r.eval(it)
			if err != nil {
				return nil, err
			}
			eq := refCompare("=", x, v)
			if eq == true {
				out = true
				break
			}
			if eq == nil {
				out = nil
			}
		}
		if n.Not && out != nil {
			return !out.(bool), nil
		}
		return out, nil
	case *Between:
		x, err := r.eval(n.X)
		if err != nil {
			return nil, err
		}
		lo, err := r.eval(n.Lo)
		if err != nil {
			return nil, err
		}
		hi, err := r.eval(n.Hi)
		if err != nil {
			return nil, err
		}
		v := refAnd(refCompare(">=", x, lo), refCompare("<=", x, hi))
		if n.Not && v != nil {
			return !v.(bool), nil
		}
		return v, nil
	case *Like:
		x, err := r.eval(n.X)
		if err != nil {
			return nil, err
		}
		p, err := r.eval(n.Pattern)
		if err != nil || x == nil || p == nil {
			return nil, err
		}
		esc := `\`
		if n.Escape != nil {
			e, _ := r.eval(n.Escape)
			esc = e.(string)
		}
		m := likeRegexp(p.(string), esc, n.Insensitive).MatchString(x.(string))
		return m != n.Not, nil
	case *IsNull:
		x, err := r.eval(n.X)
		return (x == nil) != n.Not, err
	case *IsBool:
		x, err := r.eval(n.X)
		return (x == n.Value) != n.Not, err
	}
	return nil, fmt.Errorf("reference: cannot evaluate %s", n)
}

func refLiteral(n *Literal) (any, error) {
	switch n.Kind {
	case LitNull:
		return nil, nil
	case LitBool:
		return n.Value == "true", nil
	case LitString:
		return n.Value, nil
	case LitTimestamp:
		t, err := time.Parse(time.RFC3339Nano, n.Value)
		return tsV(t.UnixMilli()), err
	case LitDate:
		t, err := time.Parse(time.DateOnly, n.Value)
		return dateV(t.Unix() / 86400), err
	case LitInterval:
		var amount int64
		var unit string
		if _, err := fmt.Sscanf(n.Value, "%d %s", &amount, &unit); err != nil {
			return nil, err
		}
		d := map[string]time.Duration{"second": time.Second, "seconds": time.Second, "minute": time.Minute,
			"minutes": time.Minute, "hour": time.Hour, "hours": time.Hour, "day": 24 * time.Hour, "days": 24 * time.Hour}[unit]
		return ivlV(amount * d.Milliseconds()), nil
	}
	v := n.Value
	switch {
	case strings.ContainsAny(v, "eE"):
		return strconv.ParseFloat(v, 64)
	case strings.Contains(v, "."):
		r, _ := new(big.Rat).SetString(v)
		return decV{r, int32(len(v) - strings.Index(v, ".") - 1)}, nil
	}
	if x, err := strconv.ParseInt(v, 10, 64); err == nil {
		return x, nil
	}
	r, _ := new(big.Rat).SetString(v)
	return decV{r, 0}, nil
}

func refAnd(a, b any) any {
	if a == false || b == false {
		return false
	}
	if a == nil || b == nil {
		return nil
	}
	return true
}

func (r refRow) binary(n *Binary) (any, error) {
	l, err := r.eval(n.L)
	if err != nil {
		return nil, err
	}
	switch n.Op {
	case "AND", "OR":
		stop := n.Op == "OR" // the value of l that decides the result
		if l == stop {
			return stop, nil
		}
		rv, err := r.eval(n.R)
		if err != nil {
			return nil, err
		}
		if rv == stop {
			return stop, nil
		}
		if l == nil || rv == nil {
			return nil, nil
		}
		return !stop, nil
	}
	rv, err := r.eval(n.R)
	if err != nil {
		return nil, err
	}
	switch n.Op {
	case "=", "<>", "<", "<=", ">", ">=":
		return refCompare(n.Op, l, rv), nil
	case "||":
		if l == nil || rv == nil {
			return nil, nil
		}
		return refString(l) + refString(rv), nil
	}
	if l == nil || rv == nil {
		return nil, nil
	}
	return refArith(n.Op, l, rv)
}

// refNumber returns a number as a float64 when either side is a float, else as a rational.
func asRat(v any) (*big.Rat, int32) {
	switch v := v.(type) {
	case int64:
		return ratOf(v), 0
	case decV:
		return v.r, v.s
	}
	panic(fmt.Sprintf("reference: %T is not exact", v))
}

func asFloat(v any) float64 {
	switch v := v.(type) {
	case float64:
		return v
	case int64:
		return float64(v)
	case decV:
		f, _ := v.r.Float64()
		return f
	}
	panic(fmt.Sprintf("reference: %T is not a number", v))
}

func isFloat(v any) bool { _, ok := v.(float64); return ok }

func refArith(op string, l, r any) (any, error) {
	if _, ok := r.(dateV); ok && op == "+" {
		if _, ok := l.(int64); ok {
			l, r = r, l
		}
	}
	switch l := l.(type) {
	case tsV:
		switch r := r.(type) {
		case ivlV:
			if op == "+" {
				return l + tsV(r), nil
			}
			return l - tsV(r), nil
		case tsV:
			return ivlV(l - r), nil
		case dateV:
			return ivlV(int64(l) - int64(r)*msPerDay), nil
		}
	case dateV:
		switch r := r.(type) {
		case int64:
			if op == "+" {
				return l + dateV(r), nil
			}
			return l - dateV(r), nil
		case dateV:
			return int64(l - r), nil
		case ivlV:
			return refArith(op, tsV(int64(l)*msPerDay), r)
		}
	case ivlV:
		switch r := r.(type) {
		case ivlV:
			if op == "+" {
				return l + r, nil
			}
			return l - r, nil
		case int64:
			return l * ivlV(r), nil
		case tsV:
			return r + tsV(l), nil
		}
	}
	if op == "/" {
		d := asFloat(r)
		if d == 0 {
			return nil, nil
		}
		return asFloat(l) / d, nil
	}
	if isFloat(l) || isFloat(r) {
		a, b := asFloat(l), asFloat(r)
		switch op {
		case "+":
			return a + b, nil
		case "-":
			return a - b, nil
		case "*":
			return a * b, nil
		case "%":
			if b == 0 {
				return nil, nil
			}
			return math.Mod(a, b), nil
		}
	}
	a, as := asRat(l)
	b, bs := asRat(r)
	var out *big.Rat
	s := max(as, bs)
	switch op {
	case "+":
		out = new(big.Rat).Add(a, b)
	case "-":
		out = new(big.Rat).Sub(a, b)
	case "*":
		out = new(big.Rat).Mul(a, b)
		s = as + bs
	case "%":
		if b.Sign() == 0 {
			return nil, nil
		}
		q := new(big.Int).Quo(new(big.Int).Mul(a.Num(), b.Denom()), new(big.Int).Mul(a.Denom(), b.Num()))
		out = new(big.Rat).Sub(a, new(big.Rat).Mul(b, new(big.Rat).SetInt(q)))
	}
	_, lint := l.(int64)
	_, rint := r.(int64)
	if lint && rint {
		if !out.IsInt() || !out.Num().IsInt64() {
			return nil, errRefOverflow
		}
		return out.Num().Int64(), nil
	}
	return decV{out, s}, nil
}

// refCompare compares with SQL semantics: NULL when either side is.
func refCompare(op string, a, b any) any {
	if a == nil || b == nil {
		return nil
	}
	// A string compared with a timestamp or date is read as one.
	if s, ok := a.(string); ok {
		a = refTemporal(s, b)
	}
	if s, ok := b.(string); ok {
		b = refTemporal(s, a)
	}
	if d, ok := a.(dateV); ok {
		if _, ok := b.(tsV); ok {
			a = tsV(int64(d) * msPerDay)
		}
	}
	if d, ok := b.(dateV); ok {
		if _, ok := a.(tsV); ok {
			b = tsV(int64(d) * msPerDay)
		}
	}
	var c int
	switch x := a.(type) {
	case string:
		c = strings.Compare(x, b.(string))
	case bool:
		c = cmp.Compare(b2u(x), b2u(b.(bool)))
	case tsV:
		c = cmp.Compare(x, b.(tsV))
	case dateV:
		c = cmp.Compare(x, b.(dateV))
	case ivlV:
		c = cmp.Compare(x, b.(ivlV))
	default:
		if isFloat(a) || isFloat(b) {
			x, y := asFloat(a), asFloat(b)
			switch op {
			case "=":
				return x == y
			case "<>":
				return x != y
			case "<":
				return x < y
			case "<=":
				return x <= y
			case ">":
				return x > y
			}
			return x >= y
		}
		ra, _ := asRat(a)
		rb, _ := asRat(b)
		c = ra.Cmp(rb)
	}
	switch op {
	case "=":
		return c == 0
	case "<>":
		return c != 0
	case "<":
		return c < 0
	case "<=":
		return c <= 0
	case ">":
		return c > 0
	}
	return c >= 0
}

func refTemporal(s string, other any) any {
	switch other.(type) {
	case tsV:
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			panic(err)
		}
		return tsV(t.UnixMilli())
	case dateV:
		t, err := time.Parse(time.DateOnly, s)
		if err != nil {
			panic(err)
		}
		return dateV(t.Unix() / 86400)
	}
	return s
}

// refString formats a value as CAST(x AS string) does.
func refString(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case bool:
		return strconv.FormatBool(v)
	case int64:
		return strconv.FormatInt(v, 10)
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64)
	case decV:
		return v.r.FloatString(int(v.s))
	case tsV:
		return time.UnixMilli(int64(v)).UTC().Format("2006-01-02T15:04:05.000Z")
	case dateV:
		return time.Unix(int64(v)*86400, 0).UTC().Format(time.DateOnly)
	}
	panic(fmt.Sprintf("reference: cannot format %T", v))
}

// likeRegexp translates a LIKE pattern into an anchored regular expression.
func likeRegexp(p, esc string, ci bool) *regexp.Regexp {
	var b strings.Builder
	b.WriteString("(?s)")
	if ci {
		b.WriteString("(?i)")
	}
	b.WriteString("^")
	rs := []rune(p)
	for i := 0; i < len(rs); i++ {
		c := string(rs[i])
		switch {
		case esc != "" && c == esc && i+1 < len(rs):
			i++
			b.WriteString(regexp.QuoteMeta(string(rs[i])))
		case c == "%":
			b.WriteString(".*")
		case c == "_":
			b.WriteString(".")
		default:
			b.WriteString(regexp.QuoteMeta(c))
		}
	}
	b.WriteString("$")
	return regexp.MustCompile(b.String())
}

func (r refRow) caseExpr(n *Case) (any, error) {
	var subject any
	if n.Operand != nil {
		var err error
		if subject, err = r.eval(n.Operand); err != nil {
			return nil, err
		}
	}
	for _, w := range n.Whens {
		c, err := r.eval(w.Cond)
		if err != nil {
			return nil, err
		}
		if n.Operand != nil {
			c = refCompare("=", subject, c)
		}
		if c == true {
			return r.eval(w.Result)
		}
	}
	if n.Else != nil {
		return r.eval(n.Else)
	}
	return nil, nil
}

// conform converts a reference value to the representation of the output type t, applying
// the implicit widening the compiled expression did, for comparison with actualValue.
func conform(v any, t typ) any {
	if v == nil {
		return nil
	}
	switch t.k {
	case kFloat64:
		return asFloat(v)
	case kDecimal:
		r, _ := asRat(v)
		return r
	case kTimestamp:
		return asTs(v)
	}
	return v
}

// actualValue reads row i of an array as the reference represents the output type.
func actualValue(a arrow.Array, i int) any {
	if _, ok := a.(*array.Null); ok || a.IsNull(i) {
		return nil
	}
	switch a := a.(type) {
	case *array.Decimal128:
		s := a.DataType().(*arrow.Decimal128Type).Scale
		return new(big.Rat).SetFrac(a.Value(i).BigInt(), new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(s)), nil))
	case *array.Timestamp:
		return tsV(a.Value(i))
	case *array.Date32:
		return dateV(a.Value(i))
	case *array.Duration:
		return ivlV(a.Value(i))
	case *array.Int32:
		return int64(a.Value(i))
	case *array.Int64:
		return a.Value(i)
	case *array.Float64:
		return a.Value(i)
	case *array.Boolean:
		return a.Value(i)
	case *array.String:
		return a.Value(i)
	}
	panic(fmt.Sprintf("actualValue: %T", a))
}

// sameValue compares an actual output value with a conformed reference value.
func sameValue(got, want any) bool {
	switch w := want.(type) {
	case nil:
		return got == nil
	case float64:
		g, ok := got.(float64)
		return ok && (g == w || (math.IsNaN(g) && math.IsNaN(w)))
	case *big.Rat:
		g, ok := got.(*big.Rat)
		return ok && g.Cmp(w) == 0
	}
	return got == want
}
