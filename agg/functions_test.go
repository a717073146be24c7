package agg

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// TestFunctionsAgainstReference runs every function over every column type it takes, on random
// data with nulls, many groups, plain and repeated row selections, and compares each group's
// Final with a straightforward computation over that group's values.
func TestFunctionsAgainstReference(t *testing.T) {
	const nGroups = 2500
	for ti, typ := range testTypes {
		r := rand.New(rand.NewPCG(uint64(ti), 99))
		calls := genCalls(r, typ, 6, 3000, nGroups)
		groups := perGroup(calls, nGroups)
		for _, fn := range functions {
			if !definedFor(fn, typ) {
				continue
			}
			t.Run(fmt.Sprintf("%s(%s)", fn, typeName(typ)), func(t *testing.T) {
				mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
				defer mem.AssertSize(t, 0)
				acc, err := newFor(fn, typ, WithAllocator(mem))
				if err != nil {
					t.Fatal(err)
				}
				feed(t, acc, calls)
				// Ask for the groups in a scrambled order, with a never-updated group at the end.
				ids := append(shuffled(r, nGroups), nGroups+5)
				out := mustFinal(t, acc, ids)
				defer out.Release()
				for i, g := range ids {
					var vals []any
					if int(g) < nGroups {
						vals = groups[g]
					}
					want := reference(t, fn, 0.9, typ, vals)
					if got := cell(out, i); !reflect.DeepEqual(got, want) {
						t.Fatalf("group %d (%d values): got %v (%T), want %v (%T)", g, len(vals), got, got, want, want)
					}
				}
				if acc.SizeBytes() <= 0 {
					t.Errorf("SizeBytes = %d with %d groups", acc.SizeBytes(), nGroups)
				}
			})
		}
		releaseCalls(calls)
	}
}

// TestResultAndStateTypes pins the documented result and state types.
func TestResultAndStateTypes(t *testing.T) {
	i64, f64 := arrow.PrimitiveTypes.Int64, arrow.PrimitiveTypes.Float64
	cases := []struct {
		fn            string
		in            arrow.DataType
		result, state string
	}{
		{"count(*)", nil, "int64", "int64"},
		{"count", arrow.BinaryTypes.String, "int64", "int64"},
		{"sum", arrow.PrimitiveTypes.Int32, "int64", "struct<sum: int64, count: int64>"},
		{"sum", dec18_2, "decimal(38, 2)", "struct<sum: decimal(38, 2), count: int64>"},
		{"sum", arrow.PrimitiveTypes.Float32, "float64", "struct<sum: float64, count: int64>"},
		{"avg", dec18_2, "decimal(22, 6)", "struct<sum: decimal(38, 2), count: int64>"},
		{"avg", &arrow.Decimal128Type{Precision: 36, Scale: 3}, "decimal(38, 5)", "struct<sum: decimal(38, 3), count: int64>"},
		{"avg", dec38_6, "decimal(38, 6)", "struct<sum: decimal(38, 6), count: int64>"},
		{"avg", i64, "float64", "struct<sum: int64, count: int64>"},
		{"min", tsType, "timestamp[ms, tz=UTC]", "timestamp[ms, tz=UTC]"},
		{"max", dictType, "utf8", "utf8"},
		{"approx_count_distinct", arrow.BinaryTypes.String, "int64", "binary"},
		{"count_distinct", dec38_6, "int64", "binary"},
		{"approx_quantile", dec18_2, "float64", "binary"},
		{"approx_quantile", f64, "float64", "binary"},
		{"quantile_disc", dec18_2, "decimal(18, 2)", "binary"},
		{"quantile_cont", dec18_2, "decimal(18, 2)", "binary"},
		{"quantile_disc", dec38_6, "decimal(38, 6)", "binary"},
		{"quantile_disc", arrow.PrimitiveTypes.Int32, "int32", "binary"},
		{"quantile_cont", arrow.PrimitiveTypes.Int32, "float64", "binary"},
		{"quantile_disc", arrow.PrimitiveTypes.Float32, "float32", "binary"},
		{"quantile_cont", arrow.PrimitiveTypes.Float32, "float32", "binary"},
		{"quantile_cont", arrow.PrimitiveTypes.Uint64, "float64", "binary"},
		{"sum", arrow.FixedWidthTypes.Boolean, "int64", "struct<sum: int64, count: int64>"},
		{"avg", arrow.FixedWidthTypes.Boolean, "float64", "struct<sum: int64, count: int64>"},
		{"count_if", arrow.FixedWidthTypes.Boolean, "int64", "int64"},
	}
	for _, c := range cases {
		acc, err := newFor(c.fn, c.in)
		if err != nil {
			t.Fatalf("%s: %v", c.fn, err)
		}
		if got := acc.ResultType().String(); got != c.result {
			t.Errorf("%s(%v) result = %s, want %s", c.fn, c.in, got, c.result)
		}
		if got := acc.StateType().String(); got != c.state {
			t.Errorf("%s(%v) state = %s, want %s", c.fn, c.in, got, c.state)
		}
	}
}

