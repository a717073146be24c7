package format

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"millrace/civil"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	pqschema "github.com/apache/arrow-go/v18/parquet/schema"

	"millrace/schema"

	"millrace/tools/duckdb"
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
			want := sampleTransactions(t, mem, tc.rows)
			path := writeParquetFile(t, want, int64(tc.writeBatch), WriteOptions{RowGroupRows: int64(tc.groupRows)})

			pf := openParquetFile(t, path)
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

func TestParquetFooter(t *testing.T) {
	rec := sampleTransactions(t, memory.DefaultAllocator, 50)
	defer rec.Release()
	// The limits of decimal(18,2) must survive INT64 storage; the sample starts with them.
	limit, amounts := decimal128.GetMaxValue(18), rec.Column(schema.AmountCol).(*array.Decimal128)
	if amounts.Value(0) != limit || amounts.Value(1) != limit.Negate() {
		t.Fatalf("sample amounts start %s %s, want ±%s", amounts.Value(0).ToString(2), amounts.Value(1).ToString(2), limit.ToString(2))
	}
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
			pf := openParquetFile(t, path)
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

// TestParquetColumnsEncodedApartAsPqarrowWould checks the writer, which encodes the columns of
// a batch on goroutines of their own, against pqarrow's FileWriter, which encodes them one after
// another with the same properties: the same batches must give the same bytes, so the same row
// groups, pages, statistics and footer. The batches straddle row group boundaries.
func TestParquetColumnsEncodedApartAsPqarrowWould(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	every := everyColumnType(t, mem, 25_000)
	defer every.Release()
	tx := sampleTransactions(t, mem, 25_000)
	defer tx.Release()
	for _, tc := range []struct {
		name string
		rec  arrow.RecordBatch
		opts WriteOptions
	}{
		{"every type", every, WriteOptions{RowGroupRows: 10_000}},
		{"transactions", tx, WriteOptions{RowGroupRows: 7_000}},
		{"transactions snappy", tx, WriteOptions{RowGroupRows: 7_000, Compression: Snappy}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const batchRows = 3_000
			var got, want bytes.Buffer
			writeParquet(t, &got, tc.rec, batchRows, tc.opts)
			props, err := parquetProperties(tc.opts.withDefaults())
			if err != nil {
				t.Fatal(err)
			}
			fw, err := pqarrow.NewFileWriter(tc.rec.Schema(), &want, props, pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
			if err != nil {
				t.Fatal(err)
			}
			for off := int64(0); off < tc.rec.NumRows(); off += batchRows {
				part := tc.rec.NewSlice(off, min(off+batchRows, tc.rec.NumRows()))
				err := fw.WriteBuffered(part)
				part.Release()
				if err != nil {
					t.Fatal(err)
				}
			}
			if err := fw.Close(); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.Bytes(), want.Bytes()) {
				t.Fatalf("the writer's file (%d bytes) differs from pqarrow's (%d bytes)", got.Len(), want.Len())
			}
			pf, err := file.NewParquetReader(bytes.NewReader(got.Bytes()))
			if err != nil {
				t.Fatal(err)
			}
			groups := pf.NumRowGroups()
			if wantGroups := int((tc.rec.NumRows() + tc.opts.RowGroupRows - 1) / tc.opts.RowGroupRows); groups != wantGroups {
				t.Errorf("%d row groups, want %d", groups, wantGroups)
			}
		})
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

// TestParquetReadableByDuckDB asks DuckDB (tools/duckdb, a Node package) to read a file
// millrace wrote.
func TestParquetReadableByDuckDB(t *testing.T) {
	const n = 3000
	rec := sampleTransactions(t, memory.DefaultAllocator, n)
	defer rec.Release()
	path := writeParquetFile(t, rec, 512, WriteOptions{RowGroupRows: 1000})
	src := "read_parquet('" + strings.ReplaceAll(path, "'", "''") + "', file_row_number = true)"
	query := func(sql string) []map[string]any { // numbers as float64, as the checks below compare them
		rows := duckdb.Query(t, sql)
		for _, row := range rows {
			for k, v := range row {
				if n, ok := v.(json.Number); ok {
					row[k], _ = n.Float64()
				}
			}
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
	s := string(civil.AppendTimestamp(nil, ms)) // 2024-03-01T11:00:00.000Z
	s = strings.Replace(strings.TrimSuffix(s, "Z"), "T", " ", 1)
	s = strings.TrimSuffix(strings.TrimRight(s, "0"), ".")
	return s + "+00"
}
