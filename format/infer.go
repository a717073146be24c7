package format

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"millrace/civil"
	"millrace/schema"
)

// Inferred is a schema read off a file rather than declared: a Parquet file's own columns, or
// the columns and types that the first records of a JSONL or CSV file fit.
type Inferred struct {
	Schema *arrow.Schema
	// Records is how many records of a text file the types were inferred from; 0 for
	// Parquet, whose footer holds its schema.
	Records int
	// Left lists the Parquet columns left out, with their types, because millrace reads
	// flat columns of its own types only.
	Left []string
}

// Infer reads the schema of the file at path, as kind (or as its name says). A Parquet file
// gives its own columns, as the nearest types millrace reads (integers of up to 32 bits as
// int32, wider as int64, floats as float64, timestamps as timestamp, binary as string).
// A JSONL or CSV file gives the columns of its first records (up to records of them: JSON
// keys in the order they first appear, or the CSV header), each of the narrowest type every
// value seen fits, tried in this order: bool (true or false), int64, decimal(P,S) (P at least
// 18, S the most digits seen after the point), float64, date, timestamp, string. JSON strings
// are only ever dates, timestamps or strings; a column without a value, or with nested
// JSON, is a string. Every inferred column is nullable.
func Infer(path string, kind Kind, records int) (_ Inferred, err error) {
	kind, codec, err := resolveKind(path, kind)
	if err != nil {
		return Inferred{}, err
	}
	if kind == Parquet {
		return inferParquet(path)
	}
	f, err := os.Open(path)
	if err != nil {
		return Inferred{}, fmt.Errorf("infer the schema of %s: %w", path, err)
	}
	r, err := decompress(f, codec)
	if err != nil {
		f.Close()
		return Inferred{}, fmt.Errorf("infer the schema of %s: %w", path, err)
	}
	defer func() {
		if cerr := r.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("infer the schema of %s: close: %w", path, cerr)
		}
	}()
	var cols *columnGuesses
	var n int
	if kind == CSV {
		cols, n, err = guessCSV(r, records)
	} else {
		cols, n, err = guessJSONL(r, records)
	}
	if err != nil {
		return Inferred{}, fmt.Errorf("infer the schema of %s: %w", path, err)
	}
	fields := make([]arrow.Field, len(cols.order))
	for i, name := range cols.order {
		fields[i] = arrow.Field{Name: name, Type: cols.byName[name].decide(), Nullable: true}
	}
	return Inferred{Schema: arrow.NewSchema(fields, nil), Records: n}, nil
}

// inferParquet reads the columns of a Parquet file's footer.
func inferParquet(path string) (Inferred, error) {
	f, err := os.Open(path)
	if err != nil {
		return Inferred{}, fmt.Errorf("open parquet %q: %w", path, err)
	}
	defer f.Close()
	pf, err := file.NewParquetReader(f)
	if err != nil {
		return Inferred{}, fmt.Errorf("open parquet %q: read footer: %w", path, err)
	}
	s, err := pqarrow.FromParquet(pf.MetaData().Schema, nil, pf.MetaData().KeyValueMetadata())
	if err != nil {
		return Inferred{}, fmt.Errorf("open parquet %q: read schema: %w", path, err)
	}
	var out Inferred
	var fields []arrow.Field
	for _, fl := range s.Fields() {
		t, ok := readableType(fl.Type)
		if !ok {
			out.Left = append(out.Left, fl.Name+" "+fl.Type.String())
			continue
		}
		fields = append(fields, arrow.Field{Name: fl.Name, Type: t, Nullable: fl.Nullable})
	}
	out.Schema = arrow.NewSchema(fields, nil)
	return out, nil
}

// readableType is the type of millrace's own that a Parquet column of type t is read as.
func readableType(t arrow.DataType) (arrow.DataType, bool) {
	switch t.ID() {
	case arrow.INT8, arrow.INT16, arrow.INT32, arrow.UINT8, arrow.UINT16:
		return arrow.PrimitiveTypes.Int32, true
	case arrow.INT64, arrow.UINT32:
		return arrow.PrimitiveTypes.Int64, true
	case arrow.FLOAT16, arrow.FLOAT32, arrow.FLOAT64:
		return arrow.PrimitiveTypes.Float64, true
	case arrow.STRING, arrow.LARGE_STRING, arrow.BINARY, arrow.LARGE_BINARY:
		return arrow.BinaryTypes.String, true
	case arrow.BOOL:
		return arrow.FixedWidthTypes.Boolean, true
	case arrow.TIMESTAMP, arrow.DATE64:
		return schema.Timestamp, true
	case arrow.DATE32:
		return arrow.FixedWidthTypes.Date32, true
	case arrow.DECIMAL128:
		return t, true
	}
	return nil, false
}

// columnGuesses holds a guess per column, in the order columns first appeared.
type columnGuesses struct {
	order  []string
	byName map[string]*guess
}

