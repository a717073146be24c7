package expr

import (
	"fmt"
	"math"
	"millrace/civil"
	"millrace/decimal"
	"strconv"
	"strings"
)

// Casts. CAST(x AS t) and x::t convert between every pair of types except those that have no
// meaning (a timestamp to a number, a bool to a date). Conversions that lose digits round half
// away from zero (decimal to a smaller scale or to an integer, float to integer or decimal);
// a value that does not fit the target, or text that does not parse, is an error naming the
// row. Text is trimmed of spaces before parsing. Implicit conversions only widen: int32 to
// int64, integers to decimals, exact numbers to float64, a date to a timestamp, NULL to
// anything, and string constants to the timestamp, date or interval they are compared with.

// castable reports whether from converts to to, explicitly or, when implicit, silently.
func castable(from, to typ, konst, implicit bool) bool {
	f, t := from.k, to.k
	if f == t || f == kNull {
		return true
	}
	if implicit {
		switch {
		case f == kInt32 && t == kInt64,
			from.isInt() && t == kDecimal,
			(from.isInt() || f == kDecimal) && t == kFloat64,
			f == kDate && t == kTimestamp,
			f == kString && konst && (t == kTimestamp || t == kDate || t == kInterval):
			return true
		}
		return false
	}
	switch {
	case t == kString, f == kString:
		return true
	case from.isNumeric() && to.isNumeric():
		return true
	case (f == kBool && to.isInt()) || (from.isInt() && t == kBool):
		return true
	case (f == kDate && t == kTimestamp) || (f == kTimestamp && t == kDate):
		return true
	}
	return false
}

// cast converts x to type to; implicit conversions are restricted to widening ones.
func (c *compiler) cast(x *operand, to typ, n Node, implicit bool) (*operand, error) {
	if x.t == to {
		return x, nil
	}
	if x.t.k == kNull {
		return nullOf(to, n), nil
	}
	if !castable(x.t, to, x.konst != nil, implicit) {
		if implicit {
			return nil, fmt.Errorf("%s is %s, which does not convert to %s without a CAST", x.node, x.t, to)
		}
		return nil, fmt.Errorf("cannot cast %s to %s", x.t, to)
	}
	nullable := x.nullable
	op := &operand{ev: &castEval{from: x.t, to: to, x: x.ev, node: n}, t: to, nullable: nullable, node: n}
	return c.finish(op, x)
}

// castEval converts values from one type to another.
type castEval struct {
	from, to typ
	x        evaluator
	node     Node
}

func (e *castEval) eval(c *evalCtx, sel bitmap) (*vec, error) {
	v, err := e.x.eval(c, sel)
	if err != nil {
		return nil, err
	}
	rows := v.n
	if v.konst {
		rows = 1
	}
	out := &vec{n: v.n, konst: v.konst, valid: v.valid, scratch: true}
	bad := badRows{n: rows}
	if e.to.k == kString {
		e.toString(v, rows, out)
	} else if e.from.k == kString {
		e.fromString(v, rows, out, &bad)
	} else {
		e.convert(v, rows, out, &bad)
	}
	if i := bad.first(out.validity(), sel); i >= 0 {
		return nil, &EvalError{Expr: e.node.String(), Row: i, Msg: e.describe(v, i)}
	}
	return out, nil
}

// describe explains why row i failed to convert.
func (e *castEval) describe(v *vec, i int) string {
	if v.konst {
		i = 0
	}
	var text []byte
	switch e.from.k {
	case kString:
		return fmt.Sprintf("%q is not a valid %s", v.str(i), e.to)
	case kInt32:
		text = strconv.AppendInt(text, int64(v.i32[i]), 10)
	case kInt64:
		text = strconv.AppendInt(text, v.i64[i], 10)
	case kFloat64:
		text = strconv.AppendFloat(text, v.f64[i], 'g', -1, 64)
	case kDecimal:
		text = decimal.Append(text, v.dec[i], e.from.s)
	}
	return fmt.Sprintf("%s is out of range for %s", text, e.to)
}

