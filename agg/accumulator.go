package agg

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// An Accumulator computes one aggregate function for many groups. Groups are dense uint32 ids
// chosen by the caller; states grow to the largest id seen. A group never updated, or Reset
// since, holds the empty state. Accumulators are not safe for concurrent use: each subtask
// owns its own.
//
// Arrays returned by Partial and Final belong to the caller, who must Release them.
type Accumulator interface {
	// Update adds rows to groups. groups[i] is the group of the i-th input row, which is row i
	// of the argument arrays when rows is nil and row rows[i] otherwise; rows may repeat a row,
	// as hopping windows do. args holds one array per argument of the call, in order; the
	// entries of constant arguments (quantile's q) are ignored and may be nil, and count(*)
	// takes none. Null values are skipped.
	//
	// An error (a wrong argument type, mismatched lengths) leaves the states of the groups in
	// the call undefined: the caller fails the pipeline. An overflowing sum is an
	// *OverflowError and changes nothing (see Reverter).
	Update(groups []uint32, args []arrow.Array, rows []int32) error

	// Partial encodes the states of groups, one row per group in order, as a column of
	// StateType. The accumulator keeps its states.
	Partial(groups []uint32) (arrow.Array, error)

	// MergePartial folds a column made by Partial (of this function with the same argument
	// types) into groups: row i merges into groups[i].
	MergePartial(groups []uint32, partial arrow.Array) error

	// Final returns the results for groups, one row per group in order, of ResultType.
	Final(groups []uint32) (arrow.Array, error)

	// Reset returns groups to the empty state so that their ids can be reused, for example
	// after their window fired. Sketch memory is kept for reuse.
	Reset(groups []uint32)

	// StateType is the type of Partial's column.
	StateType() arrow.DataType

	// ResultType is the type of Final's column.
	ResultType() arrow.DataType

	// SizeBytes estimates the memory held by the states, for metrics and memory budgets.
	SizeBytes() int64
}

// An Option changes how New builds an accumulator.
type Option func(*config)

type config struct {
	mem memory.Allocator
}

// WithAllocator makes Partial and Final allocate their arrays from mem instead of Go's heap.
func WithAllocator(mem memory.Allocator) Option {
	return func(c *config) { c.mem = mem }
}

func newConfig(opts []Option) config {
	c := config{mem: memory.DefaultAllocator}
	for _, o := range opts {
		o(&c)
	}
	return c
}
