package agg

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

func TestCountStarAndCountValues(t *testing.T) {
	star, _ := New("COUNT", nil, nil)
	lit, _ := New("count", []arrow.DataType{arrow.PrimitiveTypes.Int64}, []any{int64(1)})
	vals, _ := New("count", []arrow.DataType{arrow.PrimitiveTypes.Int64}, nil)
	b := array.NewInt64Builder(memory.DefaultAllocator)
	b.AppendValues([]int64{1, 0, 3, 4}, []bool{true, false, true, true})
	col := b.NewArray()
	b.Release()
	defer col.Release()
	// Rows 0..3 go to groups 0, 0, 1, 1; then row 1 (null) and row 2 again, hop-style, to group 2.
	for _, acc := range []Accumulator{star, lit, vals} {
		if err := acc.Update([]uint32{0, 0, 1, 1}, []arrow.Array{col}, nil); err != nil {
			t.Fatal(err)
		}
		if err := acc.Update([]uint32{2, 2}, []arrow.Array{col}, []int32{1, 2}); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		name string
		acc  Accumulator
		want []int64
	}{
		{"count(*)", star, []int64{2, 2, 2, 0}},
		{"count(1)", lit, []int64{2, 2, 2, 0}},
		{"count(x)", vals, []int64{1, 2, 1, 0}},
	} {
		out := mustFinal(t, c.acc, []uint32{0, 1, 2, 3}).(*array.Int64)
		for i, w := range c.want {
			if out.Value(i) != w || out.IsNull(i) {
				t.Errorf("%s group %d = %v, want %d", c.name, i, cell(out, i), w)
			}
		}
		out.Release()
	}
	// count(*) needs no argument arrays at all.
	if err := star.Update([]uint32{5, 5, 5}, nil, nil); err != nil {
		t.Fatal(err)
	}
	out := mustFinal(t, star, []uint32{5}).(*array.Int64)
	defer out.Release()
	if out.Value(0) != 3 {
		t.Errorf("count(*) without arguments = %d, want 3", out.Value(0))
	}
}

func BenchmarkCountStar(b *testing.B) { benchUpdate(b, "count(*)", arrow.PrimitiveTypes.Int64) }
func BenchmarkCount(b *testing.B)     { benchUpdate(b, "count", dec18_2) }
