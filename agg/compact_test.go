package agg

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/DataDog/sketches-go/ddsketch"
	"github.com/DataDog/sketches-go/ddsketch/mapping"
	"github.com/DataDog/sketches-go/ddsketch/store"
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/axiomhq/hyperloglog"
)

// compactSizes are group sizes on both sides of compactLimit.
var compactSizes = []int{1, 2, 7, 64, compactLimit - 1, compactLimit, compactLimit + 1, 300, 5000}

// float64Column returns a float64 column of vals.
func float64Column(vals ...float64) arrow.Array {
	b := array.NewFloat64Builder(memory.DefaultAllocator)
	defer b.Release()
	b.AppendValues(vals, nil)
	return b.NewArray()
}

// compactInput returns, for each of compactSizes, a group of that many values: money-like
// amounts of both signs, zeros and repeats among them.
func compactInput(r *rand.Rand) (groups []uint32, vals []float64) {
	for g, n := range compactSizes {
		for range n {
			v := math.Round(math.Exp(r.NormFloat64()*1.5+3)*100) / 100
			switch r.IntN(10) {
			case 0:
				v = -v
			case 1:
				v = 0
			case 2:
				v = 42 // a repeat
			}
			groups, vals = append(groups, uint32(g)), append(vals, v)
		}
	}
	return groups, vals
}

// TestCompactFormsAnswerAsSketches checks that groups held exactly answer as today's sketches
// do, bit for bit, on both sides of the switch, and that the switch happens at compactLimit.
func TestCompactFormsAnswerAsSketches(t *testing.T) {
	groups, vals := compactInput(rand.New(rand.NewPCG(5, 6)))
	col := float64Column(vals...)
	defer col.Release()
	ids := allGroups(len(compactSizes))
	for _, q := range []float64{0.01, 0.3, 0.5, 0.99} {
		acc, err := New("approx_quantile", []arrow.DataType{arrow.PrimitiveTypes.Float64, arrow.PrimitiveTypes.Float64}, []any{nil, q})
		if err != nil {
			t.Fatal(err)
		}
		if err := acc.Update(groups, []arrow.Array{col, nil}, nil); err != nil {
			t.Fatal(err)
		}
		got := mustFinal(t, acc, ids).(*array.Float64)
		start := 0
		for g, n := range compactSizes {
			sk, _ := ddsketch.LogUnboundedDenseDDSketch(quantileAccuracy)
			for _, v := range vals[start : start+n] {
				if err := sk.Add(v); err != nil {
					t.Fatal(err)
				}
			}
			start += n
			want, _ := sk.GetValueAtQuantile(q)
			if got.Value(g) != want {
				t.Errorf("quantile %v of %d values: %v, a sketch says %v", q, n, got.Value(g), want)
			}
			if sketched := acc.(*approxQuantile).sketches[g] != nil; sketched != (n > compactLimit) {
				t.Errorf("quantile of %d values: sketch %v, want a sketch only past %d values", n, sketched, compactLimit)
			}
		}
		got.Release()
	}

	ints := make([]int64, len(vals))
	for i := range vals {
		ints[i] = int64(i) * 7919 // distinct values, one per row
	}
	icol := int64Column(ints...)
	defer icol.Release()
	acc, _ := New("approx_count_distinct", []arrow.DataType{arrow.PrimitiveTypes.Int64}, nil)
	if err := acc.Update(groups, []arrow.Array{icol}, nil); err != nil {
		t.Fatal(err)
	}
	if err := acc.Update(groups, []arrow.Array{icol}, nil); err != nil { // every value again
		t.Fatal(err)
	}
	got := mustFinal(t, acc, ids).(*array.Int64)
	defer got.Release()
	start := 0
	var buf [8]byte
	for g, n := range compactSizes {
		sk := hyperloglog.New14()
		for _, v := range ints[start : start+n] {
			binary.LittleEndian.PutUint64(buf[:], uint64(v))
			sk.Insert(buf[:])
		}
		start += n
		if want := int64(sk.Estimate()); got.Value(g) != want {
			t.Errorf("approx_count_distinct of %d values: %d, a sketch says %d", n, got.Value(g), want)
		}
		if sketched := acc.(*distinct).sketches[g] != nil; sketched != (n > compactLimit) {
			t.Errorf("approx_count_distinct of %d values: sketch %v, want a sketch only past %d values", n, sketched, compactLimit)
		}
	}
}

