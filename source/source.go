// Package source holds the inputs of a dataflow: partitioned, replayable sources whose
// partitions the engine's source subtasks read, and the connectors behind them.
//
// A connector implements Source and PartitionReader, declares what it offers in
// Capabilities, and passes the conformance suite in source/sourcetest. What the pipeline
// does with the rows (event time, watermarks, checks) is the engine's business, not the
// connector's.
package source

import (
	"context"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"millrace/format"
)

// Source is a partitioned, replayable input. Subtask i of a source node with parallelism P
// reads partitions i, i+P, i+2P, ...; a file source's partitions are its files (or ranges of
// a Parquet file's row groups), a broker's its topic partitions.
//
// Its methods may be called from several goroutines at once, one per subtask; each reader
// is used by one goroutine at a time.
type Source interface {
	// Schema is the schema of the rows the source yields.
	Schema() *arrow.Schema
	// Partitions is the number of partitions.
	Partitions() int
	// Capabilities declares what the source and its readers offer. It does not change.
	Capabilities() Capabilities
	// Size is the number of bytes reading partition consumes, 0 when it is not known.
	Size(partition int) int64
	// Open starts reading partition. With a nil pos it starts at the beginning; otherwise
	// pos is what Checkpoint of a reader of the same partition returned, and the first Read
	// yields the record that reader would have yielded next. A source that is not
	// Resumable takes only nil. ctx covers this call only.
	Open(ctx context.Context, partition int, pos []byte) (PartitionReader, error)
	// Committed says that a checkpoint is durable and holds positions (partition to what a
	// reader's Checkpoint returned) for some of the partitions: a broker source commits
	// those offsets to its consumer group or acknowledges the messages before them. The
	// checkpoint, not the broker, is the truth: a run resumes from the checkpoint's
	// positions whatever was committed. Each subtask calls it for its own partitions, in
	// order of checkpoint, after the checkpoint's manifest is durable. A source that keeps
	// nothing at a broker returns nil. An error is reported and the next checkpoint tries
	// again; it never fails the run.
	Committed(ctx context.Context, checkpoint uint64, positions map[int][]byte) error
}

// Capabilities say what a source offers, so that the engine never has to discover it.
type Capabilities struct {
	// Bounded: every partition ends, its reader's Read returning io.EOF; the run then ends
	// with a final watermark. An unbounded source never does.
	Bounded bool
	// Resumable: readers' Checkpoint says where the next Read starts, and Open goes on from
	// there. Checkpoints need every source of a run to be resumable.
	Resumable bool
	// Lag: readers' Progress says how many records their partition holds past their
	// position (a broker's consumer lag).
	Lag bool
}

// PartitionReader reads one partition.
type PartitionReader interface {
	// Read returns the next batch and the dead letters met decoding it. It returns io.EOF
	// when a bounded partition has ended. An unbounded partition with nothing to deliver
	// within its own poll interval returns a nil batch and no dead letters, so the reader's
	// other partitions and its idle tracking go on. ctx covers this call only.
	Read(ctx context.Context) (arrow.RecordBatch, []format.DeadLetter, error)
	// Position is where the next Read starts, for progress and for dead letters.
	Position() format.Position
	// Checkpoint encodes where the next Read starts, for Open. A reader of a source that is
	// not Resumable returns an error.
	Checkpoint() ([]byte, error)
	// Progress is what the reader has done so far, besides the rows.
	Progress() Progress
	Close() error
}

// Sharer is a Source whose readers can fetch from their broker together: the readers
// opened from the copies Share returns, and from the source, share one fetch, so that the
// records of every partition come in the same polls and the subtasks reading them see them
// together. The readers of one copy wait together: a Read of a partition with nothing at
// hand waits until a poll brings records to any of the copy's partitions, and returns at
// once when another of them has records at hand, so a record arriving on one partition
// never waits out the poll interval of another, empty one read before it. A copy never
// waits for another copy's readers to take their records: what they have not taken waits
// for them, up to a bound. The engine opens each source subtask's partitions from a copy
// of its own that Share returned.
type Sharer interface {
	Source
	// Share returns the source as a copy whose readers wait for records together, apart
	// from those of the readers opened from any other copy, and share the fetch of all.
	Share() Source
}

// Watermarker is a PartitionReader whose input carries its partition's watermark, as the
// exchange between the stages of a cluster does: the engine takes Watermark as the
// partition's watermark instead of deriving one from event times, and decides no lateness
// for its rows (the stage that read them first did).
type Watermarker interface {
	PartitionReader
	// Watermark is the partition's watermark as its input said so far, in milliseconds of
	// event time; op.MinWatermark (math.MinInt64) until it has said one.
	Watermark() int64
}

// Progress is what a partition reader says of its work; a figure it does not know is zero.
type Progress struct {
	// BytesRead is the bytes of its input the reader has consumed. It never falls, and it
	// grows to about Size(partition) by the time Read returns io.EOF. About: it may end a
	// little short of Size or past it, and it runs ahead of the rows delivered, as input is
	// read in large blocks, so a consumer computing backlog, Size minus BytesRead, clamps it
	// to [0, Size].
	BytesRead int64
	// Waited is the time the reader has spent inside Read waiting for rows to come due (a
	// paced generator, a broker poll); the engine counts it as idle, not busy.
	Waited time.Duration
	// Lag is how many records the partition holds past the reader's position, as its
	// broker last said (high watermark minus the next offset), for a source whose
	// Capabilities say Lag; zero otherwise.
	Lag int64
	// Lines gives, for each row of the batch the last Read returned, its line in the input
	// (text formats), so a dead letter made later names it; it is nil for other inputs, and
	// valid, as what it returns is, until the next Read. Call it only for a row that needs
	// its line: the reader of a byte range of a file counts the lines before its range the
	// first time, which is a read of the file before the range (and may fail as one).
	Lines func() ([]int64, error)
	// Offsets gives, for each row of the batch the last Read returned, its offset in its
	// broker partition (broker sources), so a dead letter made later names it; nil
	// otherwise. It is valid until the next Read.
	Offsets []int64
	// Unreachable says, for a broker source whose last attempt to connect to its broker
	// failed, which broker and why; it is empty while the broker is reached. Such a reader
	// goes on polling (its reads return nothing) and reconnects by itself.
	Unreachable string
	// Appended is the broker's timestamp of the oldest record of the batch the last Read
	// returned (broker sources), zero otherwise: the engine measures from it how long
	// records waited between their produce and their read.
	Appended time.Time
}

// PartitionEnds is a Source that is not bounded as a whole but some of whose partitions
// end, such as a history read before a live stream (Then): the engine reads at most a few
// of those at a time, as it does a bounded source's, and all the others at once.
type PartitionEnds interface {
	Source
	// Ends tells whether partition's reader returns io.EOF once it has read it all.
	Ends(partition int) bool
}

// TimeFloors is a Source that knows, before reading a partition, an event time that none of
// its rows is older than, from the statistics of the files it reads: a partition not yet
// read then holds the watermark back only to there, so a source subtask reads its
// partitions one after another and the windows of the first fire before the last is
// opened.
type TimeFloors interface {
	Source
	// TimeFloor returns, in milliseconds, a time that no value of the timestamp column in
	// partition is less than (nulls aside), and whether it knows one.
	TimeFloor(partition int, column string) (int64, bool)
}