// TestResetThenReuse resets half of the groups mid-stream, as the window operator does when
// their windows fire and it hands the ids to new windows, and checks that a reset group
// reports only what came after its reset.
func TestResetThenReuse(t *testing.T) {
	const nGroups = 800
	for ti, typ := range testTypes {
		r := rand.New(rand.NewPCG(uint64(ti), 5))
		before := genCalls(r, typ, 3, 2000, nGroups)
		after := genCalls(r, typ, 3, 2000, nGroups)
		pre, post := perGroup(before, nGroups), perGroup(after, nGroups)
		var reset []uint32
		wasReset := make([]bool, nGroups)
		for g := range uint32(nGroups) {
			if r.IntN(2) == 0 {
				reset = append(reset, g)
				wasReset[g] = true
			}
		}
		for _, fn := range functions {
			if !definedFor(fn, typ) {
				continue
			}
			acc, _ := newFor(fn, typ)
			feed(t, acc, before)
			acc.Reset(reset)
			acc.Reset([]uint32{nGroups + 100}) // a group never seen: nothing to do
			feed(t, acc, after)
			out := mustFinal(t, acc, allGroups(nGroups))
			for g := range nGroups {
				vals := post[g]
				if !wasReset[g] {
					vals = append(append([]any{}, pre[g]...), post[g]...)
				}
				want := reference(t, fn, 0.9, typ, vals)
				if got := cell(out, g); !reflect.DeepEqual(got, want) {
					t.Fatalf("%s(%s) group %d (reset %v): got %v, want %v", fn, typeName(typ), g, wasReset[g], got, want)
				}
			}
			out.Release()
		}
		releaseCalls(before)
		releaseCalls(after)
	}
}

// TestUpdateDoesNotAllocate checks the hot path: once states have grown, Update of a batch
// allocates nothing.
func TestUpdateDoesNotAllocate(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	cases := []struct {
		fn  string
		typ arrow.DataType
	}{
		{"count(*)", nil}, {"count", dec18_2}, {"sum", dec18_2}, {"sum", arrow.PrimitiveTypes.Int64},
		{"avg", arrow.PrimitiveTypes.Float64}, {"min", tsType}, {"max", dec18_2},
		{"max", arrow.BinaryTypes.String}, {"min", dictType}, {"approx_count_distinct", arrow.BinaryTypes.String},
		{"approx_count_distinct", arrow.PrimitiveTypes.Int64},
	}
	for _, c := range cases {
		typ := c.typ
		if typ == nil {
			typ = arrow.PrimitiveTypes.Int64
		}
		calls := genCalls(r, typ, 2, 4096, 1000)
		acc, err := newFor(c.fn, c.typ)
		if err != nil {
			t.Fatal(err)
		}
		args := make([][]arrow.Array, len(calls))
		for i, cl := range calls {
			args[i] = []arrow.Array{cl.arg}
		}
		run := func() {
			for i, cl := range calls {
				if err := acc.Update(cl.groups, args[i], cl.rows); err != nil {
					t.Fatal(err)
				}
			}
		}
		run()
		if allocs := testing.AllocsPerRun(5, run); allocs != 0 {
			t.Errorf("%s(%v): Update allocated %v times per round", c.fn, c.typ, allocs)
		}
		releaseCalls(calls)
	}
}
