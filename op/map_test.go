package op

import (
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"millrace/expr"
)

// compiled compiles SQL over s for a test.
func compiled(t *testing.T, sql string, s *arrow.Schema) *expr.Expr {
	t.Helper()
	n, err := expr.Parse(sql)
	if err != nil {
		t.Fatal(err)
	}
	e, err := expr.Compile(n, s)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestMapRejectsRowsItsExpressionsFailOn(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)
	in := arrow.NewSchema([]arrow.Field{{Name: "s", Type: arrow.BinaryTypes.String}, {Name: "n", Type: arrow.PrimitiveTypes.Int64}}, nil)
	out := arrow.NewSchema([]arrow.Field{{Name: "v", Type: arrow.PrimitiveTypes.Int64, Nullable: true}, {Name: "m", Type: arrow.PrimitiveTypes.Int64, Nullable: true}}, nil)
	newMap := func() *Map {
		return NewMap(compiled(t, "n >= 0", in), []Evaluator{compiled(t, "CAST(s AS int64)", in), compiled(t, "n * 4611686018427387904", in)}, out)
	}
	rec := func() arrow.RecordBatch {
		return batch(t, mem, in, []string{"1", "x", "3", "4", "5"}, []string{"0", "1", "-1", "2", "1"})
	}

	m := newMap().WithErrors()
	var errs, got collect
	if err := m.Open(Context{Mem: mem, Errors: &errs}); err != nil {
		t.Fatal(err)
	}
	if err := m.Process(0, rec(), &got); err != nil {
		t.Fatal(err)
	}
	// Row 1 fails its CAST, row 2 is filtered, row 3 overflows n * 2^62, rows 0 and 4 pass.
	if v := strings.Join(got.rows(0), ","); v != "1,5" {
		t.Errorf("kept v = %s, want 1,5", v)
	}
	if m.Dropped() != 1 {
		t.Errorf("dropped %d, want 1", m.Dropped())
	}
	want := []string{
		`{"s":"x","n":1} | CAST(s AS int64) | select v: "x" is not a valid int64`,
		`{"s":"4","n":2} | n * 4611686018427387904 | select m: integer overflow`,
	}
	var rejected []string
	for _, r := range errs.recs {
		if !r.Schema().Equal(ErrorSchema()) {
			t.Fatalf("error rows of schema %s", r.Schema())
		}
		for i := range int(r.NumRows()) {
			rejected = append(rejected, r.Column(0).ValueStr(i)+" | "+r.Column(1).ValueStr(i)+" | "+r.Column(2).ValueStr(i))
		}
	}
	if strings.Join(rejected, "\n") != strings.Join(want, "\n") {
		t.Errorf("rejected:\n%s\nwant:\n%s", strings.Join(rejected, "\n"), strings.Join(want, "\n"))
	}
	for _, r := range append(got.recs, errs.recs...) {
		r.Release()
	}

	// Without WithErrors, or with nothing to take the errors, the first failure fails.
	for _, m := range []*Map{newMap(), newMap().WithErrors()} {
		var ctx Context
		ctx.Mem = mem
		if m.reject {
			ctx.Errors = nil
		} else {
			ctx.Errors = &errs
		}
		if err := m.Open(ctx); err != nil {
			t.Fatal(err)
		}
		err := m.Process(0, rec(), &got)
		if err == nil || !strings.Contains(err.Error(), "select v: CAST(s AS int64)") {
			t.Errorf("error %v, want the failed CAST", err)
		}
	}
}

// Finding the failing rows by halving keeps every other row, in order, whichever rows fail.
func TestMapSortsOutFailingRowsAnywhere(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)
	in := arrow.NewSchema([]arrow.Field{{Name: "s", Type: arrow.BinaryTypes.String}}, nil)
	out := arrow.NewSchema([]arrow.Field{{Name: "v", Type: arrow.PrimitiveTypes.Int64, Nullable: true}}, nil)
	for _, bad := range [][]int{{0}, {999}, {3, 500, 501, 999}, nil, {-1}} {
		var s []string
		failing := map[int]bool{}
		for _, b := range bad {
			failing[b] = true
		}
		for i := range 1000 {
			if failing[i] || failing[-1] {
				s = append(s, "x"+strconv.Itoa(i))
			} else {
				s = append(s, strconv.Itoa(i))
			}
		}
		m := NewMap(nil, []Evaluator{compiled(t, "CAST(s AS int64)", in)}, out).WithErrors()
		var errs, got collect
		if err := m.Open(Context{Mem: mem, Errors: &errs}); err != nil {
			t.Fatal(err)
		}
		if err := m.Process(0, batch(t, mem, in, s), &got); err != nil {
			t.Fatal(err)
		}
		var want, rejected []string
		for i := range 1000 {
			if failing[i] || failing[-1] {
				want = append(want, `{"s":"x`+strconv.Itoa(i)+`"}`)
			}
		}
		for _, r := range errs.recs {
			for i := range int(r.NumRows()) {
				rejected = append(rejected, r.Column(0).ValueStr(i))
			}
		}
		kept := got.rows(0)
		if !slices.Equal(rejected, want) || len(kept)+len(rejected) != 1000 {
			t.Errorf("bad rows %v: rejected %d %v, kept %d", bad, len(rejected), rejected[:min(len(rejected), 5)], len(kept))
		}
		for k := 1; k < len(kept); k++ {
			a, _ := strconv.Atoi(kept[k-1])
			b, _ := strconv.Atoi(kept[k])
			if a >= b {
				t.Fatalf("bad rows %v: kept rows out of order: %s before %s", bad, kept[k-1], kept[k])
			}
		}
		for _, r := range append(got.recs, errs.recs...) {
			r.Release()
		}
	}
}

