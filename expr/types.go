package expr

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"

	"millrace/decimal"
	"millrace/schema"
)

// kind is the type of a value during compilation and evaluation.
type kind uint8

const (
	kNull      kind = iota // the type of a bare NULL; it takes the type of whatever it meets
	kBool                  // bool, stored as a bitmap
	kInt32                 // int32
	kInt64                 // int64
	kFloat64               // float64
	kDecimal               // decimal128(p, s)
	kString                // UTF-8 string
	kTimestamp             // milliseconds since the epoch, UTC, in an int64
	kDate                  // days since the epoch in an int32
	kInterval              // a duration in milliseconds, in an int64
)

// typ is a kind with, for decimals, its precision and scale.
type typ struct {
	k    kind
	p, s int32
}

var (
	tNull      = typ{k: kNull}
	tBool      = typ{k: kBool}
	tInt32     = typ{k: kInt32}
	tInt64     = typ{k: kInt64}
	tFloat64   = typ{k: kFloat64}
	tString    = typ{k: kString}
	tTimestamp = typ{k: kTimestamp}
	tDate      = typ{k: kDate}
	tInterval  = typ{k: kInterval}
)

func tDecimal(p, s int32) typ { return typ{k: kDecimal, p: p, s: s} }

// maxPrecision is the most decimal digits a decimal128 holds.
const maxPrecision = decimal.MaxPrecision

func (t typ) isInt() bool     { return t.k == kInt32 || t.k == kInt64 }
func (t typ) isNumeric() bool { return t.isInt() || t.k == kFloat64 || t.k == kDecimal }

// String names the type as pipeline specs write it: string, bool, int32, int64, float64,
// decimal(P,S), timestamp, date, interval.
func (t typ) String() string {
	switch t.k {
	case kNull:
		return "null"
	case kBool:
		return "bool"
	case kInt32:
		return "int32"
	case kInt64:
		return "int64"
	case kFloat64:
		return "float64"
	case kDecimal:
		return fmt.Sprintf("decimal(%d,%d)", t.p, t.s)
	case kString:
		return "string"
	case kTimestamp:
		return "timestamp"
	case kDate:
		return "date"
	case kInterval:
		return "interval"
	}
	return "?"
}

// arrowType returns the Arrow type values of t are stored as. Timestamps are milliseconds in
// UTC (schema.Timestamp); a bare NULL is arrow.Null.
func (t typ) arrowType() arrow.DataType {
	switch t.k {
	case kBool:
		return arrow.FixedWidthTypes.Boolean
	case kInt32:
		return arrow.PrimitiveTypes.Int32
	case kInt64:
		return arrow.PrimitiveTypes.Int64
	case kFloat64:
		return arrow.PrimitiveTypes.Float64
	case kDecimal:
		return &arrow.Decimal128Type{Precision: t.p, Scale: t.s}
	case kString:
		return arrow.BinaryTypes.String
	case kTimestamp:
		return schema.Timestamp
	case kDate:
		return arrow.FixedWidthTypes.Date32
	case kInterval:
		return arrow.FixedWidthTypes.Duration_ms
	}
	return arrow.Null
}

// typeOf maps an Arrow type to the type expressions see. Timestamps of any unit become
// millisecond timestamps, durations of any unit become intervals and dictionary-encoded
// strings become strings; their values are converted when the column is read.
func typeOf(dt arrow.DataType) (typ, bool) {
	switch dt := dt.(type) {
	case *arrow.BooleanType:
		return tBool, true
	case *arrow.Int32Type:
		return tInt32, true
	case *arrow.Int64Type:
		return tInt64, true
	case *arrow.Float64Type:
		return tFloat64, true
	case *arrow.Decimal128Type:
		return tDecimal(dt.Precision, dt.Scale), true
	case *arrow.StringType:
		return tString, true
	case *arrow.TimestampType:
		return tTimestamp, true
	case *arrow.Date32Type:
		return tDate, true
	case *arrow.DurationType:
		return tInterval, true
	case *arrow.NullType:
		return tNull, true
	case *arrow.DictionaryType:
		if _, ok := dt.ValueType.(*arrow.StringType); ok && arrow.IsInteger(dt.IndexType.ID()) {
			return tString, true
		}
	}
	return typ{}, false
}

// typeName names an Arrow type the way error messages and String write it.
func typeName(dt arrow.DataType) string {
	if t, ok := typeOf(dt); ok {
		return t.String()
	}
	return dt.String()
}

// asDecimal gives the decimal type an integer type widens to: int32 to decimal(10,0) and
// int64 to decimal(19,0). Decimals are returned as they are.
func asDecimal(t typ) typ {
	switch t.k {
	case kInt32:
		return tDecimal(10, 0)
	case kInt64:
		return tDecimal(19, 0)
	}
	return t
}

// unifyDecimal returns the decimal type that holds every value of a and b: the larger scale
// and the larger count of integer digits, at most 38 digits in all.
func unifyDecimal(a, b typ) typ {
	a, b = asDecimal(a), asDecimal(b)
	s := max(a.s, b.s)
	p := max(a.p-a.s, b.p-b.s) + s
	return tDecimal(min(p, maxPrecision), s)
}

// commonType returns the type two values are converted to before they are compared, or
// combined by CASE, COALESCE, IN and the like. Numbers widen int32 -> int64 -> decimal ->
// float64, a date widens to a timestamp, and NULL takes the other type.
func commonType(a, b typ) (typ, bool) {
	switch {
	case a.k == kNull:
		return b, true
	case b.k == kNull:
		return a, true
	case a == b:
		return a, true
	case a.isNumeric() && b.isNumeric():
		switch {
		case a.k == kFloat64 || b.k == kFloat64:
			return tFloat64, true
		case a.k == kDecimal || b.k == kDecimal:
			return unifyDecimal(a, b), true
		}
		return tInt64, true
	case (a.k == kDate && b.k == kTimestamp) || (a.k == kTimestamp && b.k == kDate):
		return tTimestamp, true
	}
	return typ{}, false
}
