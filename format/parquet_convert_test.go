package format

import (
	"bytes"
	"encoding/json"
	"math"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/decimal256"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	pqschema "github.com/apache/arrow-go/v18/parquet/schema"

	"millrace/schema"
)

// foreignSchema is how another tool might have written transactions: microsecond timestamps
// without a zone, a wider decimal, a 64-bit mcc, a dictionary-encoded currency, float32
// coordinates, no lon, and a column millrace does not know.
var foreignSchema = arrow.NewSchema([]arrow.Field{
	{Name: "tx_id", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "ts", Type: &arrow.TimestampType{Unit: arrow.Microsecond}},
	{Name: "extra", Type: arrow.PrimitiveTypes.Int32},
	{Name: "account_id", Type: arrow.BinaryTypes.LargeString},
	{Name: "card_id", Type: arrow.BinaryTypes.Binary},
	{Name: "merchant_id", Type: arrow.BinaryTypes.String},
	{Name: "mcc", Type: arrow.PrimitiveTypes.Int64},
	{Name: "amount", Type: &arrow.Decimal128Type{Precision: 20, Scale: 4}},
	{Name: "currency", Type: &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int8, ValueType: arrow.BinaryTypes.String}},
	{Name: "country", Type: arrow.BinaryTypes.String},
	{Name: "channel", Type: arrow.BinaryTypes.String},
	{Name: "lat", Type: arrow.PrimitiveTypes.Float32, Nullable: true},
	{Name: "is_fraud", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
}, nil)

type foreignRow struct {
	txID   *string
	tsUS   int64
	mcc    int64
	amount string // digits at scale 4
	lat    float32
}

