// Package source holds the inputs of a dataflow: partitioned, replayable sources whose
// partitions the engine's source subtasks read, and the connectors behind them.
package source

import (
	"context"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"millrace/format"
)

// Source is a partitioned, replayable input. Subtask i of a source node with parallelism P
// reads partitions i, i+P, i+2P, ...; a file source's partitions are its files, a broker's
// its topic partitions.
type Source interface {
	// Schema is the schema of the rows the source yields.
	Schema() *arrow.Schema
	// Partitions is the number of partitions.
	Partitions() int
	// Open starts reading one partition.
	Open(ctx context.Context, partition int) (PartitionReader, error)
	// Watermarks says how the source's event time and watermarks work.
	Watermarks() WatermarkPolicy
	// Checks are predicates every row must pass; a row that fails one becomes a dead letter.
	Checks() []Check
}

// Sized is a bounded source that knows how many bytes each partition reads.
//
// The contract, with the BytesRead of its partition readers: the PartitionReader that Open
// returns for a Sized source also has a method BytesRead() int64, the bytes of its input it
// has consumed so far. It never falls, and it grows to about Size(partition) by the time Read
// returns io.EOF. About: it may end a little short of Size or past it, and it runs ahead of
// the rows delivered, as input is read in large blocks (a text reader may have read one before
// its first Read), so a consumer computing progress or backlog, Size minus BytesRead, clamps
// it to [0, Size]. BytesRead is called from the goroutine that calls Read.
type Sized interface {
	// Size is the number of bytes reading partition consumes, 0 when it is not known.
	Size(partition int) int64
}

// PartitionReader reads one partition. A reader of a Sized source also says how many bytes it
// has consumed, with BytesRead() int64 (see Sized).
type PartitionReader interface {
	// Read returns the next batch and the dead letters met decoding it. It returns io.EOF
	// when a bounded partition has ended. An unbounded partition with nothing to deliver
	// within its own poll interval returns a nil batch and no dead letters, so the reader's
	// other partitions and its idle tracking go on. ctx covers this call only.
	Read(ctx context.Context) (arrow.RecordBatch, []format.DeadLetter, error)
	// Position is where the next Read starts, for progress and, later, checkpoints.
	Position() format.Position
	Close() error
}

// WatermarkPolicy says how a source tracks event time.
type WatermarkPolicy struct {
	// EventTime is the index of the event-time column (a millisecond timestamp), or -1 when
	// the source has no event time: then its watermark only moves at the end of data.
	EventTime int
	// OutOfOrder is how far, in milliseconds, event time may go back: a partition's watermark
	// is the largest event time it has read minus OutOfOrder.
	OutOfOrder int64
	// IdleTimeout, when positive, lets a partition that yielded no rows for this long stop
	// holding the watermark back, so one quiet partition does not stall every window.
	IdleTimeout time.Duration
}

// Check is a row predicate of a source.
type Check interface {
	// Eval returns, for each row, whether it passes: false and null both fail.
	Eval(rec arrow.RecordBatch) (arrow.Array, error)
	// String is the check as the spec wrote it; dead letters quote it.
	String() string
}

// Resumable is a source whose partitions can resume where a checkpoint left them.
type Resumable interface {
	Source
	// OpenAt opens partition at pos, which Checkpoint of a reader of the same partition
	// returned; the first Read yields the record that reader would have yielded next.
	OpenAt(ctx context.Context, partition int, pos []byte) (PartitionReader, error)
}

// Checkpointer is a PartitionReader of a Resumable source: Checkpoint encodes where the
// next Read starts, for OpenAt.
type Checkpointer interface {
	Checkpoint() ([]byte, error)
}

// Waiter is a PartitionReader that waits inside Read for rows to come due, such as a paced
// generator: Waited is the time it has spent so, which the engine counts as idle.
type Waiter interface {
	Waited() time.Duration
}
