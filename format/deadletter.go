package format

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// DeadLetter is an input record that could not be decoded: its bytes as read, where it was,
// and why it was refused. Text formats set Line and Offset; Parquet sets RowGroup and Row; a
// broker's record sets AtOffset, File to its topic/partition (or stream) and Offset to its offset.
type DeadLetter struct {
	File     string
	Line     int64 // 1-based line where the record starts; 0 if not a text format
	Offset   int64 // byte offset where the record starts in the decompressed stream
	RowGroup int   // Parquet row group, -1 if not Parquet
	Row      int64 // row within the Parquet row group
	AtOffset bool  // a broker's record: File is its topic/partition, Offset its offset there
	Raw      []byte
	Reason   string // `amount: "12,50 EUR" is not a decimal`
}

// Where says where the record was, as a user reads it: `tx.jsonl:12` or
// `tx.parquet: row group 3, row 17`, or `tx/3: offset 1742` for a broker's record.
func (d DeadLetter) Where() string {
	if d.AtOffset {
		return fmt.Sprintf("%s: offset %d", d.File, d.Offset)
	}
	if d.RowGroup >= 0 && d.Line == 0 {
		return fmt.Sprintf("%s: row group %d, row %d", d.File, d.RowGroup, d.Row)
	}
	return fmt.Sprintf("%s:%d", d.File, d.Line)
}

// String formats the dead letter as one log line.
func (d DeadLetter) String() string { return d.Where() + ": " + d.Reason }

var deadLetterSchema = arrow.NewSchema([]arrow.Field{
	{Name: "file", Type: arrow.BinaryTypes.String},
	{Name: "line", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "offset", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "row_group", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
	{Name: "row", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "raw", Type: arrow.BinaryTypes.String},
	{Name: "reason", Type: arrow.BinaryTypes.String},
}, nil)

// DeadLetterSchema is the schema of a dead-letter stream. `raw` holds the record's bytes as
// text; bytes that are not valid UTF-8 are replaced by U+FFFD there (the reason says so).
func DeadLetterSchema() *arrow.Schema { return deadLetterSchema }

// DeadLetterBatch builds a batch of the dead-letter schema from dead letters.
func DeadLetterBatch(mem memory.Allocator, dead []DeadLetter) arrow.RecordBatch {
	b := array.NewRecordBuilder(mem, deadLetterSchema)
	defer b.Release()
	file := b.Field(0).(*array.StringBuilder)
	line := b.Field(1).(*array.Int64Builder)
	off := b.Field(2).(*array.Int64Builder)
	rg := b.Field(3).(*array.Int32Builder)
	row := b.Field(4).(*array.Int64Builder)
	raw := b.Field(5).(*array.StringBuilder)
	reason := b.Field(6).(*array.StringBuilder)
	for _, d := range dead {
		file.Append(d.File)
		switch {
		case d.AtOffset:
			line.AppendNull()
			off.Append(d.Offset)
			rg.AppendNull()
			row.AppendNull()
		case d.Line > 0:
			line.Append(d.Line)
			off.Append(d.Offset)
			rg.AppendNull()
			row.AppendNull()
		default:
			line.AppendNull()
			off.AppendNull()
			rg.Append(int32(d.RowGroup))
			row.Append(d.Row)
		}
		if utf8.Valid(d.Raw) {
			raw.BinaryBuilder.Append(d.Raw)
		} else {
			raw.Append(strings.ToValidUTF8(string(d.Raw), "\uFFFD"))
		}
		reason.Append(d.Reason)
	}
	return b.NewRecordBatch()
}
