package agg

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// TestApproxQuantileAccuracy checks the 1% guarantee against exact order statistics of log-normal
// money amounts, for several q.
func TestApproxQuantileAccuracy(t *testing.T) {
	r := rand.New(rand.NewPCG(31, 32))
	const n = 200_000
	cents := make([]decimal128.Num, n)
	exact := make([]float64, n)
	for i := range cents {
		c := int64(math.Exp(r.NormFloat64()*1.5+8)) + 1 // 1 cent to tens of thousands
		cents[i], exact[i] = decimal128.FromI64(c), float64(c)/100
	}
	slices.Sort(exact)
	col := decimalColumn(t, dec18_2, cents)
	defer col.Release()
	groups := make([]uint32, n)
	for _, q := range []float64{0.01, 0.25, 0.5, 0.9, 0.99, 0.999} {
		acc, err := New("approx_quantile", []arrow.DataType{dec18_2, arrow.PrimitiveTypes.Float64}, []any{nil, q})
		if err != nil {
			t.Fatal(err)
		}
		if err := acc.Update(groups, []arrow.Array{col, nil}, nil); err != nil {
			t.Fatal(err)
		}
		out := mustFinal(t, acc, []uint32{0}).(*array.Float64)
		got := out.Value(0)
		out.Release()
		rank := q * (n - 1)
		lo, hi := exact[int(math.Floor(rank))], exact[int(math.Ceil(rank))]
		if got < lo*0.99 || got > hi*1.01 {
			t.Errorf("approx_quantile %v = %v, exact between %v and %v", q, got, lo, hi)
		}
	}
}

func TestApproxQuantileNaNIsAnError(t *testing.T) {
	acc, _ := New("approx_quantile", []arrow.DataType{arrow.PrimitiveTypes.Float64, arrow.PrimitiveTypes.Float64}, []any{nil, "0.5"})
	b := array.NewFloat64Builder(memory.DefaultAllocator)
	b.AppendValues([]float64{1, math.NaN()}, nil)
	col := b.NewArray()
	b.Release()
	defer col.Release()
	err := acc.Update([]uint32{4, 4}, []arrow.Array{col}, nil)
	if err == nil || !strings.Contains(err.Error(), "approx_quantile(float64, 0.5): value NaN of group 4") {
		t.Fatalf("got %v", err)
	}
}

func BenchmarkApproxQuantileDecimal(b *testing.B) { benchUpdate(b, "approx_quantile", dec18_2) }
