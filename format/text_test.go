package format

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"millrace/schema"
	"millrace/vfs"
)

// readAll drains r into one batch (nil if no rows) and its dead letters.
func readAll(t testing.TB, r Reader) (arrow.RecordBatch, []DeadLetter) {
	t.Helper()
	var recs []arrow.RecordBatch
	var dead []DeadLetter
	err := drain(r, func(rec arrow.RecordBatch, d []DeadLetter) error {
		if rec != nil {
			rec.Retain()
			recs = append(recs, rec)
		}
		dead = append(dead, d...)
		return nil
	})
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	if err := r.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	if len(recs) == 0 {
		return nil, dead
	}
	out := concat(t, recs)
	for _, r := range recs {
		r.Release()
	}
	return out, dead
}

func concat(t testing.TB, recs []arrow.RecordBatch) arrow.RecordBatch {
	t.Helper()
	s := recs[0].Schema()
	cols := make([]arrow.Array, s.NumFields())
	var n int64
	for _, r := range recs {
		n += r.NumRows()
	}
	for i := range cols {
		parts := make([]arrow.Array, len(recs))
		for k, r := range recs {
			parts[k] = r.Column(i)
		}
		c, err := array.Concatenate(parts, memory.DefaultAllocator)
		if err != nil {
			t.Fatal(err)
		}
		cols[i] = c
	}
	return array.NewRecordBatch(s, cols, n)
}

func assertEqualBatches(t *testing.T, want, got arrow.RecordBatch) {
	t.Helper()
	if got == nil {
		t.Fatalf("got no rows, want %d", want.NumRows())
	}
	if want.NumRows() != got.NumRows() {
		t.Fatalf("got %d rows, want %d", got.NumRows(), want.NumRows())
	}
	for i := range want.Columns() {
		if !array.Equal(want.Column(i), got.Column(i)) {
			for row := 0; row < int(want.NumRows()); row++ {
				w, g := want.Column(i).ValueStr(row), got.Column(i).ValueStr(row)
				if w != g {
					t.Fatalf("column %s row %d: got %q want %q", want.Schema().Field(i).Name, row, g, w)
				}
			}
			t.Fatalf("column %s differs", want.Schema().Field(i).Name)
		}
	}
}

