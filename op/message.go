// Package op holds the operators of a dataflow and the one message type that flows on every
// edge between them.
//
// An operator sees a stream of messages per input: data batches, watermarks, and the end of
// data. The engine calls Process for each batch, OnWatermark when the minimum watermark over
// all inputs advances, and Finish once every input has ended; operators embed Base to get
// the defaults. Operators never start goroutines or touch channels: the engine owns those.
package op

import (
	"fmt"
	"math"

	"github.com/apache/arrow-go/v18/arrow"
)

// Kind says what a Message carries.
type Kind uint8

// The kinds of message.
const (
	// Data carries a batch of rows.
	Data Kind = iota
	// Watermark says no row with an earlier event time will follow on this input.
	Watermark
	// EndOfData says the input has ended; nothing follows it.
	EndOfData
	// Marker carries the wall-clock time a source sent it. It overtakes nothing, but waits
	// for nothing either (no window holds it back), so the time it takes to reach a node is
	// the queueing latency of the path from ingest to that node. The engine measures and
	// forwards markers; operators never see them.
	Marker
	// Barrier marks checkpoint Checkpoint in the stream: what came before it on an input
	// is in the checkpoint, what follows is not. The engine aligns barriers over a
	// subtask's inputs, snapshots the operator and forwards the barrier; operators never see
	// them.
	Barrier
)

func (k Kind) String() string {
	switch k {
	case Data:
		return "data"
	case Watermark:
		return "watermark"
	case EndOfData:
		return "end-of-data"
	case Marker:
		return "marker"
	case Barrier:
		return "barrier"
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// Message is what flows on every edge: a batch, or a signal.
type Message struct {
	Kind Kind
	// Batch is set for Data. The receiver owns it and releases it.
	Batch arrow.RecordBatch
	// Watermark is set for Watermark, in milliseconds since the epoch.
	Watermark int64
	// Sent is set for Marker: when the source sent it, in nanoseconds since the epoch.
	Sent int64
	// Checkpoint is set for Barrier: the id of the checkpoint, counting from 1.
	Checkpoint uint64
}

// MinWatermark is the watermark of an input that has said nothing yet.
const MinWatermark = math.MinInt64

// MaxWatermark is the final watermark of a bounded input: every window may fire.
const MaxWatermark = math.MaxInt64