func writeForeign(t *testing.T, rows []foreignRow) string {
	t.Helper()
	b := array.NewRecordBuilder(memory.DefaultAllocator, foreignSchema)
	defer b.Release()
	for i, r := range rows {
		if r.txID == nil {
			b.Field(0).AppendNull()
		} else {
			b.Field(0).(*array.StringBuilder).Append(*r.txID)
		}
		b.Field(1).(*array.TimestampBuilder).Append(arrow.Timestamp(r.tsUS))
		b.Field(2).(*array.Int32Builder).Append(int32(i))
		b.Field(3).(*array.LargeStringBuilder).Append("acc")
		b.Field(4).(*array.BinaryBuilder).Append([]byte("card"))
		b.Field(5).(*array.StringBuilder).Append("m")
		b.Field(6).(*array.Int64Builder).Append(r.mcc)
		n, ok := new(big.Int).SetString(r.amount, 10)
		if !ok {
			t.Fatalf("bad amount %q", r.amount)
		}
		b.Field(7).(*array.Decimal128Builder).Append(decimal128.FromBigInt(n))
		if err := b.Field(8).(*array.BinaryDictionaryBuilder).AppendString([]string{"EUR", "USD"}[i%2]); err != nil {
			t.Fatal(err)
		}
		b.Field(9).(*array.StringBuilder).Append("DE")
		b.Field(10).(*array.StringBuilder).Append("pos")
		b.Field(11).(*array.Float32Builder).Append(r.lat)
		b.Field(12).AppendNull()
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	path := filepath.Join(t.TempDir(), "foreign.parquet")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	props := parquet.NewWriterProperties(parquet.WithMaxRowGroupLength(3))
	if err := pqarrow.WriteTable(array.NewTableFromRecords(foreignSchema, []arrow.RecordBatch{rec}), f, 3, props,
		pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema())); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestParquetConvertsTypesAndRefusesRows(t *testing.T) {
	id := func(s string) *string { return &s }
	rows := []foreignRow{
		{txID: id("ok"), tsUS: 1_700_000_000_123_456, mcc: 5411, amount: "123400", lat: 47.5},
		{txID: id("three decimals"), tsUS: 0, mcc: 5411, amount: "12345"},
		{txID: nil, tsUS: 0, mcc: 5411, amount: "0"},
		{txID: id("before epoch"), tsUS: -1, mcc: -7, amount: "-99999999999999999900", lat: -1.25},
		{txID: id("mcc too big"), tsUS: 0, mcc: 3_000_000_000, amount: "10000"},
		{txID: id("two faults"), tsUS: 0, mcc: math.MinInt64, amount: "5"},
	}
	path := writeForeign(t, rows)
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	got, dead := readParquetAll(t, path, schema.Transaction(), ReadOptions{BatchRows: 2, Mem: mem})
	defer func() {
		got.Release()
		mem.AssertSize(t, 0)
	}()

	if int(got.NumRows())+len(dead) != len(rows) {
		t.Errorf("%d rows + %d dead letters, want %d records", got.NumRows(), len(dead), len(rows))
	}
	var ids []string
	for i := range int(got.NumRows()) {
		ids = append(ids, got.Column(schema.TxID).ValueStr(i))
	}
	if strings.Join(ids, ",") != "ok,before epoch" {
		t.Fatalf("rows %q, want ok and before epoch", ids)
	}
	ts := got.Column(schema.TS).(*array.Timestamp)
	if ts.Value(0) != 1_700_000_000_123 || ts.Value(1) != -1 {
		t.Errorf("ts %d %d, want 1700000000123 -1 (microseconds dropped toward the past)", ts.Value(0), ts.Value(1))
	}
	if !arrow.TypeEqual(ts.DataType(), schema.Timestamp) {
		t.Errorf("ts type %s", ts.DataType())
	}
	amount := got.Column(schema.AmountCol).(*array.Decimal128)
	if a, b := amount.Value(0), amount.Value(1); a != decimal128.FromI64(1234) || b != decimal128.FromI64(-999_999_999_999_999_999) {
		t.Errorf("amounts %s %s, want 12.34 -9999999999999999.99", a.ToString(2), b.ToString(2))
	}
	if mcc := got.Column(schema.MCC).(*array.Int32); mcc.Value(0) != 5411 || mcc.Value(1) != -7 {
		t.Errorf("mcc %v", mcc)
	}
	if cur := got.Column(schema.Currency).(*array.String); cur.Value(0) != "EUR" || cur.Value(1) != "USD" {
		t.Errorf("currency %v", cur)
	}
	if card := got.Column(schema.CardID).(*array.String); card.Value(0) != "card" {
		t.Errorf("card %v", card)
	}
	if lat := got.Column(schema.Lat).(*array.Float64); lat.Value(0) != 47.5 || lat.Value(1) != -1.25 {
		t.Errorf("lat %v", lat)
	}
	if n := got.Column(schema.Lon).NullN(); n != 2 {
		t.Errorf("lon has %d nulls, want 2 (not in the file)", n)
	}

	want := []struct {
		rowGroup int
		row      int64
		reason   string
	}{
		{0, 1, "amount: 1.2345 has more decimal places than decimal(18, 2) holds"},
		{0, 2, "tx_id: null in a required column"},
		{1, 1, "mcc: 3000000000 overflows int32"},
		{1, 2, "mcc: -9223372036854775808 overflows int32; amount: 0.0005 has more decimal places than decimal(18, 2) holds"},
	}
	if len(dead) != len(want) {
		t.Fatalf("dead letters %v, want %d", dead, len(want))
	}
	for i, w := range want {
		d := dead[i]
		if d.File != path || d.RowGroup != w.rowGroup || d.Row != w.row || d.Reason != w.reason || d.Line != 0 {
			t.Errorf("dead letter %d: %+v\nwant at %d/%d: %s", i, d, w.rowGroup, w.row, w.reason)
		}
		var raw map[string]any
		dec := json.NewDecoder(bytes.NewReader(d.Raw))
		dec.UseNumber()
		if err := dec.Decode(&raw); err != nil {
			t.Errorf("raw %s is not a JSON object: %v", d.Raw, err)
		}
		if _, ok := raw["extra"]; ok {
			t.Errorf("raw %s holds a column the schema does not read", d.Raw)
		}
		if _, ok := raw["lon"]; ok {
			t.Errorf("raw %s holds a column the file does not have", d.Raw)
		}
	}
	wantRaw := `{"tx_id":"three decimals","ts":"1970-01-01T00:00:00Z","account_id":"acc","card_id":"Y2FyZA==","merchant_id":"m","mcc":5411,"amount":1.2345,"currency":"USD","country":"DE","channel":"pos","lat":0,"is_fraud":null}`
	if string(dead[0].Raw) != wantRaw {
		t.Errorf("raw\n%s\nwant\n%s", dead[0].Raw, wantRaw)
	}
	if !strings.Contains(dead[0].Where(), "row group 0, row 1") {
		t.Errorf("where %q", dead[0].Where())
	}
}

// TestParquetDecimalWiderThanDeclared reads a file whose INT64 DECIMAL(18,2) column holds a
// value of 19 digits: the type matches, but the value does not fit it. pqarrow refuses to write
// such a file, so it is made with the column writer underneath.
func TestParquetDecimalWiderThanDeclared(t *testing.T) {
	amount, err := pqschema.NewPrimitiveNodeLogical("amount", parquet.Repetitions.Required,
		pqschema.NewDecimalLogicalType(18, 2), parquet.Types.Int64, -1, -1)
	if err != nil {
		t.Fatal(err)
	}
	root, err := pqschema.NewGroupNode("schema", parquet.Repetitions.Required, pqschema.FieldList{amount}, -1)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	w := file.NewParquetWriter(&buf, root)
	rg, err := w.AppendRowGroupChecked()
	if err != nil {
		t.Fatal(err)
	}
	cw, err := rg.NextColumn()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cw.(*file.Int64ColumnChunkWriter).WriteBatch([]int64{1, -1_000_000_000_000_000_000, 3}, nil, nil); err != nil {
		t.Fatal(err)
	}
	if err := cw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := rg.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "wide.parquet")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	s := arrow.NewSchema([]arrow.Field{{Name: "amount", Type: schema.Amount}}, nil)
	got, dead := readParquetAll(t, path, s, ReadOptions{})
	defer got.Release()
	if got.NumRows() != 2 || len(dead) != 1 || dead[0].Row != 1 || dead[0].Reason != "amount: -10000000000000000.00 overflows decimal(18, 2)" {
		t.Errorf("%d rows, dead letters %v", got.NumRows(), dead)
	}
}

