package agg

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// TestFilteredAddsOnlyTrueRows feeds every function, wrapped by Filtered, random rows and a
// filter column that is true, false or null, and checks each group's Final against the
// reference over the rows whose filter is true only; then merges its partial states into a
// second filtered accumulator, as the final phase does, and checks the same results.
func TestFilteredAddsOnlyTrueRows(t *testing.T) {
	const nGroups = 300
	for ti, typ := range []arrow.DataType{arrow.PrimitiveTypes.Int64, dec18_2, arrow.BinaryTypes.String} {
		r := rand.New(rand.NewPCG(uint64(ti), 5))
		calls := genCalls(r, typ, 4, 2000, nGroups)
		conds := make([]arrow.Array, len(calls))
		kept := make([][]any, nGroups)
		for c, cl := range calls {
			b := array.NewBooleanBuilder(memory.DefaultAllocator)
			truth := make([]bool, cl.arg.Len())
			for i := range truth {
				switch r.IntN(3) {
				case 0:
					b.AppendNull()
				case 1:
					b.Append(false)
				default:
					b.Append(true)
					truth[i] = true
				}
			}
			conds[c] = b.NewArray()
			b.Release()
			for i, g := range cl.groups {
				if truth[cl.row(i)] {
					kept[g] = append(kept[g], cl.vals[cl.row(i)])
				}
			}
		}
		for _, fn := range functions {
			if !definedFor(fn, typ) {
				continue
			}
			t.Run(fmt.Sprintf("%s(%s)", fn, typeName(typ)), func(t *testing.T) {
				acc, err := newFor(fn, typ)
				if err != nil {
					t.Fatal(err)
				}
				f := Filtered(acc)
				for c, cl := range calls {
					args := []arrow.Array{cl.arg, conds[c]}
					if fn == "count(*)" {
						args = []arrow.Array{conds[c]}
					}
					if err := f.Update(cl.groups, args, cl.rows); err != nil {
						t.Fatal(err)
					}
				}
				ids := allGroups(nGroups)
				part := mustPartial(t, f, ids)
				defer part.Release()
				inner, _ := newFor(fn, typ)
				merged := Filtered(inner)
				if err := merged.MergePartial(ids, part); err != nil {
					t.Fatal(err)
				}
				for _, a := range []Accumulator{f, merged} {
					out := mustFinal(t, a, ids)
					for i, g := range ids {
						want := reference(t, fn, 0.9, typ, kept[g])
						if fn == "count(*)" {
							want = int64(len(kept[g]))
						}
						if got := cell(out, i); !reflect.DeepEqual(got, want) {
							t.Fatalf("group %d (%d rows kept): got %v, want %v", g, len(kept[g]), got, want)
						}
					}
					out.Release()
				}
				if _, isRev := acc.(Reverter); isRev {
					if _, ok := f.(Reverter); !ok {
						t.Errorf("%s is a Reverter, but not once filtered", fn)
					}
				}
			})
		}
		releaseCalls(calls)
		for _, c := range conds {
			c.Release()
		}
	}
}

// TestFilteredRevertTakesBackTheFilteredRows adds rows to a filtered sum, reverts the same
// call and checks that every group is empty again.
func TestFilteredRevertTakesBackTheFilteredRows(t *testing.T) {
	acc, _ := New("sum", []arrow.DataType{arrow.PrimitiveTypes.Int64}, nil)
	f := Filtered(acc).(Reverter)
	vals := int64Column(1, 2, 3, 4)
	defer vals.Release()
	b := array.NewBooleanBuilder(memory.DefaultAllocator)
	b.AppendValues([]bool{true, false, true, true}, []bool{true, true, true, false})
	cond := b.NewArray()
	b.Release()
	defer cond.Release()
	groups := []uint32{0, 0, 1, 1}
	args := []arrow.Array{vals, cond}
	if err := f.Update(groups, args, nil); err != nil {
		t.Fatal(err)
	}
	got := mustFinal(t, f, []uint32{0, 1})
	if got.ValueStr(0) != "1" || got.ValueStr(1) != "3" {
		t.Fatalf("filtered sums %s, want [1 3]", got)
	}
	got.Release()
	if err := f.Revert(groups, args, nil); err != nil {
		t.Fatal(err)
	}
	got = mustFinal(t, f, []uint32{0, 1})
	defer got.Release()
	if got.NullN() != 2 {
		t.Fatalf("after Revert the sums are %s, want both null", got)
	}
}

// TestFilteredRefusesAMissingFilter checks that Update names a missing or non-boolean
// filter column.
func TestFilteredRefusesAMissingFilter(t *testing.T) {
	acc, _ := New("count", nil, nil)
	f := Filtered(acc)
	vals := int64Column(1, 2)
	defer vals.Release()
	if err := f.Update([]uint32{0, 0}, nil, nil); err == nil {
		t.Error("Update without a filter column succeeded")
	}
	if err := f.Update([]uint32{0, 0}, []arrow.Array{vals}, nil); err == nil {
		t.Error("Update with an int64 filter column succeeded")
	}
}
