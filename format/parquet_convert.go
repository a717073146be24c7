package format

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"millrace/civil"
	"millrace/decimal"
)

// parquetConvert converts one column of a batch, as read from a file, into the schema's type. It
// returns a new reference to an array of the same length. A value it cannot convert is reported
// to fl and its slot left null; the row is dropped from the batch afterwards.
type parquetConvert func(src arrow.Array, fl *rowFaults) (arrow.Array, error)

// rowFaults collects why rows of one batch are refused.
type rowFaults struct {
	mem     memory.Allocator
	rows    int
	col     string   // the column being converted
	reasons []string // per row, "" for a good row; nil while every row is good
}

// add refuses row, saying why in the terms of the current column: `amount: 1.234 has ...`.
func (f *rowFaults) add(row int, format string, args ...any) {
	if f.reasons == nil {
		f.reasons = make([]string, f.rows)
	}
	msg := f.col + ": " + fmt.Sprintf(format, args...)
	if f.reasons[row] != "" {
		msg = f.reasons[row] + "; " + msg
	}
	f.reasons[row] = msg
}

// convertFor returns the conversion of a file column of type from into field. Equal types pass
// through (checking for nulls in a required column and, for decimals, values wider than the
// precision). Otherwise the conversion goes value by value:
//
//   - to integers: from integers, decimals and floats whose value is a whole number in range,
//     and from strings;
//   - to float64: from floats, integers and decimals (rounded to the nearest float), strings;
//   - to decimal(P,S): from integers and decimals of any width, precision and scale when the
//     value is exact at scale S and fits P digits, from floats (their shortest decimal form)
//     and strings; nothing is ever rounded;
//   - to timestamps: from timestamps of any unit and zone (the instant is kept; digits below
//     the target unit are dropped toward the past), from dates (midnight UTC), and from strings
//     (RFC 3339 or epoch milliseconds);
//   - to date32: from date64 and strings (YYYY-MM-DD);
//   - to string: from strings, string views and binary that is valid UTF-8;
//   - to bool: from strings (true, false, 1, 0, t, f).
//
// Dictionary-encoded columns convert as their values do. Any other pair is an error.
func convertFor(field arrow.Field, from arrow.DataType) (parquetConvert, error) {
	to, required := field.Type, !field.Nullable
	if arrow.TypeEqual(from, to) {
		return func(src arrow.Array, fl *rowFaults) (arrow.Array, error) {
			if required && src.NullN() > 0 {
				for i := range src.Len() {
					if src.IsNull(i) {
						fl.add(i, "null in a required column")
					}
				}
			}
			if d, ok := src.(*array.Decimal128); ok {
				decimalInRange(d, fl)
			}
			src.Retain()
			return src, nil
		}, nil
	}
	if dt, ok := from.(*arrow.DictionaryType); ok {
		inner, err := convertFor(field, dt.ValueType)
		if err != nil {
			return nil, err
		}
		return func(src arrow.Array, fl *rowFaults) (arrow.Array, error) {
			d := src.(*array.Dictionary)
			dense, err := compute.TakeArray(compute.WithAllocator(context.Background(), fl.mem), d.Dictionary(), d.Indices())
			if err != nil {
				return nil, fmt.Errorf("decode dictionary: %w", err)
			}
			defer dense.Release()
			return inner(dense, fl)
		}, nil
	}
	conv := valueConverter(from, to)
	if conv == nil {
		return nil, fmt.Errorf("the file's %s cannot be read as %s", from, to)
	}
	return func(src arrow.Array, fl *rowFaults) (arrow.Array, error) {
		b := array.NewBuilder(fl.mem, to)
		defer b.Release()
		b.Reserve(src.Len())
		for i := range src.Len() {
			if src.IsNull(i) {
				if required {
					fl.add(i, "null in a required column")
				}
				b.AppendNull()
				continue
			}
			if why := conv(src, i, b); why != "" {
				fl.add(i, "%s", why)
				b.AppendNull()
			}
		}
		return b.NewArray(), nil
	}, nil
}

// decimalInRange reports the rows of a decimal128 array whose value needs more digits than the
// type's precision: pqarrow does not check that a file's values fit its declared precision.
func decimalInRange(a *array.Decimal128, fl *rowFaults) {
	t := a.DataType().(*arrow.Decimal128Type)
	if t.Precision >= 38 {
		return
	}
	hi := decimal128.GetMaxValue(t.Precision)
	lo := hi.Negate()
	vals := a.Values()
	for i, v := range vals {
		if (v.Greater(hi) || v.Less(lo)) && a.IsValid(i) {
			fl.add(i, "%s overflows %s", v.ToString(t.Scale), t)
		}
	}
}

// valueConv converts value i (not null) of src and appends it to b. It returns "" or, having
// appended nothing, why the value does not convert.
type valueConv func(src arrow.Array, i int, b array.Builder) string

