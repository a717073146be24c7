package nexmark

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

func TestColumnsHoldWhatWasWritten(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)

	var name [nameSlot]byte
	var url [urlSlot]byte
	copy(name[:], "Google-and-more-bytes")
	copy(url[:], "https://example/")
	c := newStringColumn(mem, 5, 3+nameSlot+urlSlot)
	c.add(0, []byte("abc"))
	c.skip(1)
	c.addName(2, &name, 6)
	c.addURL(3, &url, 16)
	c.add(4, nil)
	strs := c.finish(5).(*array.String)
	defer strs.Release()
	want := []string{"abc", "", "Google", "https://example/", ""}
	for i, w := range want {
		if strs.Value(i) != w {
			t.Fatalf("string %d = %q, want %q", i, strs.Value(i), w)
		}
	}
	if len(strs.ValueBytes()) != 25 {
		t.Fatalf("column keeps %d bytes, want 25", len(strs.ValueBytes()))
	}

	ints := newInt64Column(mem, 3)
	copy(ints.v, []int64{1, -2, 3})
	arr := ints.finish(arrow.PrimitiveTypes.Int64, 3).(*array.Int64)
	defer arr.Release()
	if v := arr.Int64Values(); v[0] != 1 || v[1] != -2 || v[2] != 3 {
		t.Fatalf("ints %v", v)
	}

}

func TestRecycledBuffersGiveTheSameRows(t *testing.T) {
	cfg := testConfig(50_000)
	want, err := NewGenerator(cfg, Bids)
	if err != nil {
		t.Fatal(err)
	}
	got, err := NewGenerator(cfg, Bids, WithAllocator(NewRecycler()))
	if err != nil {
		t.Fatal(err)
	}
	for {
		a, errA := want.Next(3000)
		b, errB := got.Next(3000)
		if errA != nil || errB != nil {
			if errA != errB {
				t.Fatalf("errors %v and %v", errA, errB)
			}
			return
		}
		if !array.RecordEqual(a, b) {
			t.Fatal("rows differ in recycled buffers")
		}
		a.Release()
		b.Release()
	}
}
