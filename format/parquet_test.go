package format

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/decimal256"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	pqschema "github.com/apache/arrow-go/v18/parquet/schema"

	"millrace/schema"
)

// writeParquetFile writes rec to a new file in a temp dir in batches of batchRows rows and
// returns its path.
func writeParquetFile(t testing.TB, rec arrow.RecordBatch, batchRows int64, opts WriteOptions) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "tx.parquet")
	var buf bytes.Buffer
	writeParquet(t, &buf, rec, batchRows, opts)
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func writeParquet(t testing.TB, w io.Writer, rec arrow.RecordBatch, batchRows int64, opts WriteOptions) {
	t.Helper()
	pw, err := NewParquetWriter(w, rec.Schema(), opts)
	if err != nil {
		t.Fatal(err)
	}
	for off := int64(0); off < rec.NumRows(); off += batchRows {
		part := rec.NewSlice(off, min(off+batchRows, rec.NumRows()))
		err := pw.Write(part)
		part.Release()
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := pw.Close(); err != nil {
		t.Fatal(err)
	}
}

// readParquetAll reads the whole file, checking batch sizes and positions on the way, and
// returns the rows as one batch (nil if none) and the dead letters.
func readParquetAll(t testing.TB, path string, s *arrow.Schema, opts ReadOptions) (arrow.RecordBatch, []DeadLetter) {
	t.Helper()
	r, err := OpenParquet(path, s, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := r.Close(); err != nil {
			t.Error(err)
		}
	}()
	mem := opts.withDefaults().Mem
	var batches []arrow.RecordBatch
	var dead []DeadLetter
	for {
		before := r.Position()
		rec, d, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		dead = append(dead, d...)
		if rec == nil {
			continue
		}
		if got, most := rec.NumRows(), int64(opts.withDefaults().BatchRows); got > most || got == 0 {
			t.Errorf("batch of %d rows, want 1 to %d", got, most)
		}
		after := r.Position()
		if before.File != path || after.File != path {
			t.Errorf("position file %q, want %q", after.File, path)
		}
		if !(after.RowGroup == before.RowGroup && after.Row > before.Row) && !(after.RowGroup > before.RowGroup && after.Row == 0) {
			t.Errorf("position went from %+v to %+v", before, after)
		}
		batches = append(batches, rec)
	}
	if _, _, err := r.Read(); err != io.EOF {
		t.Errorf("Read after the end: %v, want io.EOF", err)
	}
	if len(batches) == 0 {
		return nil, dead
	}
	defer func() {
		for _, b := range batches {
			b.Release()
		}
	}()
	cols := make([]arrow.Array, s.NumFields())
	for i := range cols {
		parts := make([]arrow.Array, len(batches))
		for j, b := range batches {
			parts[j] = b.Column(i)
		}
		c, err := array.Concatenate(parts, mem)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Release()
		cols[i] = c
	}
	return array.NewRecordBatch(s, cols, -1), dead
}

func assertSameRows(t *testing.T, got, want arrow.RecordBatch) {
	t.Helper()
	if got == nil {
		if want.NumRows() != 0 {
			t.Fatalf("read no rows, want %d", want.NumRows())
		}
		return
	}
	if !got.Schema().Equal(want.Schema()) {
		t.Fatalf("schema\n%s\nwant\n%s", got.Schema(), want.Schema())
	}
	if got.NumRows() != want.NumRows() {
		t.Fatalf("read %d rows, want %d", got.NumRows(), want.NumRows())
	}
	for i := range int(want.NumCols()) {
		if !array.Equal(got.Column(i), want.Column(i)) {
			for row := range int(want.NumRows()) {
				if g, w := got.Column(i).ValueStr(row), want.Column(i).ValueStr(row); g != w {
					t.Fatalf("column %s row %d: %s, want %s", want.Schema().Field(i).Name, row, g, w)
				}
			}
			t.Fatalf("column %s differs", want.Schema().Field(i).Name)
		}
	}
}

// withDecimalLimits returns rec with the amounts of its first two rows set to the largest and
// the smallest decimal(18,2), ±9999999999999999.99, and releases rec.
func withDecimalLimits(t testing.TB, mem memory.Allocator, rec arrow.RecordBatch) arrow.RecordBatch {
	t.Helper()
	defer rec.Release()
	b := array.NewDecimal128Builder(mem, schema.Amount)
	defer b.Release()
	old := rec.Column(schema.AmountCol).(*array.Decimal128)
	limit := decimal128.GetMaxValue(18)
	for i := range old.Len() {
		switch i {
		case 0:
			b.Append(limit)
		case 1:
			b.Append(limit.Negate())
		default:
			b.Append(old.Value(i))
		}
	}
	amount := b.NewArray()
	defer amount.Release()
	cols := append([]arrow.Array(nil), rec.Columns()...)
	cols[schema.AmountCol] = amount
	return array.NewRecordBatch(rec.Schema(), cols, rec.NumRows())
}

func TestParquetRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		rows, writeBatch, groupRows, readBatch int
	}{
		{rows: 0, writeBatch: 10, groupRows: 100, readBatch: 10},
		{rows: 1, writeBatch: 10, groupRows: 100, readBatch: 10},
		{rows: 7, writeBatch: 3, groupRows: 100, readBatch: 4},
		{rows: 100, writeBatch: 100, groupRows: 100, readBatch: 100},
		{rows: 1000, writeBatch: 37, groupRows: 100, readBatch: 30},
		{rows: 2500, writeBatch: 2500, groupRows: 1000, readBatch: 16384},
		{rows: 2500, writeBatch: 333, groupRows: 1000, readBatch: 999},
	} {
		name := fmt.Sprintf("rows=%d,write=%d,group=%d,read=%d", tc.rows, tc.writeBatch, tc.groupRows, tc.readBatch)
		t.Run(name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			want := withDecimalLimits(t, mem, sampleTransactions(t, mem, tc.rows))
			path := writeParquetFile(t, want, int64(tc.writeBatch), WriteOptions{RowGroupRows: int64(tc.groupRows)})

			pf, err := file.OpenParquetFile(path, false)
			if err != nil {
				t.Fatal(err)
			}
			wantGroups := (tc.rows + tc.groupRows - 1) / tc.groupRows
			if got := pf.NumRowGroups(); got != wantGroups {
				t.Errorf("%d row groups, want %d", got, wantGroups)
			}
			for g := range pf.NumRowGroups() {
				wantRows := int64(min(tc.groupRows, tc.rows-g*tc.groupRows))
				if got := pf.MetaData().RowGroup(g).NumRows(); got != wantRows {
					t.Errorf("row group %d has %d rows, want %d", g, got, wantRows)
				}
			}
			if err := pf.Close(); err != nil {
				t.Error(err)
			}

			got, dead := readParquetAll(t, path, schema.Transaction(), ReadOptions{BatchRows: tc.readBatch, Mem: mem})
			if len(dead) > 0 {
				t.Errorf("dead letters: %v", dead)
			}
			assertSameRows(t, got, want)
			if got != nil {
				got.Release()
			}
			want.Release()
			mem.AssertSize(t, 0)
		})
	}
}

