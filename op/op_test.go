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

func batch(t testing.TB, mem memory.Allocator, s *arrow.Schema, cols ...[]string) arrow.RecordBatch {
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

// scribble overwrites the text of rec's string columns, as an allocator handing the memory
// of a released batch out again would: an operator that kept strings into rec reads junk.
func scribble(rec arrow.RecordBatch) {
	for _, c := range rec.Columns() {
		if s, ok := c.(*array.String); ok {
			b := s.ValueBytes()
			for i := range b {
				b[i] = 'z'
			}
		}
	}
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
			if j.Dropped() != 2 {
				t.Errorf("inner join dropped %d", j.Dropped())
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

// column evaluates to one input column.
type column int

func (c column) Eval(rec arrow.RecordBatch) (arrow.Array, error) {
	a := rec.Column(int(c))
	a.Retain()
	return a, nil
}

// notNull is TRUE where a column is not null, NULL where it is.
type notNull int

func (c notNull) Eval(rec arrow.RecordBatch) (arrow.Array, error) {
	b := array.NewBooleanBuilder(memory.DefaultAllocator)
	defer b.Release()
	col := rec.Column(int(c))
	for i := range col.Len() {
		if col.IsNull(i) {
			b.AppendNull()
		} else {
			b.Append(true)
		}
	}
	return b.NewArray(), nil
}

func TestMapAndChain(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)
	in := arrow.NewSchema([]arrow.Field{{Name: "a", Type: arrow.BinaryTypes.String, Nullable: true}, {Name: "b", Type: arrow.PrimitiveTypes.Int64}}, nil)
	swapped := arrow.NewSchema([]arrow.Field{in.Field(1), in.Field(0)}, nil)
	first := NewMap(notNull(0), []Evaluator{column(1), column(0)}, swapped)
	second := NewMap(nil, nil, nil)
	c, ok := NewChain(first, second).(*Chain)
	if !ok {
		t.Fatalf("a chain of maps is a %T", NewChain(first, second))
	}
	if err := c.Open(Context{Mem: mem}); err != nil {
		t.Fatal(err)
	}
	var out collect
	rec := batch(t, mem, in, []string{"x", "NULL", "y", "NULL"}, []string{"1", "2", "3", "4"})
	if err := c.Process(0, rec, &out); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(out.rows(0), ",") + " " + strings.Join(out.rows(1), ","); got != "1,3 x,y" {
		t.Fatalf("got %q", got)
	}
	if c.Dropped() != 2 {
		t.Fatalf("dropped %d", c.Dropped())
	}
	for _, r := range out.recs {
		r.Release()
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
}