func TestParquetConvertValues(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	build := func(dt arrow.DataType, vals ...any) arrow.Array {
		b := array.NewBuilder(mem, dt)
		defer b.Release()
		for _, v := range vals {
			if v == nil {
				b.AppendNull()
				continue
			}
			switch b := b.(type) {
			case *array.Int64Builder:
				b.Append(int64(v.(int)))
			case *array.Uint64Builder:
				b.Append(v.(uint64))
			case *array.Float64Builder:
				b.Append(v.(float64))
			case *array.StringBuilder:
				b.Append(v.(string))
			case *array.BinaryBuilder:
				b.Append([]byte(v.(string)))
			case *array.TimestampBuilder:
				b.Append(arrow.Timestamp(v.(int)))
			case *array.Date32Builder:
				b.Append(arrow.Date32(v.(int)))
			case *array.Decimal128Builder:
				n, _ := new(big.Int).SetString(v.(string), 10)
				b.Append(decimal128.FromBigInt(n))
			case *array.Decimal256Builder:
				n, _ := new(big.Int).SetString(v.(string), 10)
				b.Append(decimal256.FromBigInt(n))
			default:
				t.Fatalf("no case for %T", b)
			}
		}
		return b.NewArray()
	}
	dec := func(p, s int32) arrow.DataType { return &arrow.Decimal128Type{Precision: p, Scale: s} }
	ts := func(u arrow.TimeUnit) arrow.DataType { return &arrow.TimestampType{Unit: u} }
	i64, f64, str := arrow.PrimitiveTypes.Int64, arrow.PrimitiveTypes.Float64, arrow.BinaryTypes.String
	for _, tc := range []struct {
		name     string
		from, to arrow.DataType
		in       []any
		want     string // the converted values, ValueStr, refused ones as "!"
		reasons  []string
	}{
		{"int64 to int32", i64, arrow.PrimitiveTypes.Int32, []any{1, -2147483648, 2147483648, nil}, "1 -2147483648 ! (null)",
			[]string{"c: 2147483648 overflows int32"}},
		{"uint64 to int64", arrow.PrimitiveTypes.Uint64, i64, []any{uint64(7), uint64(math.MaxUint64)}, "7 !",
			[]string{"c: 18446744073709551615 overflows int64"}},
		{"int64 to decimal", i64, dec(4, 2), []any{12, 100}, "12.00 !", []string{"c: 100 overflows decimal(4, 2)"}},
		{"decimal rescale up", dec(20, 4), dec(38, 10), []any{"123456789012345678", "-5"}, "12345678901234.5678000000 -0.0005000000", nil},
		{"decimal rescale down", dec(38, 6), dec(18, 2), []any{"12340000", "12345678", "9999999999999999990000", "100000000000000000000000"},
			"12.34 ! 9999999999999999.99 !", []string{"c: 12.345678 has more decimal places than decimal(18, 2) holds",
				"c: 100000000000000000.000000 overflows decimal(18, 2)"}},
		{"decimal256", &arrow.Decimal256Type{Precision: 60, Scale: 0}, dec(38, 0),
			[]any{"12", "1000000000000000000000000000000000000000"}, "12 !",
			[]string{"c: 1000000000000000000000000000000000000000 overflows decimal(38, 0)"}},
		{"decimal to int", dec(10, 2), arrow.PrimitiveTypes.Int32, []any{"1200", "1250"}, "12 !", []string{"c: 12.50 is not a whole number"}},
		{"float to decimal", f64, dec(18, 2), []any{0.1, 1.005, math.Inf(1)}, "0.10 ! !", []string{
			`c: "1.005" has more than 2 decimal places`, "c: +Inf is not a decimal"}},
		{"float to int", f64, i64, []any{3.0, 3.5, 1e19}, "3 ! !", []string{"c: 3.5 is not a whole number", "c: 1e+19 overflows int64"}},
		{"decimal to float", dec(10, 3), f64, []any{"1234"}, "1.234", nil},
		{"string to decimal", str, dec(18, 2), []any{" 12.5 ", "abc"}, "12.50 !", []string{`c: "abc" is not a decimal`}},
		{"string to int", str, i64, []any{"42", "x"}, "42 !", []string{`c: "x" is not an integer`}},
		{"string to timestamp", str, schema.Timestamp, []any{"2024-03-01T12:00:00+01:00", "1700000000123", "yesterday"},
			"2024-03-01T11:00:00Z 2023-11-14T22:13:20.123Z !",
			[]string{`c: "yesterday" is neither an RFC 3339 timestamp nor epoch milliseconds`}},
		{"string to date", str, arrow.FixedWidthTypes.Date32, []any{"2024-02-29", "2023-02-29"}, "2024-02-29 !",
			[]string{`c: "2023-02-29" is not a date (want YYYY-MM-DD)`}},
		{"string to bool", str, arrow.FixedWidthTypes.Boolean, []any{"true", "0", "yes"}, "true false !", []string{`c: "yes" is not a boolean`}},
		{"binary to string", arrow.BinaryTypes.Binary, str, []any{"ok", "\xff"}, "ok !", []string{`c: "\xff" is not valid UTF-8`}},
		{"seconds to ms", ts(arrow.Second), schema.Timestamp, []any{1, math.MaxInt64 / 10}, "1970-01-01T00:00:01Z !",
			[]string{"c: 922337203685477580s overflows timestamp[ms, tz=UTC]"}},
		{"ns to ms floors", ts(arrow.Nanosecond), schema.Timestamp, []any{-1, 1_999_999}, "1969-12-31T23:59:59.999Z 1970-01-01T00:00:00.001Z", nil},
		{"date to timestamp", arrow.FixedWidthTypes.Date32, schema.Timestamp, []any{1}, "1970-01-02T00:00:00Z", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conv, err := convertFor(arrow.Field{Name: "c", Type: tc.to, Nullable: true}, tc.from)
			if err != nil {
				t.Fatal(err)
			}
			src := build(tc.from, tc.in...)
			defer src.Release()
			fl := rowFaults{mem: mem, rows: src.Len(), col: "c"}
			out, err := conv(src, &fl)
			if err != nil {
				t.Fatal(err)
			}
			defer out.Release()
			var got, reasons []string
			for i := range out.Len() {
				if fl.reasons != nil && fl.reasons[i] != "" {
					got = append(got, "!")
					reasons = append(reasons, fl.reasons[i])
					continue
				}
				switch a := out.(type) {
				case *array.Decimal128:
					got = append(got, a.Value(i).ToString(a.DataType().(*arrow.Decimal128Type).Scale))
				default:
					got = append(got, out.ValueStr(i))
				}
			}
			if strings.Join(got, " ") != tc.want {
				t.Errorf("values %q, want %q", strings.Join(got, " "), tc.want)
			}
			if strings.Join(reasons, "|") != strings.Join(tc.reasons, "|") {
				t.Errorf("reasons %q\nwant    %q", reasons, tc.reasons)
			}
		})
	}
}
