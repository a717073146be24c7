package take

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

func TestTakeTypes(t *testing.T) {
	// Columns of types expressions do not read still filter: binary, uint8, null.
	bb := array.NewBinaryBuilder(memory.DefaultAllocator, arrow.BinaryTypes.Binary)
	bb.AppendValues([][]byte{[]byte("x"), nil, []byte("zz")}, []bool{true, false, true})
	bin := bb.NewArray()
	bb.Release()
	ub := array.NewUint8Builder(memory.DefaultAllocator)
	ub.AppendValues([]uint8{7, 8, 9}, nil)
	u8 := ub.NewArray()
	ub.Release()
	nul := array.NewNull(3)
	lb := array.NewListBuilder(memory.DefaultAllocator, arrow.PrimitiveTypes.Int64)
	lb.Append(true)
	lb.Append(true)
	lb.Append(true)
	list := lb.NewArray()
	lb.Release()
	for _, a := range []arrow.Array{bin, u8, nul} {
		sel, _ := Select([]int32{0, 2})
		got, err := Array(a, sel)
		if err != nil {
			t.Errorf("%s: %v", a.DataType(), err)
			continue
		}
		if got.Len() != 2 || got.String() == "" {
			t.Errorf("%s: %v", a.DataType(), got)
		}
		got.Release()
	}
	if sel, _ := Select([]int32{0}); func() error { _, err := Array(list, sel); return err }() == nil {
		t.Error("list columns are not supported and must say so")
	}
	for _, a := range []arrow.Array{bin, u8, nul, list} {
		a.Release()
	}
}

func TestTakeRowsOfEveryColumn(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)
	s := arrow.NewSchema([]arrow.Field{
		{Name: "s", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "i", Type: arrow.PrimitiveTypes.Int64},
		{Name: "b", Type: arrow.FixedWidthTypes.Boolean},
	}, nil)
	b := array.NewRecordBuilder(mem, s)
	b.Field(0).(*array.StringBuilder).AppendValues([]string{"a", "", "ccc", "dd", "e"}, []bool{true, false, true, true, true})
	b.Field(1).(*array.Int64Builder).AppendValues([]int64{1, 2, 3, 4, 5}, nil)
	b.Field(2).(*array.BooleanBuilder).AppendValues([]bool{true, false, false, true, true}, nil)
	rec := b.NewRecordBatch()
	b.Release()
	defer rec.Release()
	got, err := Rows(rec, []int32{1, 2, 3})
	if err != nil {
		t.Fatal(err)
	}
	defer got.Release()
	if got.NumRows() != 3 || got.Column(0).IsValid(0) || got.Column(0).ValueStr(1) != "ccc" ||
		got.Column(1).ValueStr(2) != "4" || got.Column(2).ValueStr(2) != "true" {
		t.Fatalf("got %v", got)
	}
	if _, err := Rows(rec, []int32{3, 1}); err == nil {
		t.Fatal("descending rows accepted")
	}
	all, err := Rows(rec, []int32{0, 1, 2, 3, 4})
	if err != nil || all != rec {
		t.Fatalf("every row should give the batch itself: %v", err)
	}
	all.Release()
	words := []uint64{0b10110}
	if sel := Bits(words, 5, 3); sel.Len() != 3 || sel.rows[0] != 1 || sel.rows[2] != 4 {
		t.Fatalf("Bits: %v", sel.rows)
	}
}

func TestTakeStruct(t *testing.T) {
	st := arrow.StructOf(arrow.Field{Name: "sum", Type: arrow.PrimitiveTypes.Int64}, arrow.Field{Name: "count", Type: arrow.PrimitiveTypes.Int64})
	b := array.NewStructBuilder(memory.DefaultAllocator, st)
	defer b.Release()
	for i := range 5 {
		if i == 3 {
			b.AppendNull()
			b.FieldBuilder(0).(*array.Int64Builder).Append(0)
			b.FieldBuilder(1).(*array.Int64Builder).Append(0)
			continue
		}
		b.Append(true)
		b.FieldBuilder(0).(*array.Int64Builder).Append(int64(10 * i))
		b.FieldBuilder(1).(*array.Int64Builder).Append(int64(i))
	}
	a := b.NewArray()
	defer a.Release()
	sliced := array.NewSlice(a, 1, 5)
	defer sliced.Release()
	sel, _ := Select([]int32{1, 2})
	got, err := Array(sliced, sel)
	if err != nil {
		t.Fatal(err)
	}
	defer got.Release()
	if got.ValueStr(0) != `{"count":2,"sum":20}` && got.ValueStr(0) != `{"sum":20,"count":2}` || got.IsValid(1) {
		t.Fatalf("got %s / %v", got.ValueStr(0), got.IsValid(1))
	}
}
