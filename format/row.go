package format

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"millrace/civil"
	"millrace/decimal"
)

// valueKind is how a decoder parses and stores one column.
type valueKind uint8

const (
	kString valueKind = iota
	kBool
	kInt32
	kInt64
	kFloat64
	kDecimal
	kTimestamp
	kDate
)

func kindOf(t arrow.DataType) (valueKind, bool) {
	switch t.ID() {
	case arrow.STRING:
		return kString, true
	case arrow.BOOL:
		return kBool, true
	case arrow.INT32:
		return kInt32, true
	case arrow.INT64:
		return kInt64, true
	case arrow.FLOAT64:
		return kFloat64, true
	case arrow.DECIMAL128:
		return kDecimal, true
	case arrow.TIMESTAMP:
		return kTimestamp, true
	case arrow.DATE32:
		return kDate, true
	}
	return 0, false
}

func (k valueKind) String() string {
	return [...]string{"a string", "a boolean", "an integer", "an integer", "a number", "a decimal", "a timestamp", "a date"}[k]
}

// column is one schema column as a decoder fills it: the values of the batch being built,
// in plain Go slices that become the Arrow buffers of the batch without a copy.
type column struct {
	name     string
	typ      arrow.DataType
	kind     valueKind
	required bool
	prec     int32 // decimals
	scale    int32
	unit     arrow.TimeUnit // timestamps

	valid   []byte           // validity bitmap (nullable columns)
	i32     []int32          // int32, date
	i64     []int64          // int64, timestamp
	f64     []float64        // float64
	dec     []decimal128.Num // decimal
	bits    []byte           // bool values bitmap
	offsets []int32          // string offsets, len rows+1
	data    []byte           // string bytes
	dataCap int              // string bytes of the last batch, to size the next
}

// rowBuilder decodes rows straight into the columns of the batch being built. Values of a
// row are appended as they come; a row that fails is cut off again, so a refused record
// leaves no trace in the batch.
type rowBuilder struct {
	schema *arrow.Schema
	cols   []column
	setAt  []int // setAt[c] == rows+1 when the row being decoded set column c
	rows   int   // committed rows in the batch being built
	// line is the input line of the row being decoded; lines holds it for each committed
	// row, and batchLines those of the last batch handed out.
	line              int64
	lines, batchLines []int64
	reserve           int
	zone              *time.Location // of timestamps written without an offset; nil is UTC
}

func newRowBuilder(kind Kind, s *arrow.Schema, batchRows int, zone *time.Location) (*rowBuilder, error) {
	rb := &rowBuilder{schema: s, cols: make([]column, s.NumFields()), setAt: make([]int, s.NumFields()), reserve: batchRows, zone: zone}
	for i, f := range s.Fields() {
		k, ok := kindOf(f.Type)
		if !ok {
			return nil, fmt.Errorf("format %s: column %q: type %s cannot be read from text", kind, f.Name, f.Type)
		}
		c := column{name: f.Name, typ: f.Type, kind: k, required: !f.Nullable}
		switch t := f.Type.(type) {
		case *arrow.Decimal128Type:
			c.prec, c.scale = t.Precision, t.Scale
		case *arrow.TimestampType:
			c.unit = t.Unit
		}
		rb.cols[i] = c
	}
	rb.startBatch()
	return rb, nil
}

// startBatch gives every column fresh storage for a batch: the previous batch's arrays own
// the old slices.
func (rb *rowBuilder) startBatch() {
	n := rb.reserve
	for i := range rb.cols {
		c := &rb.cols[i]
		if !c.required {
			c.valid = make([]byte, 0, n/8+1)
		}
		switch c.kind {
		case kString:
			c.offsets = append(make([]int32, 0, n+1), 0)
			c.data = make([]byte, 0, max(c.dataCap+c.dataCap/8, 1024))
		case kBool:
			c.bits = make([]byte, 0, n/8+1)
		case kInt32, kDate:
			c.i32 = make([]int32, 0, n)
		case kInt64, kTimestamp:
			c.i64 = make([]int64, 0, n)
		case kFloat64:
			c.f64 = make([]float64, 0, n)
		case kDecimal:
			c.dec = make([]decimal128.Num, 0, n)
		}
	}
}

// isSet reports whether the row being decoded already set column i.
func (rb *rowBuilder) isSet(i int) bool { return rb.setAt[i] == rb.rows+1 }

func (rb *rowBuilder) mark(i int) {
	rb.setAt[i] = rb.rows + 1
	if c := &rb.cols[i]; !c.required {
		setBit(&c.valid, rb.rows, true)
	}
}