func (c *columnGuesses) get(name string) *guess {
	if c.byName == nil {
		c.byName = map[string]*guess{}
	}
	g := c.byName[name]
	if g == nil {
		g = &guess{}
		c.byName[name] = g
		c.order = append(c.order, name)
	}
	return g
}

// guess narrows a column's type as values come: each not* flag rules a type out.
type guess struct {
	values                                                  int
	notBool, notInt, notDecimal, notFloat, notDate, notTime bool
	scale, digits                                           int // of decimals: most digits after and before the point
}

// text observes a value written as text: a CSV field, or a JSON number (number set) or
// string (str set).
func (g *guess) text(v string, number, str bool) {
	g.values++
	if str || number || !(strings.EqualFold(v, "true") || strings.EqualFold(v, "false")) {
		g.notBool = true
	}
	if str {
		g.notInt, g.notDecimal, g.notFloat = true, true, true
	} else {
		if _, err := strconv.ParseInt(v, 10, 64); err != nil {
			g.notInt = true
		}
		if before, after, ok := decimalDigits(v); ok {
			g.digits, g.scale = max(g.digits, before), max(g.scale, after)
		} else {
			g.notDecimal = true
		}
		if _, err := strconv.ParseFloat(v, 64); err != nil {
			g.notFloat = true
		}
	}
	if number {
		g.notDate, g.notTime = true, true
		return
	}
	if _, err := civil.ParseDate(v); err != nil {
		g.notDate = true
	}
	if _, err := civil.ParseRecordTimestamp(v, nil); err != nil {
		g.notTime = true
	}
}

// other observes a JSON value that is only ever a string column: an object or an array.
func (g *guess) other() {
	g.values++
	g.notBool, g.notInt, g.notDecimal, g.notFloat, g.notDate, g.notTime = true, true, true, true, true, true
}

// boolean observes a JSON true or false.
func (g *guess) boolean() {
	g.values++
	g.notInt, g.notDecimal, g.notFloat, g.notDate, g.notTime = true, true, true, true, true
}

// decide is the narrowest type every value seen fits.
func (g *guess) decide() arrow.DataType {
	switch {
	case g.values == 0:
		return arrow.BinaryTypes.String
	case !g.notBool:
		return arrow.FixedWidthTypes.Boolean
	case !g.notInt:
		return arrow.PrimitiveTypes.Int64
	case !g.notDecimal && g.digits+g.scale <= 38:
		return &arrow.Decimal128Type{Precision: int32(max(18, g.digits+g.scale)), Scale: int32(g.scale)}
	case !g.notFloat:
		return arrow.PrimitiveTypes.Float64
	case !g.notDate:
		return arrow.FixedWidthTypes.Date32
	case !g.notTime:
		return schema.Timestamp
	}
	return arrow.BinaryTypes.String
}

// decimalDigits splits a plain decimal number (-12.50) into its digits before and after the
// point; ok is false for anything else (an exponent, a sign alone).
func decimalDigits(v string) (before, after int, ok bool) {
	v = strings.TrimPrefix(v, "-")
	intPart, frac, _ := strings.Cut(v, ".")
	if intPart == "" || !allDigits(intPart) || !allDigits(frac) {
		return 0, 0, false
	}
	return len(strings.TrimLeft(intPart, "0")), len(frac), true
}

func allDigits(s string) bool {
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// guessCSV guesses the columns of the header from up to records rows; an empty field is
// null.
func guessCSV(r io.Reader, records int) (*columnGuesses, int, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err != nil {
		return nil, 0, fmt.Errorf("read the CSV header: %w", err)
	}
	cols := &columnGuesses{}
	for _, h := range header {
		cols.get(h)
	}
	n := 0
	for ; n < records; n++ {
		row, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			continue // a malformed row says nothing of the types; reading it will refuse it
		}
		for i, v := range row {
			if i < len(header) && v != "" {
				cols.byName[header[i]].text(v, false, false)
			}
		}
	}
	return cols, n, nil
}

// guessJSONL guesses the columns of up to records JSON objects, one a line.
func guessJSONL(r io.Reader, records int) (*columnGuesses, int, error) {
	lines := newLineReader(r, 16<<20)
	cols := &columnGuesses{}
	n := 0
	for n < records {
		line, err := lines.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, 0, err
		}
		if isBlank(line) {
			continue
		}
		n++
		guessObject(cols, line) // a malformed record says nothing; reading it will refuse it
	}
	return cols, n, nil
}

// guessObject observes the top-level values of one JSON object.
func guessObject(cols *columnGuesses, line []byte) {
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return
		}
		key, ok := t.(string)
		if !ok {
			return
		}
		var v any
		if err := dec.Decode(&v); err != nil {
			return
		}
		g := cols.get(key)
		switch v := v.(type) {
		case nil:
		case bool:
			g.boolean()
		case json.Number:
			g.text(v.String(), true, false)
		case string:
			g.text(v, false, true)
		default:
			g.other()
		}
	}
}
