package format

import (
	"encoding/base64"
	"encoding/json"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
)

// exactPow10 holds the powers of ten an int64 holds.
var exactPow10 = [19]int64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12,
	1e13, 1e14, 1e15, 1e16, 1e17, 1e18}

// exactNumber is an integer or decimal value read exactly: v (or big, when the value does not
// fit an int64) times 10^-scale.
type exactNumber struct {
	v     int64
	big   *big.Int
	scale int32
}

// bigPow10 returns 10^n.
func bigPow10(n int32) *big.Int {
	return new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(n)), nil)
}

// bigInt returns the unscaled value as a new big.Int, which the caller may modify.
func (e exactNumber) bigInt() *big.Int {
	if e.big != nil {
		return new(big.Int).Set(e.big)
	}
	return big.NewInt(e.v)
}

// exactFromBig returns b times 10^-scale, as an int64 when it fits.
func exactFromBig(b *big.Int, scale int32) exactNumber {
	if b.IsInt64() {
		return exactNumber{v: b.Int64(), scale: scale}
	}
	return exactNumber{big: b, scale: scale}
}

// rescale returns the value at another scale; ok is false if that would drop non-zero digits.
func (e exactNumber) rescale(scale int32) (exactNumber, bool) {
	d := scale - e.scale
	switch {
	case d == 0:
		return e, true
	case e.big == nil && d > 0 && d < 19:
		if m := exactPow10[d]; e.v <= math.MaxInt64/m && e.v >= math.MinInt64/m {
			return exactNumber{v: e.v * m, scale: scale}, true
		}
	case e.big == nil && d < 0 && d > -19:
		m := exactPow10[-d]
		return exactNumber{v: e.v / m, scale: scale}, e.v%m == 0
	}
	b := e.bigInt()
	if d > 0 {
		return exactFromBig(b.Mul(b, bigPow10(d)), scale), true
	}
	q, r := b.QuoRem(b, bigPow10(-d), new(big.Int))
	return exactFromBig(q, scale), r.Sign() == 0
}

// fits reports whether the value has at most prec digits.
func (e exactNumber) fits(prec int32) bool {
	if e.big == nil {
		return prec >= 19 || (e.v > -exactPow10[prec] && e.v < exactPow10[prec])
	}
	return e.big.CmpAbs(bigPow10(prec)) < 0
}

// decimal128 returns the unscaled value as a decimal128; the caller checks that it fits.
func (e exactNumber) decimal128() decimal128.Num {
	if e.big == nil {
		return decimal128.FromI64(e.v)
	}
	return decimal128.FromBigInt(e.big)
}

// String writes the value with every digit: `-12.345`.
func (e exactNumber) String() string {
	var digits string
	if e.big != nil {
		digits = e.big.String()
	} else {
		digits = strconv.FormatInt(e.v, 10)
	}
	sign := ""
	if digits[0] == '-' {
		sign, digits = "-", digits[1:]
	}
	if e.scale <= 0 {
		return sign + digits + strings.Repeat("0", int(-e.scale))
	}
	if pad := int(e.scale) + 1 - len(digits); pad > 0 {
		digits = strings.Repeat("0", pad) + digits
	}
	cut := len(digits) - int(e.scale)
	return sign + digits[:cut] + "." + digits[cut:]
}

// exactReader returns a reader of the values of integer and decimal arrays of type t, or nil.
func exactReader(t arrow.DataType) func(a arrow.Array, i int) exactNumber {
	switch t := t.(type) {
	case *arrow.Int8Type:
		return func(a arrow.Array, i int) exactNumber { return exactNumber{v: int64(a.(*array.Int8).Value(i))} }
	case *arrow.Int16Type:
		return func(a arrow.Array, i int) exactNumber { return exactNumber{v: int64(a.(*array.Int16).Value(i))} }
	case *arrow.Int32Type:
		return func(a arrow.Array, i int) exactNumber { return exactNumber{v: int64(a.(*array.Int32).Value(i))} }
	case *arrow.Int64Type:
		return func(a arrow.Array, i int) exactNumber { return exactNumber{v: a.(*array.Int64).Value(i)} }
	case *arrow.Uint8Type:
		return func(a arrow.Array, i int) exactNumber { return exactNumber{v: int64(a.(*array.Uint8).Value(i))} }
	case *arrow.Uint16Type:
		return func(a arrow.Array, i int) exactNumber { return exactNumber{v: int64(a.(*array.Uint16).Value(i))} }
	case *arrow.Uint32Type:
		return func(a arrow.Array, i int) exactNumber { return exactNumber{v: int64(a.(*array.Uint32).Value(i))} }
	case *arrow.Uint64Type:
		return func(a arrow.Array, i int) exactNumber {
			return exactFromBig(new(big.Int).SetUint64(a.(*array.Uint64).Value(i)), 0)
		}
	case *arrow.Decimal32Type:
		return func(a arrow.Array, i int) exactNumber {
			return exactNumber{v: int64(a.(*array.Decimal32).Value(i)), scale: t.Scale}
		}
	case *arrow.Decimal64Type:
		return func(a arrow.Array, i int) exactNumber {
			return exactNumber{v: int64(a.(*array.Decimal64).Value(i)), scale: t.Scale}
		}
	case *arrow.Decimal128Type:
		return func(a arrow.Array, i int) exactNumber {
			n := a.(*array.Decimal128).Value(i)
			if hi, lo := n.HighBits(), n.LowBits(); hi == int64(lo)>>63 {
				return exactNumber{v: int64(lo), scale: t.Scale}
			}
			return exactFromBig(n.BigInt(), t.Scale)
		}
	case *arrow.Decimal256Type:
		return func(a arrow.Array, i int) exactNumber {
			return exactFromBig(a.(*array.Decimal256).Value(i).BigInt(), t.Scale)
		}
	}
	return nil
}