// setText parses a value given as text: a CSV field or a JSON string.
func (rb *rowBuilder) setText(i int, b []byte) error {
	c := &rb.cols[i]
	switch c.kind {
	case kString:
		if !utf8.Valid(b) {
			return fmt.Errorf("%s: invalid UTF-8 in %q", c.name, b)
		}
		c.data = append(c.data, b...)
		c.offsets = append(c.offsets, int32(len(c.data)))
	case kBool:
		var v bool
		switch string(b) {
		case "true", "TRUE", "True", "t", "1":
			v = true
		case "false", "FALSE", "False", "f", "0":
		default:
			return fmt.Errorf("%s: %q is not a boolean", c.name, b)
		}
		setBit(&c.bits, rb.rows, v)
	case kInt32, kInt64:
		return rb.setInt(i, b)
	case kFloat64:
		v, err := strconv.ParseFloat(unsafeString(b), 64)
		if err != nil {
			return fmt.Errorf("%s: %q is not a number", c.name, b)
		}
		c.f64 = append(c.f64, v)
	case kDecimal:
		v, err := decimal.Parse(b, c.prec, c.scale, decimal.Exact)
		if err != nil {
			return fmt.Errorf("%s: %w", c.name, err)
		}
		c.dec = append(c.dec, v)
	case kTimestamp:
		if isInteger(b) {
			return rb.setInt(i, b)
		}
		ms, err := civil.ParseRecordTimestamp(b, rb.zone)
		if err != nil {
			return fmt.Errorf("%s: %w", c.name, err)
		}
		c.i64 = append(c.i64, fromMillis(ms, c.unit))
	case kDate:
		d, err := civil.ParseDate(b)
		if err != nil {
			return fmt.Errorf("%s: %w", c.name, err)
		}
		c.i32 = append(c.i32, d)
	}
	rb.mark(i)
	return nil
}

// setNumber takes a JSON number literal.
func (rb *rowBuilder) setNumber(i int, b []byte) error {
	c := &rb.cols[i]
	switch c.kind {
	case kString:
		c.data = append(c.data, b...)
		c.offsets = append(c.offsets, int32(len(c.data)))
		rb.mark(i)
		return nil
	case kBool, kDate:
		return fmt.Errorf("%s: expected %s, found number %s", c.name, c.kind, b)
	}
	return rb.setText(i, b)
}

// setInt parses an integer; timestamps take it as epoch milliseconds.
func (rb *rowBuilder) setInt(i int, b []byte) error {
	c := &rb.cols[i]
	n, err := strconv.ParseInt(unsafeString(b), 10, 64)
	if err != nil {
		if errors.Is(err, strconv.ErrRange) {
			return fmt.Errorf("%s: %q overflows int64", c.name, b)
		}
		return fmt.Errorf("%s: %q is not an integer", c.name, b)
	}
	switch c.kind {
	case kInt32:
		if n < math.MinInt32 || n > math.MaxInt32 {
			return fmt.Errorf("%s: %q overflows int32", c.name, b)
		}
		c.i32 = append(c.i32, int32(n))
	case kInt64:
		c.i64 = append(c.i64, n)
	case kTimestamp:
		if n < minMillis || n > maxMillis {
			return fmt.Errorf("%s: %d ms since the epoch is outside years 0000-9999", c.name, n)
		}
		c.i64 = append(c.i64, fromMillis(n, c.unit))
	}
	rb.mark(i)
	return nil
}

// setBool takes a JSON true or false.
func (rb *rowBuilder) setBool(i int, v bool) error {
	c := &rb.cols[i]
	if c.kind != kBool {
		return fmt.Errorf("%s: expected %s, found %t", c.name, c.kind, v)
	}
	setBit(&c.bits, rb.rows, v)
	rb.mark(i)
	return nil
}

// setNull sets column i of the row to null; a required column refuses it.
func (rb *rowBuilder) setNull(i int) error {
	c := &rb.cols[i]
	if c.required {
		return fmt.Errorf("%s: null in a required column", c.name)
	}
	rb.appendNull(c)
	rb.setAt[i] = rb.rows + 1
	return nil
}

// appendNull appends a null to c at the current row.
func (rb *rowBuilder) appendNull(c *column) {
	setBit(&c.valid, rb.rows, false)
	switch c.kind {
	case kString:
		c.offsets = append(c.offsets, int32(len(c.data)))
	case kBool:
		setBit(&c.bits, rb.rows, false)
	case kInt32, kDate:
		c.i32 = append(c.i32, 0)
	case kInt64, kTimestamp:
		c.i64 = append(c.i64, 0)
	case kFloat64:
		c.f64 = append(c.f64, 0)
	case kDecimal:
		c.dec = append(c.dec, decimal128.Num{})
	}
}