// TestCompactMergesAndRestoresAcrossTheSwitch merges partial states that are exact on one
// side and sketches on the other, in both orders, and restores states on both sides of the
// limit and feeds them past it, as a two-phase exchange and a checkpoint do: every result
// must equal the one-phase accumulator's.
func TestCompactMergesAndRestoresAcrossTheSwitch(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	for _, fn := range []string{"approx_quantile", "approx_count_distinct"} {
		for _, split := range [][2]int{{10, 300}, {300, 10}, {100, 100}, {compactLimit, 1}, {1, compactLimit}, {60, 60}, {500, 700}} {
			t.Run(fmt.Sprintf("%s/%d+%d", fn, split[0], split[1]), func(t *testing.T) {
				vals := make([]float64, split[0]+split[1])
				for i := range vals {
					vals[i] = float64(r.IntN(100_000)) / 100
				}
				col := float64Column(vals...)
				defer col.Release()
				build := func() Accumulator {
					acc, err := newFor(fn, arrow.PrimitiveTypes.Float64)
					if err != nil {
						t.Fatal(err)
					}
					return acc
				}
				feed := func(acc Accumulator, lo, hi int) {
					var rows []int32
					for i := lo; i < hi; i++ {
						rows = append(rows, int32(i))
					}
					if err := acc.Update(make([]uint32, len(rows)), []arrow.Array{col, nil}, rows); err != nil {
						t.Fatal(err)
					}
				}
				merge := func(into, from Accumulator) {
					st := mustPartial(t, from, []uint32{0})
					defer st.Release()
					if err := into.MergePartial([]uint32{0}, st); err != nil {
						t.Fatal(err)
					}
				}
				result := func(acc Accumulator) string {
					out := mustFinal(t, acc, []uint32{0})
					defer out.Release()
					return fmt.Sprint(cell(out, 0))
				}
				cut := split[0]
				one := build()
				feed(one, 0, len(vals))
				want := result(one)

				a, b := build(), build()
				feed(a, 0, cut)
				feed(b, cut, len(vals))
				for _, order := range [][2]Accumulator{{a, b}, {b, a}} {
					final := build()
					merge(final, order[0])
					merge(final, order[1])
					if got := result(final); got != want {
						t.Errorf("merged %d+%d values: %s, one phase %s", split[0], split[1], got, want)
					}
				}

				// Restore the first part's state, as from a checkpoint, and go on with the rest.
				restored := build()
				merge(restored, a)
				feed(restored, cut, len(vals))
				if got := result(restored); got != want {
					t.Errorf("restored after %d values, fed %d more: %s, uninterrupted %s", split[0], split[1], got, want)
				}
			})
		}
	}
}

// TestSketchStatesOfEarlierBuildsStillMerge merges states written as sketches before groups
// were kept exactly (a checkpoint of an earlier build) into groups that are exact and groups
// that are empty, then adds more values: the results must be those of one sketch fed every
// value.
func TestSketchStatesOfEarlierBuildsStillMerge(t *testing.T) {
	first, second := []float64{3.5, 17, 250.25, 9}, []float64{42, 0.5, 17}
	all := append(append([]float64{}, first...), second...)
	col := float64Column(second...)
	defer col.Release()

	m, _ := mapping.NewLogarithmicMapping(quantileAccuracy)
	old := ddsketch.NewDDSketch(m, store.NewBufferedPaginatedStore(), store.NewBufferedPaginatedStore())
	ref, _ := ddsketch.LogUnboundedDenseDDSketch(quantileAccuracy)
	oldHLL, refHLL := hyperloglog.New14(), hyperloglog.New14()
	var buf [8]byte
	for _, v := range first {
		_ = old.Add(v)
		binary.LittleEndian.PutUint64(buf[:], math.Float64bits(v))
		oldHLL.Insert(buf[:])
	}
	for _, v := range all {
		_ = ref.Add(v)
		binary.LittleEndian.PutUint64(buf[:], math.Float64bits(v))
		refHLL.Insert(buf[:])
	}
	var qEnc []byte
	old.Encode(&qEnc, true)
	hEnc, err := oldHLL.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	wantQ, _ := ref.GetValueAtQuantile(0.9)
	wantH := int64(refHLL.Estimate())

	for _, c := range []struct {
		fn   string
		enc  []byte
		want any
	}{{"approx_quantile", qEnc, wantQ}, {"approx_count_distinct", hEnc, wantH}} {
		for _, exactFirst := range []bool{false, true} {
			acc, _ := newFor(c.fn, arrow.PrimitiveTypes.Float64)
			if exactFirst { // the group already holds values exactly when the sketch comes
				if err := acc.Update(make([]uint32, len(second)), []arrow.Array{col, nil}, nil); err != nil {
					t.Fatal(err)
				}
			}
			b := array.NewBinaryBuilder(memory.DefaultAllocator, arrow.BinaryTypes.Binary)
			b.Append(c.enc)
			st := b.NewArray()
			b.Release()
			if err := acc.MergePartial([]uint32{0}, st); err != nil {
				t.Fatalf("%s: merge an earlier build's sketch: %v", c.fn, err)
			}
			st.Release()
			if !exactFirst {
				if err := acc.Update(make([]uint32, len(second)), []arrow.Array{col, nil}, nil); err != nil {
					t.Fatal(err)
				}
			}
			out := mustFinal(t, acc, []uint32{0})
			if got := cell(out, 0); got != c.want {
				t.Errorf("%s, exact values first %v: %v, one sketch of every value says %v", c.fn, exactFirst, got, c.want)
			}
			out.Release()
		}
	}
}
