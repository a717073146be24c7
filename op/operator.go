package op

import (
	"log/slog"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// Context tells an operator where it runs.
type Context struct {
	// Node is the name of the plan node, e.g. "velocity".
	Node string
	// Subtask is this instance's index among Parallelism instances of the node.
	Subtask, Parallelism int
	Mem                  memory.Allocator
	Log                  *slog.Logger
}

// Collector takes an operator's output rows. Collect takes ownership of rec.
type Collector interface {
	Collect(rec arrow.RecordBatch) error
}

// Operator is one step of a dataflow, run by the engine as one subtask per instance.
// Methods are called from one goroutine, never concurrently.
type Operator interface {
	// Open prepares the operator before any other call.
	Open(ctx Context) error
	// Process handles a batch that arrived on input `input`; it owns rec and releases it.
	Process(input int, rec arrow.RecordBatch, out Collector) error
	// OnWatermark is called when the minimum watermark over all inputs advanced to wm;
	// output collected here precedes the watermark downstream.
	OnWatermark(wm int64, out Collector) error
	// Finish is called once after every input has ended, before the end of data is passed
	// on: the last chance to emit.
	Finish(out Collector) error
	// Close releases what Open acquired. It is called once, also after a failure.
	Close() error
}

// Base gives an operator the default behaviour for every hook but Process: nothing to open,
// watermarks and the end of data passed on untouched, nothing to close.
type Base struct{}

// Open does nothing.
func (Base) Open(Context) error { return nil }

// OnWatermark does nothing; the engine forwards the watermark.
func (Base) OnWatermark(int64, Collector) error { return nil }

// Finish does nothing.
func (Base) Finish(Collector) error { return nil }

// Close does nothing.
func (Base) Close() error { return nil }

// Stateful is an operator that keeps state between batches. StateBytes estimates the
// memory the state holds; the engine samples it about once a second for metrics.
type Stateful interface {
	StateBytes() int64
}
