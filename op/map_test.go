package op

import (
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
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
		m.Open(ctx)
		err := m.Process(0, rec(), &got)
		if err == nil || !strings.Contains(err.Error(), "select v: CAST(s AS int64)") {
			t.Errorf("error %v, want the failed CAST", err)
		}
	}
}
