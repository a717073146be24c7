package op

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"millrace/format"
)

// Reject is an input row an operator could not process: a row whose expression failed at
// run time (a CAST that does not parse, an integer overflow) or whose aggregate state would
// overflow.
type Reject struct {
	// Row is the row's values as one JSON object, under the column names of the operator's
	// input.
	Row []byte
	// Expression is the expression, as SQL, that failed on the row.
	Expression string
	// Reason says what failed: `select n: integer overflow`.
	Reason string
}

var errorSchema = arrow.NewSchema([]arrow.Field{
	{Name: "row", Type: arrow.BinaryTypes.String},
	{Name: "expression", Type: arrow.BinaryTypes.String},
	{Name: "reason", Type: arrow.BinaryTypes.String},
}, nil)

// ErrorSchema is the schema of an error stream (VIEW.errors): per rejected row its values as
// a JSON object (`row`), the failing expression and the reason.
func ErrorSchema() *arrow.Schema { return errorSchema }

// ErrorBatch builds a batch of the error schema from rejects.
func ErrorBatch(mem memory.Allocator, rejects []Reject) arrow.RecordBatch {
	b := array.NewRecordBuilder(mem, errorSchema)
	defer b.Release()
	row := b.Field(0).(*array.StringBuilder)
	ex := b.Field(1).(*array.StringBuilder)
	reason := b.Field(2).(*array.StringBuilder)
	for _, r := range rejects {
		row.BinaryBuilder.Append(r.Row)
		ex.Append(r.Expression)
		reason.Append(r.Reason)
	}
	return b.NewRecordBatch()
}

// rowText renders rows of batches as JSON objects for Rejects, keeping one encoder per schema.
type rowText struct {
	schema *arrow.Schema
	enc    format.RowEncoder // nil for a schema with a type JSON lines do not encode
}

// json renders row of rec as a JSON object: as a JSON lines sink writes it, or, for types
// such a sink does not write, with each value as its text.
func (t *rowText) json(rec arrow.RecordBatch, row int) []byte {
	if t.schema == nil || !t.schema.Equal(rec.Schema()) {
		t.schema = rec.Schema()
		t.enc, _ = format.NewRowEncoder(format.JSONL, rec.Schema())
	}
	if t.enc != nil {
		return bytes.TrimRight(t.enc.AppendRow(nil, rec, row), "\r\n")
	}
	obj := make(map[string]any, rec.NumCols())
	for i, col := range rec.Columns() {
		if col.IsNull(row) {
			obj[rec.ColumnName(i)] = nil
		} else {
			obj[rec.ColumnName(i)] = col.ValueStr(row)
		}
	}
	b, err := json.Marshal(obj)
	if err != nil {
		return []byte(fmt.Sprintf("{\"error\":%q}", err.Error()))
	}
	return b
}
