package sink

import (
	"fmt"
	"io"

	"github.com/apache/arrow-go/v18/arrow"

	"millrace/format"
	"millrace/op"
)

// Writer is a sink operator that encodes rows onto a stream such as stdout. It runs as one
// subtask, so rows keep their order.
type Writer struct {
	op.Base
	w format.Writer
}

// NewWriter returns a sink writing rows of schema s as kind onto w.
func NewWriter(w io.Writer, kind format.Kind, s *arrow.Schema) (*Writer, error) {
	fw, err := format.NewWriter(w, kind, s, format.WriteOptions{})
	if err != nil {
		return nil, err
	}
	return &Writer{w: fw}, nil
}

// Open refuses more than one subtask.
func (s *Writer) Open(ctx op.Context) error {
	if ctx.Parallelism > 1 {
		return fmt.Errorf("sink %q writes one stream, so it runs as one subtask, not %d", ctx.Node, ctx.Parallelism)
	}
	return nil
}

// Process writes rec.
func (s *Writer) Process(_ int, rec arrow.RecordBatch, _ op.Collector) error {
	defer rec.Release()
	return s.w.Write(rec)
}

// OnWatermark flushes, so a stream's rows show up as time passes.
func (s *Writer) OnWatermark(int64, op.Collector) error {
	if f, ok := s.w.(interface{ Flush() error }); ok {
		return f.Flush()
	}
	return nil
}

// Finish flushes what is buffered.
func (s *Writer) Finish(op.Collector) error { return s.w.Close() }
