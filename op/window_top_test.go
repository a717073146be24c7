package op

import (
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

func TestWindowTopKeepsTheLargestRowsPerWindow(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)
	s := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.BinaryTypes.String},
		{Name: "end", Type: tsType},
		{Name: "v", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	}, nil)
	top := NewWindowTop(1, 2)
	var out collect
	b1 := batch(t, mem, s, []string{"a", "b", "c", "d"}, []string{"1970-01-01T00:00:10Z", "1970-01-01T00:00:10Z", "1970-01-01T00:00:20Z", "1970-01-01T00:00:10Z"}, []string{"5", "7", "1", "NULL"})
	b2 := batch(t, mem, s, []string{"e", "f", "g"}, []string{"1970-01-01T00:00:10Z", "1970-01-01T00:00:20Z", "1970-01-01T00:00:20Z"}, []string{"7", "3", "3"})
	for _, b := range []arrow.RecordBatch{b1, b2} {
		if err := top.Process(0, b, &out); err != nil {
			t.Fatal(err)
		}
	}
	if err := top.OnWatermark(10_000, &out); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(out.rows(0), ","); got != "b,e" {
		t.Fatalf("window 10s: %s", got)
	}
	if err := top.OnWatermark(MaxWatermark, &out); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(out.rows(0), ","); got != "b,e,f,g" {
		t.Fatalf("all windows: %s", got)
	}
	for _, r := range out.recs {
		r.Release()
	}
	if err := top.Close(); err != nil {
		t.Fatal(err)
	}
}
