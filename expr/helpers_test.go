package expr

import (
	"fmt"
	"millrace/civil"
	"millrace/decimal"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"millrace/schema"
)

// col declares a column of a test batch: a name, a type name as schema.ParseType reads it,
// and the values, nil for NULL. Decimals, timestamps and dates are given as text.
type col struct {
	name string
	typ  string
	vals []any
}

// batch builds a record batch from columns; every column is nullable.
func batch(t testing.TB, cols ...col) arrow.RecordBatch {
	t.Helper()
	fields := make([]arrow.Field, len(cols))
	for i, c := range cols {
		dt, err := schema.ParseType(c.typ)
		if err != nil {
			t.Fatal(err)
		}
		fields[i] = arrow.Field{Name: c.name, Type: dt, Nullable: true}
	}
	b := array.NewRecordBuilder(memory.DefaultAllocator, arrow.NewSchema(fields, nil))
	defer b.Release()
	for i, c := range cols {
		for _, v := range c.vals {
			if err := appendValue(b.Field(i), v); err != nil {
				t.Fatalf("column %s: %v", c.name, err)
			}
		}
	}
	return b.NewRecordBatch()
}

func appendValue(fb array.Builder, v any) error {
	if v == nil {
		fb.AppendNull()
		return nil
	}
	switch fb := fb.(type) {
	case *array.StringBuilder:
		fb.Append(v.(string))
	case *array.BooleanBuilder:
		fb.Append(v.(bool))
	case *array.Int32Builder:
		fb.Append(int32(v.(int)))
	case *array.Int64Builder:
		fb.Append(int64(v.(int)))
	case *array.Float64Builder:
		fb.Append(v.(float64))
	case *array.Decimal128Builder:
		dt := fb.Type().(*arrow.Decimal128Type)
		n, err := decimal.Parse(v.(string), dt.Precision, dt.Scale, decimal.HalfAwayFromZero)
		if err != nil {
			return err
		}
		fb.Append(n)
	case *array.TimestampBuilder:
		ms, err := civil.ParseTimestamp(v.(string))
		if err != nil {
			return err
		}
		fb.Append(arrow.Timestamp(ms))
	case *array.Date32Builder:
		d, err := civil.ParseDate(v.(string))
		if err != nil {
			return err
		}
		fb.Append(arrow.Date32(d))
	default:
		return fmt.Errorf("no test builder for %T", fb)
	}
	return nil
}

// renderValue writes value i of a as text: NULL, exact decimals, RFC 3339 timestamps.
func renderValue(a arrow.Array, i int) string {
	if _, ok := a.(*array.Null); ok || a.IsNull(i) {
		return "NULL"
	}
	switch a := a.(type) {
	case *array.Boolean:
		return strconv.FormatBool(a.Value(i))
	case *array.Int32:
		return strconv.FormatInt(int64(a.Value(i)), 10)
	case *array.Int64:
		return strconv.FormatInt(a.Value(i), 10)
	case *array.Float64:
		return strconv.FormatFloat(a.Value(i), 'g', -1, 64)
	case *array.Decimal128:
		return string(decimal.Append(nil, a.Value(i), a.DataType().(*arrow.Decimal128Type).Scale))
	case *array.String:
		return a.Value(i)
	case *array.Timestamp:
		return string(civil.AppendTimestamp(nil, int64(a.Value(i))))
	case *array.Date32:
		return string(civil.AppendDate(nil, int64(a.Value(i))))
	case *array.Duration:
		return string(appendInterval(nil, int64(a.Value(i))))
	}
	return a.ValueStr(i)
}

// evalText compiles src against rec's schema, evaluates it and renders every row.
func evalText(t testing.TB, rec arrow.RecordBatch, src string) ([]string, error) {
	t.Helper()
	e, err := CompileString(src, rec.Schema())
	if err != nil {
		return nil, err
	}
	a, err := e.Eval(rec)
	if err != nil {
		return nil, err
	}
	defer a.Release()
	if a.Len() != int(rec.NumRows()) {
		t.Fatalf("%s: %d rows out of %d", src, a.Len(), rec.NumRows())
	}
	if !arrow.TypeEqual(a.DataType(), e.Type()) {
		t.Fatalf("%s: array type %s, Type() %s", src, a.DataType(), e.Type())
	}
	if !e.Nullable() && a.NullN() > 0 {
		t.Fatalf("%s: not nullable but returned %d NULLs", src, a.NullN())
	}
	out := make([]string, a.Len())
	for i := range out {
		out[i] = renderValue(a, i)
	}
	return out, nil
}

// oneRow is a batch of a single row with no columns of interest, for constant expressions.
func oneRow(t testing.TB) arrow.RecordBatch {
	return batch(t, col{"x", "int64", []any{1}})
}

// constText evaluates an expression without columns over one row.
func constText(t testing.TB, src string) (string, error) {
	t.Helper()
	rec := oneRow(t)
	defer rec.Release()
	out, err := evalText(t, rec, src)
	if err != nil {
		return "", err
	}
	return out[0], nil
}

// joined is a compact form for comparing result columns.
func joined(vals []string) string { return strings.Join(vals, " | ") }

// unitBatch builds a one-column batch "ts" of timestamps in the given unit (s, ms, us, ns).
func unitBatch(t testing.TB, unit string, vals []int64) arrow.RecordBatch {
	t.Helper()
	u := map[string]arrow.TimeUnit{"s": arrow.Second, "ms": arrow.Millisecond, "us": arrow.Microsecond, "ns": arrow.Nanosecond}[unit]
	dt := &arrow.TimestampType{Unit: u, TimeZone: "UTC"}
	b := array.NewTimestampBuilder(memory.DefaultAllocator, dt)
	defer b.Release()
	for _, v := range vals {
		b.Append(arrow.Timestamp(v))
	}
	a := b.NewArray()
	defer a.Release()
	return array.NewRecordBatch(arrow.NewSchema([]arrow.Field{{Name: "ts", Type: dt}}, nil), []arrow.Array{a}, int64(len(vals)))
}