// floatReader returns a reader of the values of float arrays of type t, or nil.
func floatReader(t arrow.DataType) func(a arrow.Array, i int) float64 {
	switch t.ID() {
	case arrow.FLOAT16:
		return func(a arrow.Array, i int) float64 { return float64(a.(*array.Float16).Value(i).Float32()) }
	case arrow.FLOAT32:
		return func(a arrow.Array, i int) float64 { return float64(a.(*array.Float32).Value(i)) }
	case arrow.FLOAT64:
		return func(a arrow.Array, i int) float64 { return a.(*array.Float64).Value(i) }
	}
	return nil
}

// textReader returns a reader of the values of string and binary arrays of type t, or nil.
func textReader(t arrow.DataType) func(a arrow.Array, i int) string {
	switch t.ID() {
	case arrow.STRING:
		return func(a arrow.Array, i int) string { return a.(*array.String).Value(i) }
	case arrow.LARGE_STRING:
		return func(a arrow.Array, i int) string { return a.(*array.LargeString).Value(i) }
	case arrow.STRING_VIEW:
		return func(a arrow.Array, i int) string { return a.(*array.StringView).Value(i) }
	case arrow.BINARY:
		return func(a arrow.Array, i int) string { return string(a.(*array.Binary).Value(i)) }
	case arrow.LARGE_BINARY:
		return func(a arrow.Array, i int) string { return string(a.(*array.LargeBinary).Value(i)) }
	case arrow.BINARY_VIEW:
		return func(a arrow.Array, i int) string { return string(a.(*array.BinaryView).Value(i)) }
	}
	return nil
}

// appendRawJSON appends value i of a, as the file holds it, as a JSON value: numbers with every
// digit, timestamps as RFC 3339 UTC with the file's precision, binary as base64.
func appendRawJSON(dst []byte, a arrow.Array, i int) []byte {
	if a.IsNull(i) {
		return append(dst, "null"...)
	}
	if ex := exactReader(a.DataType()); ex != nil {
		return append(dst, ex(a, i).String()...)
	}
	if fl := floatReader(a.DataType()); fl != nil {
		v := fl(a, i)
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return appendJSONString(dst, nonFinite(v))
		}
		return strconv.AppendFloat(dst, v, 'g', -1, 64)
	}
	switch a := a.(type) {
	case *array.String, *array.LargeString, *array.StringView:
		return appendJSONString(dst, textReader(a.DataType())(a, i))
	case *array.Binary, *array.LargeBinary, *array.BinaryView:
		return appendJSONString(dst, base64.StdEncoding.EncodeToString([]byte(textReader(a.DataType())(a, i))))
	case *array.Boolean:
		return strconv.AppendBool(dst, a.Value(i))
	case *array.Timestamp:
		v := int64(a.Value(i))
		var t time.Time
		switch a.DataType().(*arrow.TimestampType).Unit {
		case arrow.Second:
			t = time.Unix(v, 0)
		case arrow.Millisecond:
			t = time.UnixMilli(v)
		case arrow.Microsecond:
			t = time.UnixMicro(v)
		default:
			t = time.Unix(0, v)
		}
		return appendJSONString(dst, t.UTC().Format("2006-01-02T15:04:05.999999999Z07:00"))
	case *array.Date32:
		return appendJSONString(dst, time.Unix(int64(a.Value(i))*86_400, 0).UTC().Format(time.DateOnly))
	case *array.Date64:
		return appendJSONString(dst, time.UnixMilli(int64(a.Value(i))).UTC().Format(time.DateOnly))
	case *array.Dictionary:
		return appendRawJSON(dst, a.Dictionary(), a.GetValueIndex(i))
	}
	if b, err := json.Marshal(a.GetOneForMarshal(i)); err == nil {
		return append(dst, b...)
	}
	return appendJSONString(dst, a.ValueStr(i))
}