// BenchmarkMapOneFailingRow maps batches of 16384 rows through a CAST that fails on one row
// of each: the cost of sorting the failing row out.
func BenchmarkMapOneFailingRow(b *testing.B) {
	in := arrow.NewSchema([]arrow.Field{{Name: "s", Type: arrow.BinaryTypes.String}}, nil)
	out := arrow.NewSchema([]arrow.Field{{Name: "v", Type: arrow.PrimitiveTypes.Int64, Nullable: true}}, nil)
	n, err := expr.Parse("CAST(s AS int64)")
	if err != nil {
		b.Fatal(err)
	}
	e, err := expr.Compile(n, in)
	if err != nil {
		b.Fatal(err)
	}
	s := make([]string, 16384)
	for i := range s {
		s[i] = strconv.Itoa(i)
	}
	s[9000] = "x"
	rec := batch(b, memory.DefaultAllocator, in, s)
	defer rec.Release()
	m := NewMap(nil, []Evaluator{e}, out).WithErrors()
	var errs, got collect
	if err := m.Open(Context{Mem: memory.DefaultAllocator, Errors: &errs}); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		rec.Retain()
		if err := m.Process(0, rec, &got); err != nil {
			b.Fatal(err)
		}
		for _, r := range append(got.recs, errs.recs...) {
			r.Release()
		}
		got.recs, errs.recs = got.recs[:0], errs.recs[:0]
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(s)), "ns/row")
}

// TestSelectedReadsTheMaskItsSliceSees lists the TRUE rows of boolean masks, with and without
// nulls, whole and sliced off their first bits.
func TestSelectedReadsTheMaskItsSliceSees(t *testing.T) {
	b := array.NewBooleanBuilder(memory.DefaultAllocator)
	defer b.Release()
	b.AppendValues([]bool{true, false, true, true, false, false, false, true, true, false, true}, nil)
	whole := b.NewArray()
	defer whole.Release()
	b.AppendValues([]bool{true, false, true, true, false, true}, []bool{true, true, false, true, true, true})
	nulls := b.NewArray()
	defer nulls.Release()
	for _, c := range []struct {
		mask arrow.Array
		from int64
		want []int32
	}{
		{whole, 0, []int32{0, 2, 3, 7, 8, 10}},
		{whole, 3, []int32{0, 4, 5, 7}},
		{nulls, 0, []int32{0, 3, 5}},
		{nulls, 1, []int32{2, 4}},
	} {
		m := array.NewSlice(c.mask, c.from, int64(c.mask.Len()))
		if got := selected(m); !slices.Equal(got, c.want) {
			t.Errorf("selected(%v) = %v, want %v", m, got, c.want)
		}
		m.Release()
	}
}

// BenchmarkMapSelectiveWhere filters batches of 16384 rows by `v % 123 = 0`, which keeps
// one row in 123, as Nexmark q2 does.
func BenchmarkMapSelectiveWhere(b *testing.B) {
	in := arrow.NewSchema([]arrow.Field{{Name: "v", Type: arrow.PrimitiveTypes.Int64}}, nil)
	n, err := expr.Parse("v % 123 = 0")
	if err != nil {
		b.Fatal(err)
	}
	e, err := expr.Compile(n, in)
	if err != nil {
		b.Fatal(err)
	}
	vb := array.NewInt64Builder(memory.DefaultAllocator)
	for i := range 16384 {
		vb.Append(int64(i))
	}
	col := vb.NewArray()
	vb.Release()
	rec := array.NewRecordBatch(in, []arrow.Array{col}, 16384)
	col.Release()
	defer rec.Release()
	m := NewMap(e, nil, nil)
	if err := m.Open(Context{Mem: memory.DefaultAllocator}); err != nil {
		b.Fatal(err)
	}
	var got countRows
	for b.Loop() {
		rec.Retain()
		if err := m.Process(0, rec, &got); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*16384), "ns/row")
}
