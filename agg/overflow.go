package agg

import (
	"github.com/apache/arrow-go/v18/arrow"
)

// OverflowError is the error of an Update or MergePartial that would take a group's state out
// of its type's range, such as an int64 sum past 2^63-1. The call changed no state.
type OverflowError struct {
	// Row is the row of the argument arrays (for MergePartial, of the partial column) whose
	// value would overflow: the first one, in the call's order.
	Row int
	// Reason says which function and group: `sum(int64): group 7 overflows int64`.
	Reason string
}

func (e *OverflowError) Error() string { return e.Reason }

// Reverter is an accumulator whose state can overflow (the sums and averages of integers and
// decimals). Its Update and MergePartial are all or nothing: one that would overflow returns
// an *OverflowError and changes no state. Revert and RevertPartial take back a call with the
// same arguments that succeeded, exactly, so that a caller can drop the row that would
// overflow from every accumulator of a row and add the others again.
type Reverter interface {
	Accumulator
	// Revert takes back Update(groups, args, rows).
	Revert(groups []uint32, args []arrow.Array, rows []int32) error
	// RevertPartial takes back MergePartial(groups, partial).
	RevertPartial(groups []uint32, partial arrow.Array) error
}

var (
	_ Reverter = (*intSum)(nil)
	_ Reverter = (*decimalSum)(nil)
)

// rowOf is the argument row of entry i of b.
func rowOf(b batch, i int) int {
	if b.rows == nil {
		return i
	}
	return int(b.rows[i])
}

// prefix is the batch of the first n entries of b.
func prefix(b batch, n int) batch {
	p := batch{groups: b.groups[:n], need: b.need}
	if b.rows != nil {
		p.rows = b.rows[:n]
	}
	return p
}
