package format

import (
	"encoding/base64"
	"fmt"
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"millrace/civil"
	"millrace/decimal"
)

// RowEncoder encodes single rows of a batch as text. Tools that need to act on each encoded
// record (the generator corrupts some on purpose) use it directly; the text writers use it too.
type RowEncoder interface {
	// Header is what starts the output: the CSV header line, nothing for JSONL.
	Header() []byte
	// AppendRow appends row `row` of rec, ending with a newline, and returns the extended dst.
	AppendRow(dst []byte, rec arrow.RecordBatch, row int) []byte
}

// NewRowEncoder returns the row encoder of a text format for schema s.
//
// Values are written exactly: decimals with every digit (JSON numbers), timestamps as
// RFC 3339 UTC with milliseconds, dates as YYYY-MM-DD, binary as base64. JSON writes nulls as
// null and non-finite floats as the strings "NaN", "+Inf", "-Inf"; CSV writes nulls as empty
// fields and empty strings as "".
func NewRowEncoder(kind Kind, s *arrow.Schema) (RowEncoder, error) {
	for _, f := range s.Fields() {
		if !encodable(f.Type) {
			return nil, fmt.Errorf("format %s: column %q: type %s cannot be written as text", kind, f.Name, f.Type)
		}
	}
	switch kind {
	case JSONL:
		keys := make([][]byte, s.NumFields())
		for i, f := range s.Fields() {
			k := append([]byte{','}, appendJSONString(nil, f.Name)...)
			if i == 0 {
				k[0] = '{'
			}
			keys[i] = append(k, ':')
		}
		return &jsonEncoder{keys: keys}, nil
	case CSV:
		var h []byte
		for i, f := range s.Fields() {
			if i > 0 {
				h = append(h, ',')
			}
			h = appendCSVField(h, []byte(f.Name))
		}
		return &csvEncoder{header: append(h, '\n')}, nil
	}
	return nil, fmt.Errorf("format %s is not a text format", kind)
}

func encodable(t arrow.DataType) bool {
	switch t.ID() {
	case arrow.STRING, arrow.BINARY, arrow.BOOL, arrow.INT32, arrow.INT64, arrow.FLOAT64,
		arrow.DECIMAL128, arrow.TIMESTAMP, arrow.DATE32:
		return true
	}
	return false
}

type jsonEncoder struct{ keys [][]byte }

func (e *jsonEncoder) Header() []byte { return nil }

func (e *jsonEncoder) AppendRow(dst []byte, rec arrow.RecordBatch, row int) []byte {
	for i, col := range rec.Columns() {
		dst = append(dst, e.keys[i]...)
		if col.IsNull(row) {
			dst = append(dst, "null"...)
			continue
		}
		switch a := col.(type) {
		case *array.String:
			dst = appendJSONString(dst, a.Value(row))
		case *array.Binary:
			dst = append(dst, '"')
			dst = base64.StdEncoding.AppendEncode(dst, a.Value(row))
			dst = append(dst, '"')
		case *array.Float64:
			v := a.Value(row)
			if math.IsNaN(v) || math.IsInf(v, 0) {
				dst = append(append(append(dst, '"'), nonFinite(v)...), '"')
			} else {
				dst = strconv.AppendFloat(dst, v, 'g', -1, 64)
			}
		case *array.Timestamp, *array.Date32:
			dst = append(dst, '"')
			dst = appendValue(dst, col, row)
			dst = append(dst, '"')
		default:
			dst = appendValue(dst, col, row)
		}
	}
	if len(rec.Columns()) == 0 {
		dst = append(dst, '{')
	}
	return append(dst, '}', '\n')
}

type csvEncoder struct{ header []byte }

func (e *csvEncoder) Header() []byte { return e.header }

func (e *csvEncoder) AppendRow(dst []byte, rec arrow.RecordBatch, row int) []byte {
	for i, col := range rec.Columns() {
		if i > 0 {
			dst = append(dst, ',')
		}
		if col.IsNull(row) {
			continue
		}
		switch a := col.(type) {
		case *array.String:
			dst = appendCSVField(dst, []byte(a.Value(row)))
		case *array.Binary:
			dst = base64.StdEncoding.AppendEncode(dst, a.Value(row))
		default:
			dst = appendValue(dst, col, row)
		}
	}
	return append(dst, '\n')
}

// appendValue appends the text of a non-string value, the same in JSON and CSV.
func appendValue(dst []byte, col arrow.Array, row int) []byte {
	switch a := col.(type) {
	case *array.Boolean:
		return strconv.AppendBool(dst, a.Value(row))
	case *array.Int32:
		return strconv.AppendInt(dst, int64(a.Value(row)), 10)
	case *array.Int64:
		return strconv.AppendInt(dst, a.Value(row), 10)
	case *array.Float64:
		v := a.Value(row)
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return append(dst, nonFinite(v)...)
		}
		return strconv.AppendFloat(dst, v, 'g', -1, 64)
	case *array.Decimal128:
		return decimal.Append(dst, a.Value(row), a.DataType().(*arrow.Decimal128Type).Scale)
	case *array.Timestamp:
		return civil.AppendTimestamp(dst, toMillis(int64(a.Value(row)), a.DataType().(*arrow.TimestampType).Unit))
	case *array.Date32:
		return civil.AppendDate(dst, int64(a.Value(row)))
	}
	panic(fmt.Sprintf("format: appendValue of unchecked type %s", col.DataType()))
}

// toMillis converts a timestamp in unit u to milliseconds, flooring.
func toMillis(v int64, u arrow.TimeUnit) int64 {
	switch u {
	case arrow.Second:
		return v * 1000
	case arrow.Microsecond:
		return civil.FloorDiv(v, 1000)
	case arrow.Nanosecond:
		return civil.FloorDiv(v, 1_000_000)
	}
	return v
}

func nonFinite(v float64) string {
	switch {
	case math.IsNaN(v):
		return "NaN"
	case v > 0:
		return "+Inf"
	}
	return "-Inf"
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string, escaping quotes, backslashes and control
// characters; bytes that are not valid UTF-8 become U+FFFD.
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				dst = append(dst, s[start:i]...)
				dst = append(dst, `\ufffd`...)
				i++
				start = i
				continue
			}
			i += size
			continue
		}
		dst = append(dst, s[start:i]...)
		switch c {
		case '"', '\\':
			dst = append(dst, '\\', c)
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		default:
			dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		i++
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// appendCSVField appends a CSV field, quoting it when it holds a separator, a quote, a line
// break or surrounding spaces, or is empty (an empty unquoted field means null).
func appendCSVField(dst, v []byte) []byte {
	quote := len(v) == 0 || v[0] == ' ' || v[len(v)-1] == ' '
	for _, c := range v {
		if c == ',' || c == '"' || c == '\n' || c == '\r' {
			quote = true
			break
		}
	}
	if !quote {
		return append(dst, v...)
	}
	dst = append(dst, '"')
	for _, c := range v {
		if c == '"' {
			dst = append(dst, '"')
		}
		dst = append(dst, c)
	}
	return append(dst, '"')
}