func TestParquetPositionCountsRowGroupsAndRows(t *testing.T) {
	want := sampleTransactions(t, memory.DefaultAllocator, 25)
	defer want.Release()
	path := writeParquetFile(t, want, 25, WriteOptions{RowGroupRows: 10})
	r, err := OpenParquet(path, schema.Transaction(), ReadOptions{BatchRows: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var got []string
	for {
		p := r.Position()
		rec, _, err := r.Read()
		if err == io.EOF {
			got = append(got, fmt.Sprintf("%d/%d end", p.RowGroup, p.Row))
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%d/%d+%d", p.RowGroup, p.Row, rec.NumRows()))
		rec.Release()
	}
	want2 := "0/0+4 0/4+4 0/8+2 1/0+4 1/4+4 1/8+2 2/0+4 2/4+1 3/0 end"
	if strings.Join(got, " ") != want2 {
		t.Errorf("reads %s\nwant     %s", strings.Join(got, " "), want2)
	}
}

func TestParquetFooter(t *testing.T) {
	rec := withDecimalLimits(t, memory.DefaultAllocator, sampleTransactions(t, memory.DefaultAllocator, 50))
	defer rec.Release()
	for _, tc := range []struct {
		name string
		opt  Compression
		want compress.Compression
	}{
		{"default", "", compress.Codecs.Zstd},
		{"zstd", Zstd, compress.Codecs.Zstd},
		{"snappy", Snappy, compress.Codecs.Snappy},
		{"none", Uncompressed, compress.Codecs.Uncompressed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := writeParquetFile(t, rec, 50, WriteOptions{Compression: tc.opt})
			pf, err := file.OpenParquetFile(path, false)
			if err != nil {
				t.Fatal(err)
			}
			defer func() {
				if err := pf.Close(); err != nil {
					t.Error(err)
				}
			}()
			md := pf.MetaData()
			rg := md.RowGroup(0)
			for c := range md.NumColumns() {
				cc, err := rg.ColumnChunk(c)
				if err != nil {
					t.Fatal(err)
				}
				if cc.Compression() != tc.want {
					t.Errorf("column %s compressed with %s, want %s", cc.PathInSchema(), cc.Compression(), tc.want)
				}
				if tc.opt == "" && c == schema.Currency {
					dict := false
					for _, e := range cc.Encodings() {
						dict = dict || e == parquet.Encodings.RLEDict || e == parquet.Encodings.PlainDict
					}
					if !dict {
						t.Errorf("currency encodings %v, want dictionary encoding", cc.Encodings())
					}
				}
			}
			amount := md.Schema.Column(schema.AmountCol)
			dec, ok := amount.LogicalType().(interface {
				Precision() int32
				Scale() int32
			})
			if amount.PhysicalType() != parquet.Types.Int64 || !ok || dec.Precision() != 18 || dec.Scale() != 2 {
				t.Errorf("amount is %s %s, want INT64 DECIMAL(18,2)", amount.PhysicalType(), amount.LogicalType())
			}
			ts := md.Schema.Column(schema.TS)
			tsl, ok := ts.LogicalType().(interface {
				IsAdjustedToUTC() bool
				TimeUnit() pqschema.TimeUnitType
			})
			if ts.PhysicalType() != parquet.Types.Int64 || !ok || !tsl.IsAdjustedToUTC() || tsl.TimeUnit() != pqschema.TimeUnitMillis {
				t.Errorf("ts is %s %s, want INT64 TIMESTAMP(MILLIS, UTC)", ts.PhysicalType(), ts.LogicalType())
			}
			if got := md.GetCreatedBy(); got != parquet.DefaultCreatedBy {
				t.Errorf("created_by %q, want %q", got, parquet.DefaultCreatedBy)
			}
			if keys := md.KeyValueMetadata().Keys(); len(keys) != 1 || keys[0] != "ARROW:schema" {
				t.Errorf("footer metadata keys %v, want only ARROW:schema", keys)
			}
			fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
			if err != nil {
				t.Fatal(err)
			}
			s, err := fr.Schema()
			if err != nil {
				t.Fatal(err)
			}
			if got := s.Field(schema.TS).Type; !arrow.TypeEqual(got, schema.Timestamp) {
				t.Errorf("stored ts type %s, want %s", got, schema.Timestamp)
			}

			got, dead := readParquetAll(t, path, schema.Transaction(), ReadOptions{})
			defer got.Release()
			if len(dead) > 0 {
				t.Errorf("dead letters: %v", dead)
			}
			assertSameRows(t, got, rec)
		})
	}
}

func TestParquetDeterministic(t *testing.T) {
	rec := sampleTransactions(t, memory.DefaultAllocator, 3000)
	defer rec.Release()
	var a, b bytes.Buffer
	writeParquet(t, &a, rec, 700, WriteOptions{RowGroupRows: 1000})
	writeParquet(t, &b, rec, 700, WriteOptions{RowGroupRows: 1000})
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatalf("two writes of the same batches differ (%d and %d bytes)", a.Len(), b.Len())
	}
}

func TestParquetWriterRejectsOtherSchemaAndCodec(t *testing.T) {
	if _, err := NewParquetWriter(io.Discard, schema.Transaction(), WriteOptions{Compression: "lz5"}); err == nil || !strings.Contains(err.Error(), `"lz5"`) {
		t.Errorf("unknown codec: err %v", err)
	}
	w, err := NewParquetWriter(io.Discard, schema.Transaction(), WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	other := arrow.NewSchema([]arrow.Field{{Name: "x", Type: arrow.PrimitiveTypes.Int64}}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, other)
	defer b.Release()
	b.Field(0).(*array.Int64Builder).Append(1)
	rec := b.NewRecordBatch()
	defer rec.Release()
	if err := w.Write(rec); err == nil {
		t.Error("writing a batch of another schema succeeded")
	}
	if err := w.Close(); err != nil {
		t.Error(err)
	}
}

func TestParquetProjection(t *testing.T) {
	rec := sampleTransactions(t, memory.DefaultAllocator, 30)
	defer rec.Release()
	path := writeParquetFile(t, rec, 30, WriteOptions{})

	t.Run("subset in another order, missing nullable column", func(t *testing.T) {
		s := arrow.NewSchema([]arrow.Field{
			{Name: "amount", Type: schema.Amount},
			{Name: "note", Type: arrow.BinaryTypes.String, Nullable: true},
			{Name: "tx_id", Type: arrow.BinaryTypes.String},
		}, nil)
		got, dead := readParquetAll(t, path, s, ReadOptions{BatchRows: 8})
		defer got.Release()
		if len(dead) > 0 {
			t.Errorf("dead letters: %v", dead)
		}
		if !array.Equal(got.Column(0), rec.Column(schema.AmountCol)) || !array.Equal(got.Column(2), rec.Column(schema.TxID)) {
			t.Error("projected columns differ from the written ones")
		}
		if n := got.Column(1).NullN(); n != 30 {
			t.Errorf("missing nullable column has %d nulls, want 30", n)
		}
	})
	t.Run("missing required column", func(t *testing.T) {
		s := arrow.NewSchema([]arrow.Field{{Name: "tx_id", Type: arrow.BinaryTypes.String}, {Name: "amout", Type: schema.Amount}}, nil)
		_, err := OpenParquet(path, s, ReadOptions{})
		if err == nil {
			t.Fatal("open succeeded")
		}
		for _, want := range []string{fmt.Sprintf("open parquet %q", path), `column "amout"`, `"amount"`} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not say %s", err, want)
			}
		}
	})
	t.Run("type that does not convert", func(t *testing.T) {
		s := arrow.NewSchema([]arrow.Field{{Name: "ts", Type: arrow.FixedWidthTypes.Boolean}}, nil)
		_, err := OpenParquet(path, s, ReadOptions{})
		if err == nil || !strings.Contains(err.Error(), `column "ts"`) || !strings.Contains(err.Error(), path) {
			t.Errorf("err %v, want one naming the file and column ts", err)
		}
	})
}

