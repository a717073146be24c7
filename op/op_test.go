package op

import (
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// collect gathers what an operator emits.
type collect struct{ recs []arrow.RecordBatch }

func (c *collect) Collect(rec arrow.RecordBatch) error { c.recs = append(c.recs, rec); return nil }

func (c *collect) rows(col int) []string {
	var out []string
	for _, r := range c.recs {
		for i := range int(r.NumRows()) {
			out = append(out, r.Column(col).ValueStr(i))
		}
	}
	return out
}

func batch(t *testing.T, mem memory.Allocator, s *arrow.Schema, cols ...[]string) arrow.RecordBatch {
	t.Helper()
	b := array.NewRecordBuilder(mem, s)
	defer b.Release()
	for i, col := range cols {
		for _, v := range col {
			if v == "NULL" {
				b.Field(i).AppendNull()
			} else if err := b.Field(i).AppendValueFromString(v); err != nil {
				t.Fatal(err)
			}
		}
	}
	return b.NewRecordBatch()
}

func TestLookupJoin(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)
	tableSchema := arrow.NewSchema([]arrow.Field{{Name: "merchant_id", Type: arrow.BinaryTypes.String}, {Name: "risk", Type: arrow.PrimitiveTypes.Int64, Nullable: true}}, nil)
	inSchema := arrow.NewSchema([]arrow.Field{{Name: "tx", Type: arrow.BinaryTypes.String}, {Name: "merchant_id", Type: arrow.BinaryTypes.String, Nullable: true}}, nil)
	outSchema := arrow.NewSchema(append(inSchema.Fields(), arrow.Field{Name: "risk", Type: arrow.PrimitiveTypes.Int64, Nullable: true}), nil)
	table := batch(t, mem, tableSchema, []string{"m1", "m2", "m3"}, []string{"10", "NULL", "30"})
	defer table.Release()

	for _, inner := range []bool{false, true} {
		j, err := NewLookupJoin(table, []int{0}, []int{1}, inner, outSchema)
		if err != nil {
			t.Fatal(err)
		}
		if err := j.Open(Context{Mem: mem}); err != nil {
			t.Fatal(err)
		}
		var out collect
		in := batch(t, mem, inSchema, []string{"t1", "t2", "t3", "t4"}, []string{"m3", "m9", "NULL", "m1"})
		if err := j.Process(0, in, &out); err != nil {
			t.Fatal(err)
		}
		got := strings.Join(out.rows(0), ",") + " " + strings.Join(out.rows(2), ",")
		want := "t1,t2,t3,t4 30,(null),(null),10"
		if inner {
			want = "t1,t4 30,10"
			if j.Dropped != 2 {
				t.Errorf("inner join dropped %d", j.Dropped)
			}
		}
		if got != want {
			t.Errorf("inner=%v: got %q want %q", inner, got, want)
		}
		for _, r := range out.recs {
			r.Release()
		}
	}

	dup := batch(t, mem, tableSchema, []string{"m1", "m2", "m1"}, []string{"1", "2", "3"})
	defer dup.Release()
	if _, err := NewLookupJoin(dup, []int{0}, []int{1}, false, outSchema); err == nil || !strings.Contains(err.Error(), "rows 1 and 3 have the same key") {
		t.Fatalf("got %v", err)
	}
}

func TestKeyEncoderDistinguishesNullsAndBoundaries(t *testing.T) {
	s := arrow.NewSchema([]arrow.Field{{Name: "a", Type: arrow.BinaryTypes.String, Nullable: true}, {Name: "b", Type: arrow.BinaryTypes.String, Nullable: true}}, nil)
	rec := batch(t, memory.DefaultAllocator, s, []string{"ab", "a", "NULL", ""}, []string{"c", "bc", "", "NULL"})
	defer rec.Release()
	var k KeyEncoder
	if err := k.Reset(rec.Columns()); err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for i := range 4 {
		key := string(k.Key(i))
		if j, dup := seen[key]; dup {
			t.Fatalf("rows %d and %d encode alike", j, i)
		}
		seen[key] = i
	}
}
