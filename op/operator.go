package op

import (
	"log/slog"
	"math"

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
	// Checkpointing says the run takes checkpoints: a Committer then publishes only in
	// Commit, never in Finish.
	Checkpointing bool
	// Errors takes the rows the operator rejects instead of failing on them (see ErrorBatch):
	// the engine sends them out on the node's error output, the stream VIEW.errors of a spec.
	// Nil means such rows fail the operator.
	Errors Collector
	// Hold, when set, measures how long an operator that keeps rows in event-time order
	// (Features) holds them until the watermark releases them.
	Hold HoldMeter
}

// HoldMeter measures how long rows wait in an operator for the watermark. Arrived is called
// as rows come in and returns a mark of that moment; Released is told, as rows leave, how
// many of those that came at one mark left.
type HoldMeter interface {
	Arrived() int64
	Released(arrived int64, rows int)
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

// WatermarkHolder is an operator that may emit rows behind the watermark it was given, such
// as the unmatched rows of an outer join, which wait until no partner can come. The engine
// passes downstream the least of the operator's watermark and HeldWatermark, asked after
// every OnWatermark, so that what follows never sees a row behind its watermark.
type WatermarkHolder interface {
	// HeldWatermark is the event time at or before which every row the operator may still
	// emit lies; MaxWatermark when it holds nothing back.
	HeldWatermark() int64
}

// Flusher is an operator that may hold rows back between messages which it can hand on at
// any time, such as a partial aggregation folding many batches before the keyed exchange. The
// engine calls Flush once a checkpoint's barrier has come on every input, before Snapshot and
// before the barrier is passed on: what Flush collects precedes the barrier downstream, and
// the snapshot finds nothing held.
type Flusher interface {
	Flush(out Collector) error
}

// Spiller is a Stateful operator that may keep part of its state on disk instead of in
// memory: SpilledBytes is the size of that part, which StateBytes leaves out.
type Spiller interface {
	SpilledBytes() int64
}

// Snapshotter is an operator whose state checkpoints keep, so that a run resumed from a
// checkpoint goes on as if it had never stopped.
type Snapshotter interface {
	// Snapshot encodes the state as it stands between two messages, for checkpoint id. The
	// engine calls it once barriers of the checkpoint have arrived on every input (and once
	// more after Finish, for the final checkpoint of a run).
	Snapshot(id uint64) ([]byte, error)
	// Restore loads what Snapshot returned in the subtask of the same index, after Open and
	// before any message.
	Restore(state []byte) error
}

// FinalCheckpoint is the id Snapshot and Commit get for the last checkpoint of a subtask,
// taken after Finish; it is larger than every other id.
const FinalCheckpoint = math.MaxUint64

// Committer is an operator with effects outside the dataflow, such as a sink's files, that
// must happen exactly once: two-phase commit over checkpoints.
type Committer interface {
	// Snapshot pre-commits: it makes everything received so far durable but not yet
	// visible, and its state names what it made ready. Restore, after a crash, publishes
	// what the checkpoint made ready (Commit may not have run) and discards whatever was
	// written after it.
	Snapshotter
	// Commit publishes what Snapshot made ready for checkpoint id and every earlier one,
	// once the checkpoint is durable. It runs on the operator's goroutine between messages.
	Commit(id uint64) error
}