// endRow completes the row: columns it did not name become null, or refuse it if required.
// On an error the row is rolled back.
func (rb *rowBuilder) endRow() error {
	for i := range rb.cols {
		if rb.setAt[i] == rb.rows+1 {
			continue
		}
		c := &rb.cols[i]
		if c.required {
			rb.rollback()
			return fmt.Errorf("%s: missing", c.name)
		}
		rb.appendNull(c)
	}
	rb.rows++
	rb.lines = append(rb.lines, rb.line)
	return nil
}

// rollback cuts every column back to the committed rows.
func (rb *rowBuilder) rollback() {
	n := rb.rows
	for i := range rb.cols {
		c := &rb.cols[i]
		if rb.setAt[i] == n+1 {
			rb.setAt[i] = 0
		}
		switch c.kind {
		case kString:
			c.offsets = c.offsets[:n+1]
			c.data = c.data[:c.offsets[n]]
		case kBool:
			c.bits = c.bits[:min(len(c.bits), (n+7)/8)]
		case kInt32, kDate:
			c.i32 = c.i32[:min(n, len(c.i32))]
		case kInt64, kTimestamp:
			c.i64 = c.i64[:min(n, len(c.i64))]
		case kFloat64:
			c.f64 = c.f64[:min(n, len(c.f64))]
		case kDecimal:
			c.dec = c.dec[:min(n, len(c.dec))]
		}
		if c.valid != nil {
			c.valid = c.valid[:min(len(c.valid), (n+7)/8)]
		}
	}
}

// batch returns the rows committed since the last call, or nil if there are none.
func (rb *rowBuilder) batch() arrow.RecordBatch {
	n := rb.rows
	if n == 0 {
		return nil
	}
	arrs := make([]arrow.Array, len(rb.cols))
	for i := range rb.cols {
		c := &rb.cols[i]
		var valid *memory.Buffer
		nulls := 0
		if c.valid != nil {
			nulls = n - bitutil.CountSetBits(c.valid, 0, n)
		}
		if nulls > 0 {
			valid = memory.NewBufferBytes(c.valid)
		}
		var bufs []*memory.Buffer
		switch c.kind {
		case kString:
			bufs = []*memory.Buffer{valid, memory.NewBufferBytes(bytesOf(c.offsets)), memory.NewBufferBytes(c.data)}
			c.dataCap = len(c.data)
		case kBool:
			bufs = []*memory.Buffer{valid, memory.NewBufferBytes(c.bits)}
		case kInt32, kDate:
			bufs = []*memory.Buffer{valid, memory.NewBufferBytes(bytesOf(c.i32))}
		case kInt64, kTimestamp:
			bufs = []*memory.Buffer{valid, memory.NewBufferBytes(bytesOf(c.i64))}
		case kFloat64:
			bufs = []*memory.Buffer{valid, memory.NewBufferBytes(bytesOf(c.f64))}
		case kDecimal:
			bufs = []*memory.Buffer{valid, memory.NewBufferBytes(bytesOf(c.dec))}
		}
		data := array.NewData(c.typ, n, bufs, nil, nulls, 0)
		arrs[i] = array.MakeFromData(data)
		data.Release()
	}
	rec := array.NewRecordBatch(rb.schema, arrs, int64(n))
	for _, a := range arrs {
		a.Release()
	}
	rb.rows = 0
	rb.batchLines, rb.lines = rb.lines, rb.batchLines[:0]
	clear(rb.setAt)
	rb.startBatch()
	return rec
}

// bytesOf views a slice of fixed-size values as bytes, for an Arrow buffer.
func bytesOf[T any](s []T) []byte {
	if len(s) == 0 {
		return nil
	}
	var zero T
	return unsafe.Slice((*byte)(unsafe.Pointer(&s[0])), len(s)*int(unsafe.Sizeof(zero)))
}

// setBit sets bit i of the bitmap *bm, growing it by whole bytes.
func setBit(bm *[]byte, i int, v bool) {
	for len(*bm) <= i/8 {
		*bm = append(*bm, 0)
	}
	if v {
		(*bm)[i/8] |= 1 << (i % 8)
	} else {
		(*bm)[i/8] &^= 1 << (i % 8)
	}
}

// The timestamps RFC 3339 can write: 0000-01-01T00:00:00Z to 9999-12-31T23:59:59.999Z.
const (
	minMillis = -62_167_219_200_000
	maxMillis = 253_402_300_799_999
)

func fromMillis(ms int64, u arrow.TimeUnit) int64 {
	switch u {
	case arrow.Second:
		return civil.FloorDiv(ms, 1000)
	case arrow.Microsecond:
		return ms * 1000
	case arrow.Nanosecond:
		return ms * 1_000_000
	}
	return ms
}

func isInteger(b []byte) bool {
	if len(b) > 0 && b[0] == '-' {
		b = b[1:]
	}
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// unsafeString views b as a string for parsing calls that do not keep it.
func unsafeString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }
