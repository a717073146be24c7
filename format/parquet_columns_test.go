package format

import (
	"fmt"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"millrace/schema"
)

// TestParquetRoundTripTypes writes every column type the reader decodes itself (and a few it
// leaves to pqarrow), required and nullable, and reads them back unchanged. The unique strings
// are long enough to overflow the dictionary and span several pages per row group.
func TestParquetRoundTripTypes(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	want := everyColumnType(t, mem, 150_000)
	path := writeParquetFile(t, want, 10_000, WriteOptions{RowGroupRows: 100_000})
	got, dead := readParquetAll(t, path, want.Schema(), ReadOptions{Mem: mem})
	if len(dead) > 0 {
		t.Errorf("dead letters: %v", dead[0])
	}
	assertSameRows(t, got, want)
	got.Release()
	want.Release()
	mem.AssertSize(t, 0)
}

// everyColumnType is n rows of every column type the reader decodes itself (and a few it
// leaves to pqarrow), each column required and nullable (every third row null).
func everyColumnType(t *testing.T, mem memory.Allocator, n int) arrow.RecordBatch {
	t.Helper()
	type col struct {
		name string
		typ  arrow.DataType
	}
	cols := []col{
		{"string", arrow.BinaryTypes.String},
		{"binary", arrow.BinaryTypes.Binary},
		{"large_string", arrow.BinaryTypes.LargeString},
		{"int32", arrow.PrimitiveTypes.Int32},
		{"int64", arrow.PrimitiveTypes.Int64},
		{"int16", arrow.PrimitiveTypes.Int16},
		{"float32", arrow.PrimitiveTypes.Float32},
		{"float64", arrow.PrimitiveTypes.Float64},
		{"bool", arrow.FixedWidthTypes.Boolean},
		{"date32", arrow.FixedWidthTypes.Date32},
		{"ts_s", &arrow.TimestampType{Unit: arrow.Second}},
		{"ts_ms", schema.Timestamp},
		{"ts_us", &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}},
		{"ts_ns", &arrow.TimestampType{Unit: arrow.Nanosecond}},
		{"dec9", &arrow.Decimal128Type{Precision: 9, Scale: 2}},
		{"dec18", &arrow.Decimal128Type{Precision: 18, Scale: 4}},
		{"dec38", &arrow.Decimal128Type{Precision: 38, Scale: 10}},
	}
	var fields []arrow.Field
	for _, c := range cols {
		fields = append(fields, arrow.Field{Name: c.name, Type: c.typ}, arrow.Field{Name: c.name + "_null", Type: c.typ, Nullable: true})
	}
	s := arrow.NewSchema(fields, nil)
	b := array.NewRecordBuilder(mem, s)
	defer b.Release()
	for i := range n {
		for f := range s.NumFields() {
			fb := b.Field(f)
			if s.Field(f).Nullable && i%3 == 1 {
				fb.AppendNull()
				continue
			}
			v := int64(i*7919%100_003) - 50_000
			switch fb := fb.(type) {
			case *array.StringBuilder:
				fb.Append(fmt.Sprintf("value %08d ☕", i))
			case *array.BinaryBuilder:
				fb.Append([]byte{byte(i), 0, byte(i >> 8)})
			case *array.LargeStringBuilder:
				fb.Append(itoa(i % 10))
			case *array.Int32Builder:
				fb.Append(int32(v))
			case *array.Int64Builder:
				fb.Append(v << 20)
			case *array.Int16Builder:
				fb.Append(int16(v))
			case *array.Float32Builder:
				fb.Append(float32(v) / 3)
			case *array.Float64Builder:
				fb.Append(float64(v) / 7)
			case *array.BooleanBuilder:
				fb.Append(i%5 < 2)
			case *array.Date32Builder:
				fb.Append(arrow.Date32(v))
			case *array.TimestampBuilder:
				fb.Append(arrow.Timestamp(v * 1_000_003))
			case *array.Decimal128Builder:
				fb.Append(decimal128.FromI64(v * 1_003))
			default:
				t.Fatalf("no case for %T", fb)
			}
		}
	}
	return b.NewRecordBatch()
}
