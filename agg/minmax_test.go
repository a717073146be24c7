package agg

import (
	"math"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

func TestMinMaxNaNIsGreatest(t *testing.T) {
	nan := math.NaN()
	b := array.NewFloat64Builder(memory.DefaultAllocator)
	b.AppendValues([]float64{1, nan, -2, nan, nan}, nil)
	col := b.NewArray()
	b.Release()
	defer col.Release()
	// Group 0: 1, NaN, -2. Group 1: NaN, NaN.
	groups := []uint32{0, 0, 0, 1, 1}
	mn, _ := New("min", []arrow.DataType{arrow.PrimitiveTypes.Float64}, nil)
	mx, _ := New("max", []arrow.DataType{arrow.PrimitiveTypes.Float64}, nil)
	for _, acc := range []Accumulator{mn, mx} {
		if err := acc.Update(groups, []arrow.Array{col}, nil); err != nil {
			t.Fatal(err)
		}
	}
	lo := mustFinal(t, mn, []uint32{0, 1}).(*array.Float64)
	hi := mustFinal(t, mx, []uint32{0, 1}).(*array.Float64)
	defer lo.Release()
	defer hi.Release()
	if lo.Value(0) != -2 || !math.IsNaN(lo.Value(1)) {
		t.Errorf("min = %v, %v; want -2, NaN", lo.Value(0), lo.Value(1))
	}
	if !math.IsNaN(hi.Value(0)) || !math.IsNaN(hi.Value(1)) {
		t.Errorf("max = %v, %v; want NaN, NaN", hi.Value(0), hi.Value(1))
	}
}

func TestMinMaxStringsKeepTheirBytes(t *testing.T) {
	acc, _ := New("max", []arrow.DataType{arrow.BinaryTypes.String}, nil)
	for _, batch := range [][]string{{"apple", "pear"}, {"zebra", "a"}, {"zeb", "b"}} {
		b := array.NewStringBuilder(memory.DefaultAllocator)
		b.AppendValues(batch, nil)
		col := b.NewArray()
		b.Release()
		if err := acc.Update([]uint32{0, 1}, []arrow.Array{col}, nil); err != nil {
			t.Fatal(err)
		}
		col.Release() // the accumulator must not point into released batches
	}
	out := mustFinal(t, acc, []uint32{0, 1, 2}).(*array.String)
	defer out.Release()
	if out.Value(0) != "zebra" || out.Value(1) != "pear" || out.IsValid(2) {
		t.Errorf("max = %v", out)
	}
}

func BenchmarkMinTimestamp(b *testing.B) { benchUpdate(b, "min", tsType) }
func BenchmarkMaxString(b *testing.B)    { benchUpdate(b, "max", arrow.BinaryTypes.String) }
