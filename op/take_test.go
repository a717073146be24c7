package op

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

func TestTake(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)
	s := arrow.NewSchema([]arrow.Field{{Name: "k", Type: arrow.BinaryTypes.String, Nullable: true}, {Name: "v", Type: arrow.PrimitiveTypes.Int64}}, nil)
	b := array.NewRecordBuilder(mem, s)
	b.Field(0).(*array.StringBuilder).AppendValues([]string{"a", "", "c", "d"}, []bool{true, false, true, true})
	b.Field(1).(*array.Int64Builder).AppendValues([]int64{1, 2, 3, 4}, nil)
	rec := b.NewRecordBatch()
	b.Release()
	defer rec.Release()

	got, err := Take(mem, rec, []int32{3, 1, 3})
	if err != nil {
		t.Fatal(err)
	}
	if got.NumRows() != 3 || got.Column(0).ValueStr(0) != "d" || got.Column(0).IsValid(1) || got.Column(1).(*array.Int64).Value(2) != 4 {
		t.Fatalf("got %v", got)
	}
	got.Release()

	same, err := Take(mem, rec, []int32{0, 1, 2, 3})
	if err != nil || same != rec {
		t.Fatalf("taking every row in order should return the batch itself: %v", err)
	}
	same.Release()
}
