package format

import (
	"fmt"
	"io"

	"github.com/apache/arrow-go/v18/arrow"
)

// NewWriter returns a writer of the given format over w. Closing it flushes but does not
// close w.
func NewWriter(w io.Writer, kind Kind, s *arrow.Schema, opts WriteOptions) (Writer, error) {
	if kind == Parquet {
		return NewParquetWriter(w, s, opts)
	}
	enc, err := NewRowEncoder(kind, s)
	if err != nil {
		return nil, err
	}
	return &textWriter{w: w, enc: enc, schema: s, buf: append(make([]byte, 0, 256<<10), enc.Header()...)}, nil
}

// textWriter encodes rows into a buffer and hands it to w in large writes.
type textWriter struct {
	w      io.Writer
	enc    RowEncoder
	schema *arrow.Schema
	buf    []byte
	err    error
}

func (t *textWriter) Write(rec arrow.RecordBatch) error {
	if t.err != nil {
		return t.err
	}
	if !rec.Schema().Equal(t.schema) {
		return fmt.Errorf("format: write batch of schema %s to a writer of schema %s", rec.Schema(), t.schema)
	}
	for row := range int(rec.NumRows()) {
		t.buf = t.enc.AppendRow(t.buf, rec, row)
		if len(t.buf) >= 192<<10 {
			if err := t.Flush(); err != nil {
				return err
			}
		}
	}
	return nil
}

// Flush hands what is buffered to the underlying writer.
func (t *textWriter) Flush() error {
	if t.err == nil && len(t.buf) > 0 {
		_, t.err = t.w.Write(t.buf)
	}
	t.buf = t.buf[:0]
	return t.err
}

func (t *textWriter) Close() error { return t.Flush() }
