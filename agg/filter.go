package agg

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// Filtered returns the accumulator of a call with a FILTER clause, such as
// count_distinct(bidder) FILTER (WHERE price < 10000): Update takes the arguments of a, then
// one more, a boolean column, and adds to a only the rows where it is true (null is not
// true). Partial, MergePartial, Final and the state types are a's, so a filtered call's
// states merge and restore as the call's own do. When a is a Reverter, so is the result.
func Filtered(a Accumulator) Accumulator {
	f := &filtered{Accumulator: a}
	if r, ok := a.(Reverter); ok {
		return &filteredReverter{filtered: f, r: r}
	}
	return f
}

// filtered is an accumulator whose last Update argument says which rows it adds.
type filtered struct {
	Accumulator
	groups []uint32
	rows   []int32
}

// keep returns the groups and rows of the call whose filter value is true, and the arguments
// without the filter.
func (f *filtered) keep(groups []uint32, args []arrow.Array, rows []int32) ([]uint32, []arrow.Array, []int32, error) {
	if len(args) == 0 || args[len(args)-1] == nil {
		return nil, nil, nil, fmt.Errorf("FILTER: Update got no filter column after %d arguments", max(len(args)-1, 0))
	}
	cond, ok := args[len(args)-1].(*array.Boolean)
	if !ok {
		return nil, nil, nil, fmt.Errorf("FILTER: the filter column is %s, want bool", typeName(args[len(args)-1].DataType()))
	}
	if rows != nil && len(rows) != len(groups) {
		return nil, nil, nil, fmt.Errorf("FILTER: %d groups for %d row indices", len(groups), len(rows))
	}
	if rows == nil && len(groups) != cond.Len() {
		return nil, nil, nil, fmt.Errorf("FILTER: %d groups for a filter column of %d rows", len(groups), cond.Len())
	}
	if f.rows == nil { // a nil rows would mean every row of the arguments
		f.rows = make([]int32, 0, len(groups))
	}
	f.groups, f.rows = f.groups[:0], f.rows[:0]
	for i, g := range groups {
		r := i
		if rows != nil {
			r = int(rows[i])
			if r < 0 || r >= cond.Len() {
				return nil, nil, nil, fmt.Errorf("FILTER: row index %d out of range for a filter column of %d rows", r, cond.Len())
			}
		}
		if cond.IsValid(r) && cond.Value(r) {
			f.groups = append(f.groups, g)
			f.rows = append(f.rows, int32(r))
		}
	}
	return f.groups, args[:len(args)-1], f.rows, nil
}

func (f *filtered) Update(groups []uint32, args []arrow.Array, rows []int32) error {
	groups, args, rows, err := f.keep(groups, args, rows)
	if err != nil {
		return err
	}
	return f.Accumulator.Update(groups, args, rows)
}

// SizeBytes adds the selection's scratch to a's states.
func (f *filtered) SizeBytes() int64 {
	return f.Accumulator.SizeBytes() + int64(cap(f.groups)+cap(f.rows))*4
}

// filteredReverter is a filtered Reverter: Revert filters as Update does.
type filteredReverter struct {
	*filtered
	r Reverter
}

func (f *filteredReverter) Revert(groups []uint32, args []arrow.Array, rows []int32) error {
	groups, args, rows, err := f.keep(groups, args, rows)
	if err != nil {
		return err
	}
	return f.r.Revert(groups, args, rows)
}

func (f *filteredReverter) RevertPartial(groups []uint32, partial arrow.Array) error {
	return f.r.RevertPartial(groups, partial)
}
