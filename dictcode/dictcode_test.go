package dictcode

import (
	"slices"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// TestCodesRideAlong builds a column that carries codes and finds them through Of, on the
// column and on a slice of it (the codes of the slice's rows), and finds none on a plain
// column or on a copy of the column; Bytes counts the codes; no buffer outlives the arrays.
func TestCodesRideAlong(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	db := array.NewStringBuilder(mem)
	db.AppendValues([]string{"DE", "FR", "GB"}, nil)
	dict := db.NewStringArray()
	db.Release()
	defer dict.Release()

	rows, valid := []string{"GB", "DE", "", "GB", "FR"}, []bool{true, true, false, true, true}
	codes := []int32{2, 0, 3, 2, 1} // the null row: the dictionary's length
	vb := array.NewStringBuilder(mem)
	vb.AppendValues(rows, valid)
	plain := vb.NewStringArray()
	vb.Release()
	defer plain.Release()
	cb := memory.NewResizableBuffer(mem)
	cb.Resize(4 * len(codes))
	copy(arrow.Int32Traits.CastFromBytes(cb.Bytes()), codes)
	data := NewData(arrow.BinaryTypes.String, len(rows), plain.Data().Buffers(), plain.NullN(), cb, dict.Data().(*array.Data))
	cb.Release()
	col := array.NewStringData(data)
	data.Release()
	defer col.Release()

	got, d, ok := Of(col)
	if !ok || d != dict.Data() || !slices.Equal(got, codes) {
		t.Fatalf("Of(column) = %v, %p, %v; want %v, %p, true", got, d, ok, codes, dict.Data())
	}
	for i := range rows {
		if col.IsValid(i) != valid[i] || (valid[i] && col.Value(i) != rows[i]) {
			t.Errorf("row %d: %q valid %v, want %q valid %v", i, col.Value(i), col.IsValid(i), rows[i], valid[i])
		}
	}
	part := array.NewSlice(col, 2, 5)
	defer part.Release()
	if got, _, ok := Of(part); !ok || !slices.Equal(got, codes[2:5]) {
		t.Errorf("Of(slice [2, 5)) = %v, %v; want %v", got, ok, codes[2:5])
	}
	if _, _, ok := Of(plain); ok {
		t.Error("a plain column carries codes")
	}
	if Bytes(col.Data()) != 4*len(codes) || Bytes(plain.Data()) != 0 {
		t.Errorf("codes of %d and %d bytes; want %d and 0", Bytes(col.Data()), Bytes(plain.Data()), 4*len(codes))
	}
	copied, err := array.Concatenate([]arrow.Array{col}, mem)
	if err != nil {
		t.Fatal(err)
	}
	defer copied.Release()
	if _, _, ok := Of(copied); ok {
		t.Error("a copy of the column carries codes")
	}
}
