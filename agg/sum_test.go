package agg

import (
	"math"
	"math/big"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

func decimalColumn(t testing.TB, typ *arrow.Decimal128Type, vals []decimal128.Num) arrow.Array {
	t.Helper()
	b := array.NewDecimal128Builder(memory.DefaultAllocator, typ)
	defer b.Release()
	b.AppendValues(vals, nil)
	return b.NewArray()
}

func int64Column(vals ...int64) arrow.Array {
	b := array.NewInt64Builder(memory.DefaultAllocator)
	defer b.Release()
	b.AppendValues(vals, nil)
	return b.NewArray()
}

// TestExactDecimalSumOfMillionsOfCents sums four million random amounts of decimal(18,2) into
// a hundred groups and checks every cent against big integers, through sum and avg.
func TestExactDecimalSumOfMillionsOfCents(t *testing.T) {
	const rows, batch, nGroups = 4_000_000, 65536, 100
	r := rand.New(rand.NewPCG(21, 22))
	sum, _ := New("sum", []arrow.DataType{dec18_2}, nil)
	avg, _ := New("avg", []arrow.DataType{dec18_2}, nil)
	want := make([]*big.Int, nGroups)
	counts := make([]int64, nGroups)
	for g := range want {
		want[g] = new(big.Int)
	}
	vals := make([]decimal128.Num, batch)
	groups := make([]uint32, batch)
	for done := 0; done < rows; done += batch {
		for i := range vals {
			cents := r.Int64N(1e11) - 2e10 // up to a billion in money, some refunds
			if i%1000 == 0 {
				cents = 999_999_999_999_999_999 // the largest decimal(18,2)
			}
			vals[i], groups[i] = decimal128.FromI64(cents), uint32(r.IntN(nGroups))
			want[groups[i]].Add(want[groups[i]], big.NewInt(cents))
			counts[groups[i]]++
		}
		col := decimalColumn(t, dec18_2, vals)
		for _, acc := range []Accumulator{sum, avg} {
			if err := acc.Update(groups, []arrow.Array{col}, nil); err != nil {
				t.Fatal(err)
			}
		}
		col.Release()
	}
	ids := allGroups(nGroups)
	sums, avgs := mustFinal(t, sum, ids).(*array.Decimal128), mustFinal(t, avg, ids).(*array.Decimal128)
	defer sums.Release()
	defer avgs.Release()
	var total big.Int
	for g := range nGroups {
		if got := sums.Value(g).BigInt(); got.Cmp(want[g]) != 0 {
			t.Fatalf("group %d: sum %s, want %s", g, got, want[g])
		}
		if got, w := avgs.Value(g).BigInt(), refAvg(want[g], counts[g], 4); got.Cmp(w) != 0 {
			t.Fatalf("group %d: avg %s, want %s", g, got, w)
		}
		total.Add(&total, want[g])
	}
	if total.IsInt64() {
		t.Fatalf("total %s fits in int64; the test should need 128-bit sums", &total)
	}
}

func TestSumOverflowIsAnError(t *testing.T) {
	// int64: the sum passes MaxInt64 in group 7.
	acc, _ := New("sum", []arrow.DataType{arrow.PrimitiveTypes.Int64}, nil)
	col := int64Column(math.MaxInt64-1, 1, 1)
	defer col.Release()
	err := acc.Update([]uint32{7, 7, 7}, []arrow.Array{col}, nil)
	if err == nil || !strings.Contains(err.Error(), "sum(int64): group 7 overflows int64") {
		t.Fatalf("int64 overflow: got %v", err)
	}
	neg := int64Column(math.MinInt64, -1)
	defer neg.Release()
	acc, _ = New("sum", []arrow.DataType{arrow.PrimitiveTypes.Int64}, nil)
	if err := acc.Update([]uint32{0, 0}, []arrow.Array{neg}, nil); err == nil {
		t.Fatal("sum below MinInt64 did not fail")
	}

	// decimal(38,0): 6e37 + 6e37 needs 39 digits, though it fits in 128 bits.
	d38 := &arrow.Decimal128Type{Precision: 38, Scale: 0}
	six, _ := decimal128.FromString("60000000000000000000000000000000000000", 38, 0)
	big := decimalColumn(t, d38, []decimal128.Num{six, six})
	defer big.Release()
	acc, _ = New("sum", []arrow.DataType{d38}, nil)
	err = acc.Update([]uint32{3, 3}, []arrow.Array{big}, nil)
	if err == nil || !strings.Contains(err.Error(), "sum(decimal(38,0)): group 3 overflows decimal(38,0)") {
		t.Fatalf("decimal overflow: got %v", err)
	}

	// Two partial states that fit apart overflow when merged.
	a, _ := New("sum", []arrow.DataType{d38}, nil)
	b, _ := New("sum", []arrow.DataType{d38}, nil)
	one := decimalColumn(t, d38, []decimal128.Num{six})
	defer one.Release()
	for _, acc := range []Accumulator{a, b} {
		if err := acc.Update([]uint32{0}, []arrow.Array{one}, nil); err != nil {
			t.Fatal(err)
		}
	}
	pb := mustPartial(t, b, []uint32{0})
	defer pb.Release()
	if err := a.MergePartial([]uint32{0}, pb); err == nil || !strings.Contains(err.Error(), "merging partial states, group 0 overflows") {
		t.Fatalf("merge overflow: got %v", err)
	}

	// Near the limit, sums that fit are exact.
	max38 := decimal128.GetMaxValue(38)
	edge := decimalColumn(t, d38, []decimal128.Num{max38, max38.Negate(), max38})
	defer edge.Release()
	acc, _ = New("sum", []arrow.DataType{d38}, nil)
	if err := acc.Update([]uint32{0, 0, 0}, []arrow.Array{edge}, nil); err != nil {
		t.Fatalf("10^38-1 - (10^38-1) + 10^38-1: %v", err)
	}
	out := mustFinal(t, acc, []uint32{0}).(*array.Decimal128)
	defer out.Release()
	if out.Value(0) != max38 {
		t.Fatalf("sum = %v, want 10^38-1", out.Value(0).BigInt())
	}
}

func TestSumOfNothingIsNull(t *testing.T) {
	for _, fn := range []string{"sum", "avg"} {
		acc, _ := New(fn, []arrow.DataType{arrow.PrimitiveTypes.Int64}, nil)
		b := array.NewInt64Builder(memory.DefaultAllocator)
		b.AppendNull()
		col := b.NewArray()
		b.Release()
		if err := acc.Update([]uint32{0}, []arrow.Array{col}, nil); err != nil {
			t.Fatal(err)
		}
		col.Release()
		out := mustFinal(t, acc, []uint32{0, 1})
		if out.NullN() != 2 {
			t.Errorf("%s of only nulls and of nothing: %v, want two nulls", fn, out)
		}
		out.Release()
	}
}

func TestAvgRounding(t *testing.T) {
	acc, _ := New("avg", []arrow.DataType{dec18_2}, nil)
	// 0.01 + 0.01 + 0.02 = 0.04 over 3 = 0.013333.. -> 0.013333; -0.05/3 -> -0.016667.
	col := decimalColumn(t, dec18_2, []decimal128.Num{
		decimal128.FromI64(1), decimal128.FromI64(1), decimal128.FromI64(2), decimal128.FromI64(-5),
	})
	defer col.Release()
	if err := acc.Update([]uint32{0, 0, 0, 1}, []arrow.Array{col}, nil); err != nil {
		t.Fatal(err)
	}
	out := mustFinal(t, acc, []uint32{0, 1}).(*array.Decimal128)
	defer out.Release()
	// Unscaled at scale 6.
	if got := out.Value(0).BigInt().Int64(); got != 13333 {
		t.Errorf("avg(0.01, 0.01, 0.02) = %d e-6, want 0.013333", got)
	}
	if got := out.Value(1).BigInt().Int64(); got != -50000 {
		t.Errorf("avg(-0.05) = %d e-6, want -0.050000", got)
	}
}

func BenchmarkSumDecimal(b *testing.B) { benchUpdate(b, "sum", dec18_2) }
func BenchmarkSumInt64(b *testing.B)   { benchUpdate(b, "sum", arrow.PrimitiveTypes.Int64) }
func BenchmarkAvgDecimal(b *testing.B) { benchUpdate(b, "avg", dec18_2) }
