package engine

import (
	"time"

	"github.com/apache/arrow-go/v18/arrow"
)

// WatermarkPolicy says how a source node tracks event time.
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

// NoEventTime is the policy of a source without event time.
var NoEventTime = WatermarkPolicy{EventTime: -1}

// Check is a row predicate of a source node; a row that fails one becomes a dead letter.
type Check interface {
	// Eval returns, for each row, whether it passes: false and null both fail.
	Eval(rec arrow.RecordBatch) (arrow.Array, error)
	// String is the check as the spec wrote it; dead letters quote it.
	String() string
}