// valueConverter returns the conversion of single values of type from to type to, or nil.
func valueConverter(from, to arrow.DataType) valueConv {
	exact, float, text := exactReader(from), floatReader(from), textReader(from)
	switch to := to.(type) {
	case *arrow.Int8Type, *arrow.Int16Type, *arrow.Int32Type, *arrow.Int64Type:
		return intConverter(to, exact, float, text)
	case *arrow.Float64Type:
		put := func(b array.Builder, v float64) { b.(*array.Float64Builder).Append(v) }
		switch {
		case float != nil:
			return func(a arrow.Array, i int, b array.Builder) string { put(b, float(a, i)); return "" }
		case exact != nil:
			return func(a arrow.Array, i int, b array.Builder) string {
				e := exact(a, i)
				if e.big == nil && e.scale == 0 {
					put(b, float64(e.v))
					return ""
				}
				v, err := strconv.ParseFloat(e.String(), 64)
				if err != nil {
					return fmt.Sprintf("%s is out of the range of %s", e, to)
				}
				put(b, v)
				return ""
			}
		case text != nil:
			return func(a arrow.Array, i int, b array.Builder) string {
				v, err := strconv.ParseFloat(strings.TrimSpace(text(a, i)), 64)
				if err != nil {
					return fmt.Sprintf("%q is not a number", text(a, i))
				}
				put(b, v)
				return ""
			}
		}
	case *arrow.Decimal128Type:
		return decimalConverter(to, exact, float, text)
	case *arrow.TimestampType:
		return timestampConverter(from, to, text)
	case *arrow.Date32Type:
		switch {
		case from.ID() == arrow.DATE64:
			return func(a arrow.Array, i int, b array.Builder) string {
				days := civil.FloorDiv(int64(a.(*array.Date64).Value(i)), 86_400_000)
				if days < math.MinInt32 || days > math.MaxInt32 {
					return fmt.Sprintf("%d days overflow date32", days)
				}
				b.(*array.Date32Builder).Append(arrow.Date32(days))
				return ""
			}
		case text != nil:
			return func(a arrow.Array, i int, b array.Builder) string {
				d, err := civil.ParseDate([]byte(strings.TrimSpace(text(a, i))))
				if err != nil {
					return err.Error()
				}
				b.(*array.Date32Builder).Append(arrow.Date32(d))
				return ""
			}
		}
	case *arrow.StringType:
		if text != nil {
			return func(a arrow.Array, i int, b array.Builder) string {
				s := text(a, i)
				if !utf8.ValidString(s) {
					return fmt.Sprintf("%q is not valid UTF-8", s)
				}
				b.(*array.StringBuilder).Append(s)
				return ""
			}
		}
	case *arrow.BooleanType:
		if text != nil {
			return func(a arrow.Array, i int, b array.Builder) string {
				v, err := strconv.ParseBool(strings.TrimSpace(text(a, i)))
				if err != nil {
					return fmt.Sprintf("%q is not a boolean", text(a, i))
				}
				b.(*array.BooleanBuilder).Append(v)
				return ""
			}
		}
	}
	return nil
}

// intConverter returns the conversion to the integer type to from whichever of the exact,
// float and text readers of the source type is set: whole numbers in range convert.
func intConverter(to arrow.DataType, exact func(arrow.Array, int) exactNumber, float func(arrow.Array, int) float64, text func(arrow.Array, int) string) valueConv {
	width := to.(arrow.FixedWidthDataType).BitWidth()
	lo, hi := int64(-1)<<(width-1), int64(1)<<(width-1)-1
	if width == 64 {
		lo, hi = math.MinInt64, math.MaxInt64
	}
	put := func(b array.Builder, v int64) {
		switch b := b.(type) {
		case *array.Int8Builder:
			b.Append(int8(v))
		case *array.Int16Builder:
			b.Append(int16(v))
		case *array.Int32Builder:
			b.Append(int32(v))
		case *array.Int64Builder:
			b.Append(v)
		}
	}
	switch {
	case exact != nil:
		return func(a arrow.Array, i int, b array.Builder) string {
			e := exact(a, i)
			w, ok := e.rescale(0)
			if !ok {
				return fmt.Sprintf("%s is not a whole number", e)
			}
			if w.big != nil || w.v < lo || w.v > hi {
				return fmt.Sprintf("%s overflows %s", e, to)
			}
			put(b, w.v)
			return ""
		}
	case float != nil:
		return func(a arrow.Array, i int, b array.Builder) string {
			v := float(a, i)
			if v != math.Trunc(v) {
				return fmt.Sprintf("%v is not a whole number", v)
			}
			// float64(hi) rounds up to 2^(width-1), which is already out of range.
			if v < float64(lo) || v >= float64(hi) {
				return fmt.Sprintf("%v overflows %s", v, to)
			}
			put(b, int64(v))
			return ""
		}
	case text != nil:
		return func(a arrow.Array, i int, b array.Builder) string {
			v, err := strconv.ParseInt(strings.TrimSpace(text(a, i)), 10, width)
			if err != nil {
				if errors.Is(err, strconv.ErrRange) {
					return fmt.Sprintf("%q overflows %s", text(a, i), to)
				}
				return fmt.Sprintf("%q is not an integer", text(a, i))
			}
			put(b, v)
			return ""
		}
	}
	return nil
}

