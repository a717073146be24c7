package agg

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// boolSum is sum and avg of booleans: true counts 1 and false 0, so sum is the number of
// true values (int64) and avg their share (float64), as in DuckDB. It is an int64 sum fed
// each boolean column as int8 0s and 1s.
type boolSum struct {
	intSum
	ints []int8 // scratch: the 0s and 1s of the column being added
}

func newBoolSum(avg bool, cfg config) *boolSum {
	fn := "sum"
	if avg {
		fn = "avg"
	}
	s := &boolSum{intSum: intSum{sumState: newSums[int64](fn, arrow.FixedWidthTypes.Boolean, arrow.PrimitiveTypes.Int64, cfg), avg: avg}}
	s.in = arrow.PrimitiveTypes.Int8 // what the embedded sum is given
	return s
}

func (s *boolSum) Update(groups []uint32, args []arrow.Array, rows []int32) error {
	ints, err := s.asInts(args)
	if err != nil {
		return err
	}
	defer ints.Release()
	return s.intSum.Update(groups, []arrow.Array{ints}, rows)
}

// Revert takes back an Update with the same arguments.
func (s *boolSum) Revert(groups []uint32, args []arrow.Array, rows []int32) error {
	ints, err := s.asInts(args)
	if err != nil {
		return err
	}
	defer ints.Release()
	return s.intSum.Revert(groups, []arrow.Array{ints}, rows)
}

// asInts returns the boolean argument as an int8 column of 0s and 1s with the same nulls.
// Its values live in the scratch, so it is only good until the next call.
func (s *boolSum) asInts(args []arrow.Array) (arrow.Array, error) {
	if err := wantArgs(s.name(), args, 1); err != nil {
		return nil, err
	}
	arg, ok := args[0].(*array.Boolean)
	if !ok {
		return nil, wrongType(s.name(), args[0].DataType(), arrow.FixedWidthTypes.Boolean)
	}
	off, n := arg.Data().Offset(), arg.Len()
	s.ints = growTo(s.ints[:0], off+n)
	for i := range n {
		s.ints[off+i] = 0
		if arg.Value(i) {
			s.ints[off+i] = 1
		}
	}
	d := array.NewData(arrow.PrimitiveTypes.Int8, n,
		[]*memory.Buffer{arg.Data().Buffers()[0], memory.NewBufferBytes(arrow.Int8Traits.CastToBytes(s.ints))},
		nil, arg.NullN(), off)
	defer d.Release()
	return array.MakeFromData(d), nil
}

func (s *boolSum) SizeBytes() int64 { return s.intSum.SizeBytes() + int64(cap(s.ints)) }

var _ Reverter = (*boolSum)(nil)
