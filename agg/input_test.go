package agg

import (
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

func TestUpdateRejectsBadCalls(t *testing.T) {
	acc, _ := New("sum", []arrow.DataType{arrow.PrimitiveTypes.Int64}, nil)
	col := int64Column(1, 2, 3)
	defer col.Release()
	strs := array.NewStringBuilder(memory.DefaultAllocator)
	strs.AppendValues([]string{"a", "b", "c"}, nil)
	strCol := strs.NewArray()
	strs.Release()
	defer strCol.Release()
	cases := []struct {
		groups []uint32
		args   []arrow.Array
		rows   []int32
		want   string
	}{
		{[]uint32{0, 1}, []arrow.Array{col}, nil, "sum(int64): 2 groups for an argument of 3 rows"},
		{[]uint32{0, 1}, []arrow.Array{col}, []int32{0}, "sum(int64): 2 groups for 1 row indices"},
		{[]uint32{0, 1}, []arrow.Array{col}, []int32{0, 3}, "row index out of range [0, 3] for an argument of 3 rows"},
		{[]uint32{0}, []arrow.Array{col}, []int32{-1}, "row index out of range [-1, -1]"},
		{[]uint32{0, 1, 2}, nil, nil, "sum(int64): Update got 0 arguments, want 1"},
		{[]uint32{0, 1, 2}, []arrow.Array{nil}, nil, "sum(int64): Update got no array for argument 1"},
		{[]uint32{0, 1, 2}, []arrow.Array{strCol}, nil, "sum(int64): argument is string"},
	}
	for _, c := range cases {
		err := acc.Update(c.groups, c.args, c.rows)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Update(%v, rows %v) = %v, want an error containing %q", c.groups, c.rows, err, c.want)
		}
	}
}

// TestDictionaryWithNullValues treats a row whose dictionary entry is null as null.
func TestDictionaryWithNullValues(t *testing.T) {
	db := array.NewStringBuilder(memory.DefaultAllocator)
	db.AppendValues([]string{"x", "", "y"}, []bool{true, false, true})
	dict := db.NewArray()
	db.Release()
	defer dict.Release()
	ib := array.NewInt16Builder(memory.DefaultAllocator)
	ib.AppendValues([]int16{0, 1, 2, 1, 0}, []bool{true, true, true, true, false})
	idx := ib.NewArray()
	ib.Release()
	defer idx.Release()
	col := array.NewDictionaryArray(dictType, idx, dict)
	defer col.Release()
	for fn, want := range map[string]any{"count": int64(2), "max": "y", "approx_count_distinct": int64(2)} {
		acc, err := New(fn, []arrow.DataType{dictType}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := acc.Update(make([]uint32, 5), []arrow.Array{col}, nil); err != nil {
			t.Fatal(err)
		}
		out := mustFinal(t, acc, []uint32{0})
		if got := cell(out, 0); got != want {
			t.Errorf("%s = %v, want %v", fn, got, want)
		}
		out.Release()
	}
}

// TestSlicedInput reads arguments that are slices of larger arrays, as batches split by an
// exchange are: values and validity start at the slice's offset.
func TestSlicedInput(t *testing.T) {
	b := array.NewInt64Builder(memory.DefaultAllocator)
	b.AppendValues([]int64{100, 200, 1, 2, 3, 400}, []bool{true, true, true, false, true, true})
	whole := b.NewArray()
	b.Release()
	defer whole.Release()
	part := array.NewSlice(whole, 2, 5) // 1, null, 3
	defer part.Release()
	for fn, want := range map[string]any{"sum": int64(4), "count": int64(2), "max": int64(3), "approx_count_distinct": int64(2)} {
		acc, _ := New(fn, []arrow.DataType{arrow.PrimitiveTypes.Int64}, nil)
		if err := acc.Update([]uint32{0, 0, 0}, []arrow.Array{part}, nil); err != nil {
			t.Fatal(err)
		}
		out := mustFinal(t, acc, []uint32{0})
		if got := cell(out, 0); got != want {
			t.Errorf("%s of a slice = %v, want %v", fn, got, want)
		}
		out.Release()
	}
}

// TestDictionaryIndexWidths reads dictionaries with every index type.
func TestDictionaryIndexWidths(t *testing.T) {
	db := array.NewStringBuilder(memory.DefaultAllocator)
	db.AppendValues([]string{"eur", "usd", "gbp"}, nil)
	dict := db.NewArray()
	db.Release()
	defer dict.Release()
	codes := []int{2, 0, 2, 1}
	for _, it := range []arrow.DataType{
		arrow.PrimitiveTypes.Int8, arrow.PrimitiveTypes.Uint8, arrow.PrimitiveTypes.Int16,
		arrow.PrimitiveTypes.Uint16, arrow.PrimitiveTypes.Int32, arrow.PrimitiveTypes.Uint32,
		arrow.PrimitiveTypes.Int64, arrow.PrimitiveTypes.Uint64,
	} {
		ib := array.NewBuilder(memory.DefaultAllocator, it)
		for _, c := range codes {
			if err := ib.AppendValueFromString(strconv.Itoa(c)); err != nil {
				t.Fatal(err)
			}
		}
		idx := ib.NewArray()
		ib.Release()
		typ := &arrow.DictionaryType{IndexType: it, ValueType: arrow.BinaryTypes.String}
		col := array.NewDictionaryArray(typ, idx, dict)
		idx.Release()
		for fn, want := range map[string]any{"min": "eur", "max": "usd", "approx_count_distinct": int64(3)} {
			acc, err := New(fn, []arrow.DataType{typ}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := acc.Update(make([]uint32, len(codes)), []arrow.Array{col}, nil); err != nil {
				t.Fatal(err)
			}
			out := mustFinal(t, acc, []uint32{0})
			if got := cell(out, 0); got != want {
				t.Errorf("%s over dictionary<%s>: %v, want %v", fn, it, got, want)
			}
			out.Release()
		}
		col.Release()
	}
}