// toString formats any value as text: decimals with all their digits, timestamps as
// RFC 3339 UTC with milliseconds, floats in the shortest form that reads back exactly.
func (e *castEval) toString(v *vec, rows int, out *vec) {
	out.offs = make([]int32, rows+1)
	data := make([]byte, 0, rows*8)
	for i := 0; i < rows; i++ {
		if !v.null(i) {
			switch e.from.k {
			case kBool:
				data = strconv.AppendBool(data, v.bits.get(i))
			case kInt32:
				data = strconv.AppendInt(data, int64(v.i32[i]), 10)
			case kInt64:
				data = strconv.AppendInt(data, v.i64[i], 10)
			case kFloat64:
				data = strconv.AppendFloat(data, v.f64[i], 'g', -1, 64)
			case kDecimal:
				data = decimal.Append(data, v.dec[i], e.from.s)
			case kTimestamp:
				data = civil.AppendTimestamp(data, v.i64[i])
			case kDate:
				data = civil.AppendDate(data, int64(v.i32[i]))
			case kInterval:
				data = appendInterval(data, v.i64[i])
			}
		}
		out.offs[i+1] = int32(len(data))
	}
	out.data = data
}

// fromString parses text into the target type.
func (e *castEval) fromString(v *vec, rows int, out *vec, bad *badRows) {
	switch e.to.k {
	case kBool:
		out.bits = newBitmap(rows)
	case kInt32, kDate:
		out.i32 = make([]int32, rows)
	case kInt64, kTimestamp, kInterval:
		out.i64 = make([]int64, rows)
	case kFloat64:
		out.f64 = make([]float64, rows)
	case kDecimal:
		out.dec = make([]num, rows)
	}
	for i := 0; i < rows; i++ {
		if v.null(i) {
			continue
		}
		s := trimSpace(v.str(i))
		ok := true
		switch e.to.k {
		case kBool:
			var b bool
			if b, ok = parseBool(s); b {
				out.bits.set(i)
			}
		case kInt32:
			var x int64
			x, ok = parseInt(s)
			ok = ok && x == int64(int32(x))
			out.i32[i] = int32(x)
		case kInt64:
			out.i64[i], ok = parseInt(s)
		case kFloat64:
			f, err := strconv.ParseFloat(string(s), 64)
			out.f64[i], ok = f, err == nil
		case kDecimal:
			d, err := decimal.Parse(s, e.to.p, e.to.s, decimal.HalfAwayFromZero)
			out.dec[i], ok = d, err == nil
		case kTimestamp:
			ts, err := civil.ParseTimestamp(s)
			out.i64[i], ok = ts, err == nil
		case kDate:
			d, err := civil.ParseDate(s)
			if err != nil && len(s) > 10 {
				ts, err2 := civil.ParseTimestamp(s)
				d, err = int32(civil.FloorDiv(ts, msPerDay)), err2
			}
			out.i32[i], ok = d, err == nil
		case kInterval:
			ms, err := parseInterval(string(s))
			out.i64[i], ok = ms, err == nil
		}
		if !ok {
			bad.mark(i)
		}
	}
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// parseInt parses an optionally signed decimal integer without allocating.
func parseInt(b []byte) (int64, bool) {
	neg := false
	if len(b) > 0 && (b[0] == '-' || b[0] == '+') {
		neg = b[0] == '-'
		b = b[1:]
	}
	if len(b) == 0 {
		return 0, false
	}
	var u uint64
	for _, c := range b {
		if !isDigit(c) || u > (math.MaxUint64-9)/10 {
			return 0, false
		}
		u = u*10 + uint64(c-'0')
	}
	if neg {
		if u > 1<<63 {
			return 0, false
		}
		return -int64(u), true
	}
	if u > math.MaxInt64 {
		return 0, false
	}
	return int64(u), true
}

// parseBool accepts true/false, t/f, yes/no, y/n, on/off and 1/0 in any case.
func parseBool(b []byte) (value, ok bool) {
	switch strings.ToLower(string(b)) {
	case "true", "t", "yes", "y", "on", "1":
		return true, true
	case "false", "f", "no", "n", "off", "0":
		return false, true
	}
	return false, false
}

// convert handles every cast between non-string types.
func (e *castEval) convert(v *vec, rows int, out *vec, bad *badRows) {
	from, to := e.from, e.to
	switch to.k {
	case kBool:
		out.bits = newBitmap(rows)
		for i := 0; i < rows; i++ {
			if (from.k == kInt32 && v.i32[i] != 0) || (from.k == kInt64 && v.i64[i] != 0) {
				out.bits.set(i)
			}
		}
	case kInt32, kInt64:
		wide := make([]int64, rows)
		e.toInt(v, rows, wide, bad)
		if to.k == kInt64 {
			out.i64 = wide
			break
		}
		out.i32 = make([]int32, rows)
		for i, x := range wide {
			if x != int64(int32(x)) {
				bad.mark(i)
			}
			out.i32[i] = int32(x)
		}
	case kFloat64:
		out.f64 = make([]float64, rows)
		switch from.k {
		case kInt32:
			for i, x := range v.i32[:rows] {
				out.f64[i] = float64(x)
			}
		case kInt64:
			for i, x := range v.i64[:rows] {
				out.f64[i] = float64(x)
			}
		case kDecimal:
			for i, x := range v.dec[:rows] {
				out.f64[i] = decimal.ToFloat(x, from.s)
			}
		}
	case kDecimal:
		out.dec = make([]num, rows)
		e.toDecimal(v, rows, out.dec, bad)
	case kTimestamp: // from date
		out.i64 = make([]int64, rows)
		for i, d := range v.i32[:rows] {
			out.i64[i] = int64(d) * msPerDay
		}
	case kDate: // from timestamp
		out.i32 = make([]int32, rows)
		for i, ts := range v.i64[:rows] {
			out.i32[i] = int32(civil.FloorDiv(ts, msPerDay))
		}
	}
}

// toInt converts numbers and bools to int64, rounding half away from zero. The source type
// is chosen once per batch.
func (e *castEval) toInt(v *vec, rows int, out []int64, bad *badRows) {
	switch e.from.k {
	case kBool:
		for i := range out[:rows] {
			out[i] = int64(b2u(v.bits.get(i)))
		}
	case kInt32:
		for i, x := range v.i32[:rows] {
			out[i] = int64(x)
		}
	case kInt64:
		copy(out[:rows], v.i64[:rows])
	case kFloat64:
		for i, x := range v.f64[:rows] {
			f := math.Round(x)
			if !(f >= math.MinInt64 && f < math.MaxInt64) {
				bad.mark(i)
				continue
			}
			out[i] = int64(f)
		}
	case kDecimal:
		for i, x := range v.dec[:rows] {
			r := decimal.Round(x, e.from.s)
			if r.HighBits() != int64(r.LowBits())>>63 {
				bad.mark(i)
				continue
			}
			out[i] = int64(r.LowBits())
		}
	}
}

// toDecimal converts numbers to decimal(p,s), checking that every value fits. The source
// type is chosen once per batch; integers of fewer digits than p-s fit without a check.
func (e *castEval) toDecimal(v *vec, rows int, out []num, bad *badRows) {
	p, s := e.to.p, e.to.s
	switch e.from.k {
	case kInt32:
		intsToDecimal(v.i32[:rows], p-s >= 10, p, s, out, bad)
	case kInt64:
		intsToDecimal(v.i64[:rows], p-s >= 19, p, s, out, bad)
	case kFloat64:
		for i, f := range v.f64[:rows] {
			d, ok := decimal.FromFloat(f, p, s)
			if !ok || !decimal.Fits(d, p) {
				bad.mark(i)
			}
			out[i] = d
		}
	case kDecimal:
		fs := e.from.s
		for i, x := range v.dec[:rows] {
			var d num
			ok := true
			if s >= fs {
				d, ok = decimal.MulPow10(x, s-fs)
			} else {
				d = decimal.Round(x, fs-s)
			}
			if !ok || !decimal.Fits(d, p) {
				bad.mark(i)
			}
			out[i] = d
		}
	}
}

// intsToDecimal converts integers to decimal(p,s); fit says that every value of their type
// fits, so that none is checked.
func intsToDecimal[T int32 | int64](xs []T, fit bool, p, s int32, out []num, bad *badRows) {
	for i, x := range xs {
		d, ok := decimal.MulPow10(numOf(int64(x)), s)
		if !ok || !fit && !decimal.Fits(d, p) {
			bad.mark(i)
		}
		out[i] = d
	}
}