func TestTextRoundTrip(t *testing.T) {
	for _, kind := range []Kind{JSONL, CSV} {
		for _, n := range []int{1, 7, 100, 1000} {
			want := sampleTransactions(t, memory.DefaultAllocator, n)
			var buf bytes.Buffer
			w, err := NewWriter(&buf, kind, want.Schema(), WriteOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if err := w.Write(want); err != nil {
				t.Fatal(err)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			var r Reader
			opts := ReadOptions{BatchRows: 33}
			if kind == JSONL {
				r, err = NewJSONLReader(&buf, "mem", want.Schema(), opts)
			} else {
				r, err = NewCSVReader(&buf, "mem", want.Schema(), opts)
			}
			if err != nil {
				t.Fatal(err)
			}
			got, dead := readAll(t, r)
			if len(dead) > 0 {
				t.Fatalf("%s n=%d: dead letters: %v", kind, n, dead[0])
			}
			assertEqualBatches(t, want, got)
			want.Release()
			got.Release()
		}
	}
}

func TestCreateAndOpenCompressed(t *testing.T) {
	dir := t.TempDir()
	want := sampleTransactions(t, memory.DefaultAllocator, 500)
	defer want.Release()
	for _, name := range []string{"tx.jsonl", "tx.jsonl.gz", "tx.csv.zst", "sub/tx.ndjson.zst", "tx.csv.gz"} {
		path := filepath.Join(dir, name)
		w, err := Create(vfs.OSFS{}, path, "", want.Schema(), WriteOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Write(want); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(path); !os.IsNotExist(err) {
			t.Fatalf("%s visible before Close", name)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		r, err := Open(path, "", want.Schema(), ReadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		got, dead := readAll(t, r)
		if len(dead) > 0 {
			t.Fatalf("%s: %v", name, dead[0])
		}
		assertEqualBatches(t, want, got)
		got.Release()
	}
	leftovers, _ := filepath.Glob(filepath.Join(dir, ".*tmp*"))
	if len(leftovers) > 0 {
		t.Fatalf("temporary files left: %v", leftovers)
	}
}

func TestGlobAndOpenAll(t *testing.T) {
	dir := t.TempDir()
	want := sampleTransactions(t, memory.DefaultAllocator, 30)
	defer want.Release()
	for _, name := range []string{"a/2024-01/x.jsonl", "a/2024-02/y.csv.gz", "a/2024-02/z.jsonl", "a/notes.txt", "a/.hidden/w.jsonl"} {
		path := filepath.Join(dir, name)
		if strings.HasSuffix(name, ".txt") {
			if err := os.WriteFile(path, []byte("not data"), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		w, err := Create(vfs.OSFS{}, path, "", want.Schema(), WriteOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Write(want); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	cases := map[string]int{
		"a":                 3,
		"a/**/*.jsonl":      2,
		"a/*/*":             3,
		"a/2024-0[2]/*":     2,
		"a/2024-01/x.jsonl": 1,
	}
	for pattern, n := range cases {
		files, err := Glob(filepath.Join(dir, pattern))
		if err != nil {
			t.Fatalf("%s: %v", pattern, err)
		}
		if len(files) != n {
			t.Errorf("Glob(%s) = %v, want %d files", pattern, files, n)
		}
	}
	if _, err := Glob(filepath.Join(dir, "a/*.parquet")); err == nil || !strings.Contains(err.Error(), "no files match") {
		t.Errorf("empty glob: %v", err)
	}
	r, err := OpenAll(filepath.Join(dir, "a"), "", want.Schema(), ReadOptions{BatchRows: 16})
	if err != nil {
		t.Fatal(err)
	}
	got, dead := readAll(t, r)
	if len(dead) != 0 || got.NumRows() != 90 {
		t.Fatalf("OpenAll read %d rows, %d dead", got.NumRows(), len(dead))
	}
	got.Release()
}

// decodeJSONL decodes text as JSONL of schema s.
func decodeJSONL(t *testing.T, s *arrow.Schema, text string) (arrow.RecordBatch, []DeadLetter) {
	t.Helper()
	r, err := NewJSONLReader(strings.NewReader(text), "in.jsonl", s, ReadOptions{BatchRows: 4})
	if err != nil {
		t.Fatal(err)
	}
	return readAll(t, r)
}

var testSchema = arrow.NewSchema([]arrow.Field{
	{Name: "id", Type: arrow.BinaryTypes.String},
	{Name: "ts", Type: schema.Timestamp, Nullable: true},
	{Name: "n", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
	{Name: "amount", Type: schema.Amount, Nullable: true},
	{Name: "ok", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
	{Name: "x", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	{Name: "d", Type: arrow.FixedWidthTypes.Date32, Nullable: true},
}, nil)

func TestJSONLValues(t *testing.T) {
	text := strings.Join([]string{
		`{"id":"a","ts":"2024-03-01T12:00:00+01:00","n":5,"amount":12.5,"ok":true,"x":1.5,"d":"2024-02-29"}`,
		`{"amount":"-0.01","id":"b\u00e9\ud83d\ude00\n","ts":1709290800000,"extra":{"deep":[1,{"a":null}]},"n":"7"}`,
		`  {"id":"c","ts":null,"n":null,"amount":null,"ok":null,"x":"NaN"}  `,
		``,
		`{"id":""}`,
	}, "\n")
	got, dead := decodeJSONL(t, testSchema, text)
	if len(dead) != 0 {
		t.Fatalf("dead letters: %v", dead)
	}
	want := []string{
		`a|2024-03-01T11:00:00Z|5|12.5|true|1.5|2024-02-29`,
		"bé😀\n|2024-03-01T11:00:00Z|7|-0.01|(null)|(null)|(null)",
		`c|(null)|(null)|(null)|(null)|NaN|(null)`,
		`|(null)|(null)|(null)|(null)|(null)|(null)`,
	}
	if int(got.NumRows()) != len(want) {
		t.Fatalf("%d rows", got.NumRows())
	}
	for row, w := range want {
		var vals []string
		for _, c := range got.Columns() {
			vals = append(vals, c.ValueStr(row))
		}
		if g := strings.Join(vals, "|"); g != w {
			t.Errorf("row %d: %q, want %q", row, g, w)
		}
	}
}

func TestJSONLDeadLetters(t *testing.T) {
	cases := map[string]string{
		`{"id":"a","amount":"12,50 EUR"}`:          `amount: "12,50 EUR" is not a decimal`,
		`{"id":"a","amount":12.345}`:               `amount: "12.345" has more than 2 decimal places`,
		`{"id":"a","amount":99999999999999999999}`: `amount: "99999999999999999999" overflows decimal(18,2)`,
		`{"id":"a","ts":"2024-13-45T25:00:00Z"}`:   `ts: "2024-13-45T25:00:00Z" is not a timestamp (want YYYY-MM-DDTHH:MM:SS[.fff] then Z, ±HH:MM or nothing): no such date`,
		`{"id":"a","ts":"yesterday"}`:              `ts: "yesterday" is not a timestamp (want YYYY-MM-DDTHH:MM:SS[.fff] then Z, ±HH:MM or nothing)`,
		`{"n":1}`:                                  `id: missing`,
		`{"id":null}`:                              `id: null in a required column`,
		`{"id":"a","n":"abc"}`:                     `n: "abc" is not an integer`,
		`{"id":"a","n":3000000000}`:                `n: "3000000000" overflows int32`,
		`{"id":"a","n":1.5}`:                       `n: "1.5" is not an integer`,
		`{"id":"a","ok":"maybe"}`:                  `ok: "maybe" is not a boolean`,
		`{"id":"a","ok":1}`:                        `ok: expected a boolean, found number 1`,
		`{"id":7,"n":true}`:                        `n: expected an integer, found true`,
		`{"id":"a","n":{"v":1}}`:                   `n: expected an integer, found an object`,
		`{"id":"a","amount":12.5`:                  `expected , or } after a value, found the end of the line`,
		`{"id":"a","amo`:                           `unterminated string`,
		"{\"id\":\"a\xff\"}":                       `id: invalid UTF-8`,
		`not json at all`:                          `not a JSON object`,
		`[1,2]`:                                    `not a JSON object`,
		`{"id":"a"} trailing`:                      `text after the object`,
		`{"id":"a","id":"b"}`:                      `id: key appears twice`,
		`{"id":"a",}`:                              `expected a key in quotes`,
		`{"id":"a" "n":1}`:                         `expected , or }`,
		`{"id":"a","n":01}`:                        `n: "01" is not a JSON number`,
		`{"id":"a\q"}`:                             `id: bad escape \q`,
		"{\"id\":\"tab\there\"}":                   `id: control character`,
		`{"id":"a","x":1e999}`:                     `x: "1e999" is not a number`,
		`{"id":"a","extra":[1,2}`:                  `expected , or }`,
	}
	var lines []string
	for line := range cases {
		lines = append(lines, line)
	}
	got, dead := decodeJSONL(t, testSchema, "\n"+strings.Join(lines, "\n")+"\n")
	if got != nil {
		t.Fatalf("%d rows decoded from bad lines", got.NumRows())
	}
	if len(dead) != len(lines) {
		t.Fatalf("%d dead letters for %d lines", len(dead), len(lines))
	}
	for i, d := range dead {
		want := cases[string(d.Raw)]
		if !strings.Contains(d.Reason, want) {
			t.Errorf("%s: reason %q, want %q", d.Raw, d.Reason, want)
		}
		if d.File != "in.jsonl" || d.Line != int64(i+2) {
			t.Errorf("%s: at %s, want in.jsonl:%d", d.Raw, d.Where(), i+2)
		}
	}
}

func TestJSONLPositionsAndLongLines(t *testing.T) {
	long := `{"id":"` + strings.Repeat("x", 3000) + `"}`
	text := "{\"id\":\"a\"}\r\n\n" + long + "\n{\"id\":\"b\"}"
	r, err := NewJSONLReader(strings.NewReader(text), "in.jsonl", testSchema, ReadOptions{MaxRecordBytes: 1000})
	if err != nil {
		t.Fatal(err)
	}
	got, dead := readAll(t, r)
	if got.NumRows() != 2 || len(dead) != 1 {
		t.Fatalf("rows %d dead %d", got.NumRows(), len(dead))
	}
	d := dead[0]
	if d.Line != 3 || d.Offset != int64(len("{\"id\":\"a\"}\r\n\n")) || len(d.Raw) != 1000 || !strings.Contains(d.Reason, "longer than 1000 bytes") {
		t.Fatalf("dead letter %+v", d.String())
	}
}

func decodeCSV(t *testing.T, text string) (arrow.RecordBatch, []DeadLetter) {
	t.Helper()
	r, err := NewCSVReader(strings.NewReader(text), "in.csv", testSchema, ReadOptions{BatchRows: 3})
	if err != nil {
		t.Fatal(err)
	}
	return readAll(t, r)
}

func TestCSVValuesAndQuoting(t *testing.T) {
	text := "\xef\xbb\xbfid,unknown,amount,ts\r\n" +
		"a,zz,12.5,2024-03-01T12:00:00Z\r\n" +
		"\"multi\nline, \"\"quoted\"\"\",,\"-3\",1709290800000\n" +
		"\"\",,,\n" +
		"\n" +
		"last,,0.10,"
	got, dead := decodeCSV(t, text)
	if len(dead) != 0 {
		t.Fatalf("dead: %v", dead)
	}
	want := []string{"a|12.5", "multi\nline, \"quoted\"|-3", "|(null)", "last|0.1"}
	for row, w := range want {
		if g := got.Column(0).ValueStr(row) + "|" + got.Column(3).ValueStr(row); g != w {
			t.Errorf("row %d: %q want %q", row, g, w)
		}
	}
	if got.Column(1).ValueStr(1) != "2024-03-01T11:00:00Z" {
		t.Errorf("epoch ms ts: %s", got.Column(1).ValueStr(1))
	}
}

func TestCSVDeadLetters(t *testing.T) {
	text := strings.Join([]string{
		"id,amount,n",
		"a,\"12,50 EUR\",1", // 2
		"b,1.00",            // 3: too few fields
		"\"c,1.00,2",        // 4: quote never closed
		"d,2.00,3",          // 5: good, must survive the line above
		"e,x\"y,4",          // 6: bare quote
		",1.00,5",           // 7: null id
		"f,1.00,abc",        // 8
		"g,1.00,6",          // 9: good
		"\"h\"x,1.00,7",     // 10
	}, "\n")
	got, dead := decodeCSV(t, text)
	if got == nil || got.NumRows() != 2 || got.Column(0).ValueStr(0) != "d" || got.Column(0).ValueStr(1) != "g" {
		t.Fatalf("good rows: %v", got)
	}
	want := []struct {
		line   int64
		reason string
	}{
		{2, `amount: "12,50 EUR" is not a decimal`},
		{3, "has 2 fields, the header has 3"},
		{4, "unterminated quoted field"},
		{6, `bare " in unquoted field 2`},
		{7, "id: null in a required column"},
		{8, `n: "abc" is not an integer`},
		{10, "text after the closing quote of field 1"},
	}
	if len(dead) != len(want) {
		t.Fatalf("dead letters %v", dead)
	}
	for i, w := range want {
		if dead[i].Line != w.line || !strings.Contains(dead[i].Reason, w.reason) {
			t.Errorf("dead %d: %s, want line %d %q", i, dead[i], w.line, w.reason)
		}
	}
	if string(dead[2].Raw) != "\"c,1.00,2" {
		t.Errorf("raw of unterminated: %q", dead[2].Raw)
	}
}

func TestCSVHeaderErrors(t *testing.T) {
	for text, want := range map[string]string{
		"":                   "empty input",
		"amount,n\n1.00,2\n": `header has no column "id", which the schema requires`,
		"id,id\na,b\n":       `header names column "id" twice`,
		"\"id,amount\n":      "header: unterminated quoted field",
	} {
		_, err := NewCSVReader(strings.NewReader(text), "in.csv", testSchema, ReadOptions{})
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "in.csv") {
			t.Errorf("%q: error %v, want %q", text, err, want)
		}
	}
}

func TestCSVUnclosedQuoteAtEnd(t *testing.T) {
	got, dead := decodeCSV(t, "id,n\na,1\n\"b,2\nc,3\nd,4")
	if got.NumRows() != 3 || len(dead) != 1 || dead[0].Line != 3 {
		t.Fatalf("rows %d dead %v", got.NumRows(), dead)
	}
	r, _ := NewCSVReader(strings.NewReader("id,n\na,1\n"), "in.csv", testSchema, ReadOptions{})
	if _, _, err := r.Read(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := r.Read(); err != io.EOF {
		t.Fatalf("want EOF, got %v", err)
	}
	if p := r.Position(); p.Line != 3 || p.Offset != int64(len("id,n\na,1\n")) {
		t.Fatalf("position %+v", p)
	}
}

func TestReadersTellEachRowsLine(t *testing.T) {
	jr, err := NewJSONLReader(strings.NewReader("{\"id\":\"a\"}\n\n{\"id\":null}\n{\"id\":\"b\"}\n"), "in.jsonl", testSchema, ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rec, dead, err := jr.Read()
	if err != nil || rec.NumRows() != 2 || len(dead) != 1 {
		t.Fatalf("%v %v %v", rec, dead, err)
	}
	if got, err := jr.(LineReader).Lines(); err != nil || fmt.Sprint(got) != "[1 4]" {
		t.Fatalf("jsonl lines %v", got)
	}
	rec.Release()
	cr, err := NewCSVReader(strings.NewReader("id,n\n\"a\nb\",1\n\nc,2\n"), "in.csv", testSchema, ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rec, _, err = cr.Read()
	if err != nil || rec.NumRows() != 2 {
		t.Fatal(err)
	}
	if got, err := cr.(LineReader).Lines(); err != nil || fmt.Sprint(got) != "[2 5]" {
		t.Fatalf("csv lines %v", got)
	}
	rec.Release()
}

// TestTimestampsWithoutOffset reads `2026-03-02 00:00:01.494`, as DuckDB and Spark export
// timestamps, from JSONL and CSV: a wall-clock time in the reader's zone (UTC by default),
// while a timestamp with an offset keeps its own.
func TestTimestampsWithoutOffset(t *testing.T) {
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	tsSchema := arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.BinaryTypes.String}, {Name: "ts", Type: schema.Timestamp}}, nil)
	jsonl := `{"id":"a","ts":"2026-03-02 00:00:01.494"}` + "\n" + `{"id":"b","ts":"2026-07-01T08:30:00"}` + "\n" +
		`{"id":"c","ts":"2026-03-02 00:00:01Z"}` + "\n" + `{"id":"d","ts":"2026-03-02 00:00"}` + "\n"
	csv := "id,ts\na,2026-03-02 00:00:01.494\nb,2026-07-01T08:30:00\nc,2026-03-02 00:00:01Z\nd,2026-03-02 00:00\n"
	for _, zone := range []*time.Location{nil, paris} {
		in := zone
		if in == nil {
			in = time.UTC
		}
		want := []time.Time{
			time.Date(2026, 3, 2, 0, 0, 1, 494e6, in), time.Date(2026, 7, 1, 8, 30, 0, 0, in),
			time.Date(2026, 3, 2, 0, 0, 1, 0, time.UTC),
		}
		for _, c := range []struct {
			name string
			open func() (Reader, error)
		}{
			{"jsonl", func() (Reader, error) {
				return NewJSONLReader(strings.NewReader(jsonl), "in.jsonl", tsSchema, ReadOptions{Zone: zone})
			}},
			{"csv", func() (Reader, error) {
				return NewCSVReader(strings.NewReader(csv), "in.csv", tsSchema, ReadOptions{Zone: zone})
			}},
		} {
			r, err := c.open()
			if err != nil {
				t.Fatal(err)
			}
			rec, dead := readAll(t, r)
			ts := rec.Column(1).(*array.Timestamp)
			if int(rec.NumRows()) != len(want) {
				t.Fatalf("%s in %s: %d rows, want %d", c.name, in, rec.NumRows(), len(want))
			}
			for i, w := range want {
				if got := int64(ts.Value(i)); got != w.UnixMilli() {
					t.Errorf("%s in %s, row %d: %s, want %s", c.name, in, i, time.UnixMilli(got).UTC(), w.UTC())
				}
			}
			if len(dead) != 1 || !strings.Contains(dead[0].Reason, `"2026-03-02 00:00" is not a timestamp (want YYYY-MM-DDTHH:MM:SS[.fff] then Z, ±HH:MM or nothing)`) {
				t.Errorf("%s: dead letters %+v, want the timestamp without seconds", c.name, dead)
			}
			rec.Release()
		}
	}
}