func TestParquetOpenErrors(t *testing.T) {
	dir := t.TempDir()
	text := filepath.Join(dir, "tx.parquet")
	if err := os.WriteFile(text, []byte(`{"tx_id":"a"}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	rec := sampleTransactions(t, memory.DefaultAllocator, 10)
	defer rec.Release()
	var buf bytes.Buffer
	writeParquet(t, &buf, rec, 10, WriteOptions{})
	truncated := filepath.Join(dir, "truncated.parquet")
	if err := os.WriteFile(truncated, buf.Bytes()[:buf.Len()/2], 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ path, want string }{
		{filepath.Join(dir, "missing.parquet"), "no such file"},
		{text, "not a Parquet file"},
		{truncated, "not a complete Parquet file"},
	} {
		_, err := OpenParquet(tc.path, schema.Transaction(), ReadOptions{})
		if err == nil {
			t.Errorf("open %s succeeded", tc.path)
			continue
		}
		prefix := fmt.Sprintf("open parquet %q: ", tc.path)
		if !strings.HasPrefix(err.Error(), prefix) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("error %q, want %q... %q", err, prefix, tc.want)
		}
	}
}

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

// TestParquetReadableByDuckDB asks DuckDB (tools/duckdb, a Node package) to read a file
// millrace wrote. It needs node and `npm ci --prefix tools/duckdb`; without them it skips,
// except under CI=true, where it fails.
func TestParquetReadableByDuckDB(t *testing.T) {
	tool, err := filepath.Abs(filepath.Join("..", "tools", "duckdb"))
	if err != nil {
		t.Fatal(err)
	}
	node, err := exec.LookPath("node")
	missing := ""
	switch {
	case err != nil:
		missing = "node is not installed"
	case !dirExists(filepath.Join(tool, "node_modules", "@duckdb", "node-api")):
		missing = "tools/duckdb/node_modules is missing: run `npm ci --prefix tools/duckdb`"
	}
	if missing != "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s (CI=true: this test must run)", missing)
		}
		t.Skip(missing)
	}

	const n = 3000
	rec := withDecimalLimits(t, memory.DefaultAllocator, sampleTransactions(t, memory.DefaultAllocator, n))
	defer rec.Release()
	path := writeParquetFile(t, rec, 512, WriteOptions{RowGroupRows: 1000})
	src := "read_parquet('" + strings.ReplaceAll(path, "'", "''") + "', file_row_number = true)"
	query := func(sql string) []map[string]any {
		t.Helper()
		cmd := exec.Command(node, filepath.Join(tool, "query.mjs"), sql)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("duckdb %s: %v\n%s", sql, err, stderr.String())
		}
		var rows []map[string]any
		for line := range strings.Lines(string(out)) {
			var row map[string]any
			if err := json.Unmarshal([]byte(line), &row); err != nil {
				t.Fatalf("duckdb printed %q: %v", line, err)
			}
			rows = append(rows, row)
		}
		return rows
	}

	amount := rec.Column(schema.AmountCol).(*array.Decimal128)
	ts := rec.Column(schema.TS).(*array.Timestamp)
	sum := new(big.Int)
	minTS, maxTS := int64(math.MaxInt64), int64(math.MinInt64)
	for i := range n {
		sum.Add(sum, amount.Value(i).BigInt())
		minTS, maxTS = min(minTS, int64(ts.Value(i))), max(maxTS, int64(ts.Value(i)))
	}
	agg := query(`SELECT count(*) AS n, sum(amount)::VARCHAR AS sum, min(ts)::VARCHAR AS min_ts,
		max(ts)::VARCHAR AS max_ts, typeof(any_value(amount)) AS amount_type, typeof(any_value(ts)) AS ts_type,
		count(lat) AS lats, count(is_fraud) AS frauds, count(DISTINCT currency) AS currencies FROM ` + src)
	want := map[string]any{
		"n":           fmt.Sprint(n),
		"sum":         exactNumber{big: sum, scale: 2}.String(),
		"min_ts":      duckTimestamp(minTS),
		"max_ts":      duckTimestamp(maxTS),
		"amount_type": "DECIMAL(18,2)",
		"ts_type":     "TIMESTAMP WITH TIME ZONE",
		"lats":        fmt.Sprint(n - rec.Column(schema.Lat).NullN()),
		"frauds":      fmt.Sprint(n - rec.Column(schema.IsFraud).NullN()),
		"currencies":  "3",
	}
	if len(agg) != 1 {
		t.Fatalf("aggregate query gave %d rows", len(agg))
	}
	for k, w := range want {
		if g := agg[0][k]; g != w {
			t.Errorf("%s: duckdb says %v, want %v", k, g, w)
		}
	}

	picks := []int{0, 1, 2, 6, 1999}
	rows := query(`SELECT file_row_number AS row, tx_id, card_id, amount::VARCHAR AS amount, ts::VARCHAR AS ts,
		mcc, lat, lon, is_fraud FROM ` + src + ` WHERE file_row_number IN (0, 1, 2, 6, 1999) ORDER BY file_row_number`)
	if len(rows) != len(picks) {
		t.Fatalf("duckdb returned %d rows, want %d", len(rows), len(picks))
	}
	for j, i := range picks {
		orNull := func(col int, v any) any {
			if rec.Column(col).IsNull(i) {
				return nil
			}
			return v
		}
		want := map[string]any{
			"row":      fmt.Sprint(i),
			"tx_id":    rec.Column(schema.TxID).(*array.String).Value(i),
			"card_id":  rec.Column(schema.CardID).(*array.String).Value(i),
			"amount":   amount.Value(i).ToString(2),
			"ts":       duckTimestamp(int64(ts.Value(i))),
			"mcc":      float64(rec.Column(schema.MCC).(*array.Int32).Value(i)),
			"lat":      orNull(schema.Lat, rec.Column(schema.Lat).(*array.Float64).Value(i)),
			"lon":      orNull(schema.Lon, rec.Column(schema.Lon).(*array.Float64).Value(i)),
			"is_fraud": orNull(schema.IsFraud, rec.Column(schema.IsFraud).(*array.Boolean).Value(i)),
		}
		for k, w := range want {
			if g := rows[j][k]; g != w {
				t.Errorf("row %d %s: duckdb says %#v, want %#v", i, k, g, w)
			}
		}
	}
}

// duckTimestamp renders milliseconds since the epoch as DuckDB casts a TIMESTAMP WITH TIME ZONE
// to VARCHAR in UTC: fraction only when not zero, zone as +00.
func duckTimestamp(ms int64) string {
	s := string(appendTimestamp(nil, ms)) // 2024-03-01T11:00:00.000Z
	s = strings.Replace(strings.TrimSuffix(s, "Z"), "T", " ", 1)
	s = strings.TrimSuffix(strings.TrimRight(s, "0"), ".")
	return s + "+00"
}

func dirExists(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.IsDir()
}

func TestParquetWriteAfterErrorAndClose(t *testing.T) {
	rec := sampleTransactions(t, memory.DefaultAllocator, 5)
	defer rec.Release()
	w, err := NewParquetWriter(failingWriter{}, rec.Schema(), WriteOptions{RowGroupRows: 2})
	if err != nil {
		t.Fatal(err)
	}
	// Rows are buffered; the failure shows by Close at the latest, and stays.
	err = w.Write(rec)
	if err == nil {
		err = w.Close()
	}
	if err == nil || !errors.Is(err, errDiskFull) {
		t.Fatalf("err %v, want the sink's error", err)
	}
	if err := w.Close(); err == nil {
		t.Error("second Close forgot the error")
	}
}

var errDiskFull = errors.New("disk full")

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errDiskFull }

// TestParquetRoundTripTypes writes every column type the reader decodes itself (and a few it
// leaves to pqarrow), required and nullable, and reads them back unchanged. The unique strings
// are long enough to overflow the dictionary and span several pages per row group.
func TestParquetRoundTripTypes(t *testing.T) {
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
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	const n = 150_000
	b := array.NewRecordBuilder(mem, s)
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
	want := b.NewRecordBatch()
	b.Release()
	path := writeParquetFile(t, want, 10_000, WriteOptions{RowGroupRows: 100_000})
	got, dead := readParquetAll(t, path, s, ReadOptions{Mem: mem})
	if len(dead) > 0 {
		t.Errorf("dead letters: %v", dead[0])
	}
	assertSameRows(t, got, want)
	got.Release()
	want.Release()
	mem.AssertSize(t, 0)
}
