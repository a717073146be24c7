package agg

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// split deals the inputs of calls at random to n partial accumulators' calls, as the
// subtasks before a keyed exchange see them. Every input keeps its group and row.
func split(r *rand.Rand, calls []call, n int) [][]call {
	out := make([][]call, n)
	for _, c := range calls {
		parts := make([]call, n)
		for p := range parts {
			parts[p] = call{arg: c.arg, vals: c.vals, rows: []int32{}}
		}
		for i, g := range c.groups {
			p := &parts[r.IntN(n)]
			p.groups = append(p.groups, g)
			p.rows = append(p.rows, int32(c.row(i)))
		}
		for p := range parts {
			out[p] = append(out[p], parts[p])
		}
	}
	return out
}

// TestTwoPhaseEquivalence splits rows across N partial accumulators, exchanges their Partial
// columns into a final accumulator with MergePartial, and checks that its Final equals, value
// for value, the Final of one accumulator fed every row. Sketches included: the merged
// HyperLogLog and DDSketch states give the very same estimates.
func TestTwoPhaseEquivalence(t *testing.T) {
	const nGroups = 1500
	for ti, typ := range testTypes {
		r := rand.New(rand.NewPCG(uint64(ti), 7))
		calls := genCalls(r, typ, 6, 3000, nGroups)
		for _, fn := range functions {
			if !definedFor(fn, typ) {
				continue
			}
			for _, n := range []int{1, 3, 8} {
				t.Run(fmt.Sprintf("%s(%s)/%d partials", fn, typeName(typ), n), func(t *testing.T) {
					one, _ := newFor(fn, typ)
					feed(t, one, calls)
					ids := allGroups(nGroups)
					want := mustFinal(t, one, ids)
					defer want.Release()

					final, _ := newFor(fn, typ)
					for _, part := range split(r, calls, n) {
						p, _ := newFor(fn, typ)
						feed(t, p, part)
						// Exchange the groups in a random order, in two columns, as a
						// keyed exchange would send them.
						order := shuffled(r, nGroups)
						for _, chunk := range [][]uint32{order[:nGroups/3], order[nGroups/3:]} {
							col := mustPartial(t, p, chunk)
							if err := final.MergePartial(chunk, col); err != nil {
								t.Fatal(err)
							}
							col.Release()
						}
					}
					got := mustFinal(t, final, ids)
					defer got.Release()
					if !array.Equal(got, want) {
						for i := range ids {
							if fmt.Sprint(cell(got, i)) != fmt.Sprint(cell(want, i)) {
								t.Fatalf("group %d: two-phase %v, one-phase %v", i, cell(got, i), cell(want, i))
							}
						}
						t.Fatal("two-phase and one-phase results differ")
					}
				})
			}
		}
		releaseCalls(calls)
	}
}

// TestPartialRoundTrip restores states from Partial into a fresh accumulator, as recovery
// from a checkpoint does, and checks that it goes on exactly where the original was.
func TestPartialRoundTrip(t *testing.T) {
	const nGroups = 500
	r := rand.New(rand.NewPCG(3, 3))
	for _, typ := range []arrow.DataType{arrow.PrimitiveTypes.Int64, dec18_2, arrow.BinaryTypes.String} {
		first := genCalls(r, typ, 2, 2000, nGroups)
		second := genCalls(r, typ, 2, 2000, nGroups)
		for _, fn := range functions {
			if !definedFor(fn, typ) {
				continue
			}
			orig, _ := newFor(fn, typ)
			feed(t, orig, first)
			ids := allGroups(nGroups)
			snap := mustPartial(t, orig, ids)
			restored, _ := newFor(fn, typ)
			if err := restored.MergePartial(ids, snap); err != nil {
				t.Fatal(err)
			}
			snap.Release()
			feed(t, orig, second)
			feed(t, restored, second)
			a, b := mustFinal(t, orig, ids), mustFinal(t, restored, ids)
			if !array.Equal(a, b) {
				t.Errorf("%s(%s): restored accumulator diverged from the original", fn, typeName(typ))
			}
			a.Release()
			b.Release()
		}
		releaseCalls(first)
		releaseCalls(second)
	}
}

// TestRestoredStatesResetLikeTheOriginal restores groups whose sketches grew dense, then
// resets and reuses them, as a window operator does once a restored window fires: the reused
// groups must go on as the original's do, with no trace of the dense sketches.
func TestRestoredStatesResetLikeTheOriginal(t *testing.T) {
	const nGroups = 4
	r := rand.New(rand.NewPCG(8, 8))
	for _, typ := range []arrow.DataType{arrow.PrimitiveTypes.Int64, arrow.BinaryTypes.String} {
		big := genCalls(r, typ, 2, 60_000, nGroups) // about 15,000 values a group: dense sketches
		small := genCalls(r, typ, 2, 400, nGroups)
		for _, fn := range functions {
			if !definedFor(fn, typ) {
				continue
			}
			ids := allGroups(nGroups)
			orig, _ := newFor(fn, typ)
			feed(t, orig, big)
			snap := mustPartial(t, orig, ids)
			restored, _ := newFor(fn, typ)
			if err := restored.MergePartial(ids, snap); err != nil {
				t.Fatal(err)
			}
			snap.Release()
			for _, acc := range []Accumulator{orig, restored} {
				acc.Reset(ids)
				feed(t, acc, small)
			}
			a, b := mustFinal(t, orig, ids), mustFinal(t, restored, ids)
			if !array.Equal(a, b) {
				t.Errorf("%s(%s): after a reset, the restored accumulator gives %v, the original %v", fn, typeName(typ), b, a)
			}
			a.Release()
			b.Release()
		}
		releaseCalls(big)
		releaseCalls(small)
	}
}
