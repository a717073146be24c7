package agg

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// TestApproxCountDistinctTwoPhaseAcrossDense covers sketches on both sides of the sparse to
// dense switch: groups of 10 to 200,000 distinct values, with duplicates, split over 1 to 5
// partial accumulators whose own sketches may be sparse while the merged one is dense. The
// merged estimate must equal the one-phase estimate exactly, and both stay within 2.5% of the
// truth.
func TestApproxCountDistinctTwoPhaseAcrossDense(t *testing.T) {
	sizes := []int{10, 500, 3000, 9000, 16000, 40000, 200000}
	r := rand.New(rand.NewPCG(41, 42))
	var vals []int64
	var groups []uint32
	for g, n := range sizes {
		for range n {
			v := r.Int64()
			vals = append(vals, v, v) // every value twice
			groups = append(groups, uint32(g), uint32(g))
		}
	}
	col := int64Column(vals...)
	defer col.Release()
	ids := allGroups(len(sizes))
	one, _ := New("approx_count_distinct", []arrow.DataType{arrow.PrimitiveTypes.Int64}, nil)
	if err := one.Update(groups, []arrow.Array{col}, nil); err != nil {
		t.Fatal(err)
	}
	want := mustFinal(t, one, ids).(*array.Int64)
	defer want.Release()
	for g, n := range sizes {
		est := float64(want.Value(g))
		if rel := (est - float64(n)) / float64(n); rel > 0.025 || rel < -0.025 {
			t.Errorf("%d distinct values estimated %v (%.2f%% off)", n, est, rel*100)
		}
	}
	for parts := 1; parts <= 5; parts++ {
		t.Run(fmt.Sprintf("%d partials", parts), func(t *testing.T) {
			final, _ := New("approx_count_distinct", []arrow.DataType{arrow.PrimitiveTypes.Int64}, nil)
			for p := range parts {
				var pg []uint32
				var rows []int32
				for i, g := range groups {
					if (i/2+i%2*p)%parts == p { // duplicates may land in different partials
						pg, rows = append(pg, g), append(rows, int32(i))
					}
				}
				acc, _ := New("approx_count_distinct", []arrow.DataType{arrow.PrimitiveTypes.Int64}, nil)
				if err := acc.Update(pg, []arrow.Array{col}, rows); err != nil {
					t.Fatal(err)
				}
				part := mustPartial(t, acc, ids)
				if err := final.MergePartial(ids, part); err != nil {
					t.Fatal(err)
				}
				part.Release()
			}
			got := mustFinal(t, final, ids).(*array.Int64)
			defer got.Release()
			for g := range sizes {
				if got.Value(g) != want.Value(g) {
					t.Errorf("%d distinct values: two-phase estimate %d, one-phase %d", sizes[g], got.Value(g), want.Value(g))
				}
			}
		})
	}
}

// TestApproxCountDistinctResetAfterDense reuses a group whose sketch went dense: the new
// window's estimate must be the one a fresh sketch gives, not a dense sketch's.
func TestApproxCountDistinctResetAfterDense(t *testing.T) {
	big := make([]int64, 50000)
	for i := range big {
		big[i] = int64(i) * 7919
	}
	bigCol, small := int64Column(big...), int64Column(1, 2, 3, 4, 5)
	defer bigCol.Release()
	defer small.Release()
	acc, _ := New("approx_count_distinct", []arrow.DataType{arrow.PrimitiveTypes.Int64}, nil)
	if err := acc.Update(make([]uint32, len(big)), []arrow.Array{bigCol}, nil); err != nil {
		t.Fatal(err)
	}
	acc.Reset([]uint32{0})
	fresh, _ := New("approx_count_distinct", []arrow.DataType{arrow.PrimitiveTypes.Int64}, nil)
	for _, a := range []Accumulator{acc, fresh} {
		if err := a.Update(make([]uint32, 5), []arrow.Array{small}, nil); err != nil {
			t.Fatal(err)
		}
	}
	got, want := mustFinal(t, acc, []uint32{0}).(*array.Int64), mustFinal(t, fresh, []uint32{0}).(*array.Int64)
	defer got.Release()
	defer want.Release()
	if got.Value(0) != want.Value(0) || want.Value(0) != 5 {
		t.Errorf("after reset: %d, fresh: %d, want 5", got.Value(0), want.Value(0))
	}
	p := mustPartial(t, acc, []uint32{1})
	defer p.Release()
	if p.IsValid(0) {
		t.Error("the partial state of an empty group is not null")
	}
}

func BenchmarkApproxCountDistinctString(b *testing.B) {
	benchUpdate(b, "approx_count_distinct", arrow.BinaryTypes.String)
}

func BenchmarkApproxCountDistinctInt64(b *testing.B) {
	benchUpdate(b, "approx_count_distinct", arrow.PrimitiveTypes.Int64)
}

// BenchmarkApproxCountDistinctGrowing fills the sketches of 2,000 groups from empty, as a
// partial phase does after each flush: a group's share of the 1,048,576 distinct values
// falls with its rank (a few groups take thousands, most a few hundred), so most sketches
// pass the exact lists and grow through the sizes where the library keeps them sparse.
func BenchmarkApproxCountDistinctGrowing(b *testing.B) {
	const rows, nGroups = 1 << 20, 2_000
	r := rand.New(rand.NewPCG(9, 10))
	vals, groups := make([]int64, rows), make([]uint32, rows)
	for i := range rows {
		vals[i] = r.Int64()
		groups[i] = uint32(float64(nGroups) * r.Float64() * r.Float64()) // skewed to low ids
	}
	col := int64Column(vals...)
	defer col.Release()
	ids := allGroups(nGroups)
	for b.Loop() {
		acc, _ := New("approx_count_distinct", []arrow.DataType{arrow.PrimitiveTypes.Int64}, nil)
		if err := acc.Update(groups, []arrow.Array{col}, nil); err != nil {
			b.Fatal(err)
		}
		mustFinal(b, acc, ids).Release()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*rows), "ns/row")
}