// decimalConverter returns the conversion to the decimal type to from whichever of the exact,
// float and text readers of the source type is set. Values convert only exactly: nothing is
// rounded.
func decimalConverter(to *arrow.Decimal128Type, exact func(arrow.Array, int) exactNumber, float func(arrow.Array, int) float64, text func(arrow.Array, int) string) valueConv {
	put := func(b array.Builder, v decimal128.Num) { b.(*array.Decimal128Builder).Append(v) }
	parse := func(b array.Builder, s string) string {
		v, err := decimal.Parse(s, to.Precision, to.Scale, decimal.Exact)
		if err != nil {
			return err.Error()
		}
		put(b, v)
		return ""
	}
	switch {
	case exact != nil:
		return func(a arrow.Array, i int, b array.Builder) string {
			e := exact(a, i)
			w, ok := e.rescale(to.Scale)
			if !ok {
				return fmt.Sprintf("%s has more decimal places than %s holds", e, to)
			}
			if !w.fits(to.Precision) {
				return fmt.Sprintf("%s overflows %s", e, to)
			}
			put(b, w.decimal128())
			return ""
		}
	case float != nil:
		return func(a arrow.Array, i int, b array.Builder) string {
			v := float(a, i)
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Sprintf("%v is not a decimal", v)
			}
			return parse(b, strconv.FormatFloat(v, 'f', -1, 64))
		}
	case text != nil:
		return func(a arrow.Array, i int, b array.Builder) string {
			return parse(b, strings.TrimSpace(text(a, i)))
		}
	}
	return nil
}

// timestampConverter returns the conversion from timestamps, dates or, with text set, strings
// to the timestamp type to, or nil for any other source type.
func timestampConverter(from arrow.DataType, to *arrow.TimestampType, text func(arrow.Array, int) string) valueConv {
	put := func(b array.Builder, v int64, unit arrow.TimeUnit, what func() string) string {
		w, ok := convertTimeUnit(v, unit, to.Unit)
		if !ok {
			return fmt.Sprintf("%s overflows %s", what(), to)
		}
		b.(*array.TimestampBuilder).Append(arrow.Timestamp(w))
		return ""
	}
	switch from := from.(type) {
	case *arrow.TimestampType:
		// A timestamp with a zone holds the UTC instant; one without is read as UTC.
		return func(a arrow.Array, i int, b array.Builder) string {
			v := int64(a.(*array.Timestamp).Value(i))
			return put(b, v, from.Unit, func() string { return fmt.Sprintf("%d%s", v, from.Unit) })
		}
	case *arrow.Date32Type:
		return func(a arrow.Array, i int, b array.Builder) string {
			d := int64(a.(*array.Date32).Value(i))
			return put(b, d*86_400, arrow.Second, func() string { return fmt.Sprintf("date %d", d) })
		}
	case *arrow.Date64Type:
		return func(a arrow.Array, i int, b array.Builder) string {
			ms := int64(a.(*array.Date64).Value(i))
			return put(b, ms, arrow.Millisecond, func() string { return fmt.Sprintf("date %dms", ms) })
		}
	}
	if text == nil {
		return nil
	}
	return func(a arrow.Array, i int, b array.Builder) string {
		s := strings.TrimSpace(text(a, i))
		ms, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			if ms, err = civil.ParseRFC3339([]byte(s)); err != nil {
				return fmt.Sprintf("%q is neither an RFC 3339 timestamp nor epoch milliseconds", s)
			}
		}
		return put(b, ms, arrow.Millisecond, func() string { return strconv.Quote(s) })
	}
}

// convertTimeUnit converts a time in unit from to unit to, dropping digits below the new unit
// toward the past; ok is false on overflow.
func convertTimeUnit(v int64, from, to arrow.TimeUnit) (int64, bool) {
	if from == to {
		return v, true
	}
	// Units are 0 (s) to 3 (ns), each 1000 times the one before.
	if from > to {
		return civil.FloorDiv(v, exactPow10[3*(from-to)]), true
	}
	m := exactPow10[3*(to-from)]
	if v > math.MaxInt64/m || v < math.MinInt64/m {
		return 0, false
	}
	return v * m, true
}
