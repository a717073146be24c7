package agg

import (
	"errors"
	"math"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
)

// finals renders the results of groups as text.
func finals(t *testing.T, a Accumulator, groups []uint32) []string {
	t.Helper()
	res, err := a.Final(groups)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Release()
	out := make([]string, res.Len())
	for i := range out {
		out[i] = res.ValueStr(i)
	}
	return out
}

func TestOverflowingUpdateChangesNothingAndRevertIsExact(t *testing.T) {
	d38 := &arrow.Decimal128Type{Precision: 38, Scale: 0}
	six, _ := decimal128.FromString("60000000000000000000000000000000000000", 38, 0)
	cases := []struct {
		name   string
		typ    arrow.DataType
		col    func() arrow.Array
		before []string // the sums of groups 0 and 1 after a first update
	}{
		{"int64", arrow.PrimitiveTypes.Int64, func() arrow.Array { return int64Column(5, math.MaxInt64-10, 7, 20, 1) }, []string{"5", "9223372036854775797"}},
		{"decimal", d38, func() arrow.Array {
			return decimalColumn(t, d38, []decimal128.Num{decimal128.FromI64(5), six, decimal128.FromI64(7), six, decimal128.FromI64(1)})
		}, []string{"5", "60000000000000000000000000000000000000"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, fn := range []string{"sum", "avg"} {
				acc, err := New(fn, []arrow.DataType{c.typ}, nil)
				if err != nil {
					t.Fatal(err)
				}
				col := c.col()
				defer col.Release()
				// Rows 0 and 1 make the states; then rows 2, 3 and 4 go to groups 0, 1, 0 and
				// row 3 takes group 1 past the limit.
				if err := acc.Update([]uint32{0, 1}, []arrow.Array{col}, []int32{0, 1}); err != nil {
					t.Fatal(err)
				}
				want := finals(t, acc, []uint32{0, 1})
				err = acc.Update([]uint32{0, 1, 0}, []arrow.Array{col}, []int32{2, 3, 4})
				var ovf *OverflowError
				if !errors.As(err, &ovf) || ovf.Row != 3 {
					t.Fatalf("%s: error %v, want an overflow at row 3", fn, err)
				}
				if got := finals(t, acc, []uint32{0, 1}); got[0] != want[0] || got[1] != want[1] {
					t.Fatalf("%s: after the failed update %v, want %v", fn, got, want)
				}
				if fn == "sum" && (want[0] != c.before[0] || want[1] != c.before[1]) {
					t.Fatalf("sums %v, want %v", want, c.before)
				}
				// Without row 3 the update goes through, and Revert takes it back exactly.
				r := acc.(Reverter)
				if err := acc.Update([]uint32{0, 0}, []arrow.Array{col}, []int32{2, 4}); err != nil {
					t.Fatal(err)
				}
				if err := r.Revert([]uint32{0, 0}, []arrow.Array{col}, []int32{2, 4}); err != nil {
					t.Fatal(err)
				}
				if got := finals(t, acc, []uint32{0, 1}); got[0] != want[0] || got[1] != want[1] {
					t.Fatalf("%s: after Revert %v, want %v", fn, got, want)
				}

				// Merging: the partial of group 1 overflows and nothing changes; a merge that
				// fits is taken back exactly.
				other, _ := New(fn, []arrow.DataType{c.typ}, nil)
				if err := other.Update([]uint32{0, 1}, []arrow.Array{col}, []int32{2, 3}); err != nil {
					t.Fatal(err)
				}
				part := mustPartial(t, other, []uint32{0, 1})
				defer part.Release()
				if err := acc.MergePartial([]uint32{0, 1}, part); !errors.As(err, &ovf) || ovf.Row != 1 {
					t.Fatalf("%s: merge error %v, want an overflow at partial row 1", fn, err)
				}
				if got := finals(t, acc, []uint32{0, 1}); got[0] != want[0] || got[1] != want[1] {
					t.Fatalf("%s: after the failed merge %v, want %v", fn, got, want)
				}
				if err := acc.MergePartial([]uint32{0, 0}, part); err != nil {
					t.Fatal(err)
				}
				if err := r.RevertPartial([]uint32{0, 0}, part); err != nil {
					t.Fatal(err)
				}
				if got := finals(t, acc, []uint32{0, 1}); got[0] != want[0] || got[1] != want[1] {
					t.Fatalf("%s: after RevertPartial %v, want %v", fn, got, want)
				}
			}
		})
	}
}
