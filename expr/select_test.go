package expr

import (
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
)

func TestSelect(t *testing.T) {
	rec := batch(t,
		col{"amount", "decimal(18,2)", []any{"10.00", "2.50", nil}},
		col{"fx", "decimal(10,6)", []any{"1.100000", "0.900000", "1.000000"}},
		col{"id", "string", []any{"a", "b", "c"}},
	)
	defer rec.Release()
	var exprs []*Expr
	for _, src := range []string{"id", "amount * fx", "upper(id) || '-' || id", "1"} {
		e, err := CompileString(src, rec.Schema())
		if err != nil {
			t.Fatal(err)
		}
		exprs = append(exprs, e)
	}
	out, err := Select(rec, exprs, []string{"tx_id", "amount_eur", "label", "one"})
	if err != nil {
		t.Fatal(err)
	}
	defer out.Release()
	want := arrow.NewSchema([]arrow.Field{
		{Name: "tx_id", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "amount_eur", Type: &arrow.Decimal128Type{Precision: 28, Scale: 8}, Nullable: true},
		{Name: "label", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "one", Type: arrow.PrimitiveTypes.Int64},
	}, nil)
	if !out.Schema().Equal(want) {
		t.Errorf("schema\n%s\nwant\n%s", out.Schema(), want)
	}
	if got := strings.Join(rows(out), "\n"); got != "a,11.00000000,A-a,1\nb,2.25000000,B-b,1\nc,NULL,C-c,1" {
		t.Errorf("rows:\n%s", got)
	}
	// A plain column is passed through without copying.
	if out.Column(0) != rec.Column(2) {
		t.Error("the id column was copied")
	}
	if _, err := Select(rec, exprs, []string{"x"}); err == nil {
		t.Error("names and expressions of different lengths were accepted")
	}
	bad, err := CompileString("CAST(id AS int64)", rec.Schema())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Select(rec, []*Expr{exprs[0], bad}, []string{"a", "b"}); err == nil || !strings.Contains(err.Error(), `select b: CAST(id AS int64): "a" is not a valid int64 at row 0`) {
		t.Errorf("select error: %v", err)
	}
}
