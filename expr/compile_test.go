package expr

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"

	"millrace/schema"
)

func TestCompileErrors(t *testing.T) {
	s := schema.Transaction()
	for _, tc := range []struct{ src, want string }{
		{"amout > 0", `unknown column "amout" (did you mean "amount"?)`},
		{"xyzzy > 0", `unknown column "xyzzy"`},
		{"channel > amount", `cannot compare string with decimal(18,2)`},
		{"ts = 5", `cannot compare timestamp with int64`},
		{"ts >= 'yesterday'", `"yesterday" is not a valid timestamp`},
		{"sumx(amount)", `function "sumx" does not exist (did you mean "sum"?)`},
		{"lowr(channel)", `function "lowr" does not exist (did you mean "lower"?)`},
		{"frobnicate(amount)", `function "frobnicate" does not exist`},
		{"sum(amount)", `aggregate sum() is not allowed here`},
		{"amount + count(*)", `aggregate count() is not allowed here`},
		{"lower(*)", `lower(*) is not allowed: * is only for count(*)`},
		{"lower(DISTINCT channel)", `lower(DISTINCT ...) is not allowed: DISTINCT is only for aggregates`},
		{"lower(channel) FILTER (WHERE amount > 0)", `lower(...) FILTER (WHERE ...) is not allowed: FILTER is only for aggregates`},
		{"lower(channel, channel)", `lower() takes 1 argument, not 2`},
		{"substr(channel)", `substr() takes 2 to 3 arguments, not 1`},
		{"coalesce()", `coalesce() takes at least 1 argument, not 0`},
		{"lower(amount)", `lower() needs a string as argument 1, but amount is decimal(18,2)`},
		{"round(amount, mcc)", `round() needs a constant integer as argument 2, not mcc`},
		{"date_trunc('fortnight', ts)", `date_trunc(): unknown unit "fortnight"`},
		{"date_trunc(channel, ts)", `date_trunc() needs a constant string as argument 1, not channel`},
		{"amount AND is_fraud", `AND needs a bool, but amount is decimal(18,2)`},
		{"NOT channel", `NOT needs a bool, but channel is string`},
		{"amount + channel", `cannot apply + to decimal(18,2) and string`},
		{"ts + 1", `cannot apply + to timestamp and int64`},
		{"mcc || mcc", `cannot apply || to int32 and int32: one side must be a string`},
		{"-channel", `cannot negate string`},
		{"CAST(ts AS int64)", `cannot cast timestamp to int64`},
		{"CAST(is_fraud AS date)", `cannot cast bool to date`},
		{"channel LIKE 5", `LIKE needs strings, but 5 is int64`},
		{"channel LIKE 'a' ESCAPE channel", `ESCAPE needs a constant string, not channel`},
		{"channel LIKE 'a' ESCAPE 'ab'", `ESCAPE needs a single character, not "ab"`},
		{`channel LIKE 'a\'`, `ends with the escape character`},
		{"CASE WHEN amount THEN 1 END", `CASE WHEN needs a bool, but amount is decimal(18,2)`},
		{"CASE WHEN is_fraud THEN 1 ELSE 'x' END", `CASE results: cannot combine int64 with string`},
		{"coalesce(amount, channel)", `coalesce(): cannot combine decimal(18,2) with string`},
		{"mcc IN (1, 'x')", `cannot compare int64 with string in mcc IN (1, 'x')`},
		{"amount BETWEEN 'a' AND 'z'", `cannot compare decimal(18,2) with string`},
		{"amount * amount * amount * 0.0000000000000000000000000000000001", `decimals places`},
		{"1e999", `number 1e999 is out of the range of float64`},
		{"1 / 0 + 9223372036854775807 * 2", `integer overflow`},
		{"CAST('abc' AS int64)", `"abc" is not a valid int64`},
	} {
		_, err := CompileString(tc.src, s)
		if err == nil {
			t.Errorf("%s: compiled, want error %q", tc.src, tc.want)
			continue
		}
		if tc.want == "decimals places" {
			tc.want = "decimal places, more than 38"
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s:\n got %v\nwant %s", tc.src, err, tc.want)
		}
	}
}

func TestCompileTypes(t *testing.T) {
	s := schema.Transaction()
	for _, tc := range []struct {
		src      string
		typ      string
		nullable bool
	}{
		{"amount", "decimal(18,2)", false},
		{"lat", "float64", true},
		{"amount > 0", "bool", false},
		{"amount + 1", "decimal(19,2)", false},
		{"amount + amount", "decimal(19,2)", false},
		{"amount * 2", "decimal(19,2)", false},
		{"amount * 1.1", "decimal(20,3)", false},
		{"amount * 1.1 + 2", "decimal(21,3)", false},
		{"amount + 0.001", "decimal(20,3)", false},
		{"amount - mcc", "decimal(19,2)", false},
		{"amount * mcc", "decimal(28,2)", false},
		{"amount * amount * amount", "decimal(38,6)", false},
		{"amount % 7", "decimal(3,2)", false},
		{"amount % 7.5", "decimal(3,2)", false},
		{"amount % mcc", "decimal(12,2)", true},
		{"amount / 3", "float64", false},
		{"amount / mcc", "float64", true},
		{"mcc / 2", "float64", false},
		{"mcc + 1", "int64", false},
		{"mcc % 10", "int64", false},
		{"-mcc", "int64", false},
		{"-amount", "decimal(18,2)", false},
		{"amount + lat", "float64", true},
		{"1.5e0 * 2", "float64", false},
		{"NULL", "null", true},
		{"NULL + 1", "int64", true},
		{"channel || mcc", "string", false},
		{"concat(channel, NULL, lat)", "string", false},
		{"CASE WHEN mcc > 1 THEN 1 ELSE 2.5 END", "decimal(20,1)", false},
		{"CASE WHEN mcc > 1 THEN 1 END", "int64", true},
		{"CASE WHEN mcc > 1 THEN mcc ELSE 2 END", "int64", false},
		{"coalesce(lat, 0)", "float64", false},
		{"coalesce(lat, lon)", "float64", true},
		{"nullif(mcc, 0)", "int32", true},
		{"greatest(mcc, 10, amount)", "decimal(21,2)", false},
		{"round(amount, 1)", "decimal(18,1)", false},
		{"round(amount)", "decimal(17,0)", false},
		{"round(amount, 5)", "decimal(18,2)", false},
		{"round(amount, -2)", "decimal(17,0)", false},
		{"floor(amount)", "decimal(17,0)", false},
		{"ceil(lat)", "float64", true},
		{"abs(mcc)", "int64", false},
		{"date(ts)", "date", false},
		{"date_trunc('hour', ts)", "timestamp", false},
		{"hour(ts)", "int32", false},
		{"epoch_ms(ts)", "int64", false},
		{"to_timestamp_ms(epoch_ms(ts) + 1000)", "timestamp", false},
		{"ts + INTERVAL '5 minutes'", "timestamp", false},
		{"ts - ts", "interval", false},
		{"date(ts) + 1", "date", false},
		{"date(ts) - date(ts)", "int64", false},
		{"date(ts) + INTERVAL '1 hour'", "timestamp", false},
		{"INTERVAL '1 minute' * 5", "interval", false},
		{"CAST(amount AS int32)", "int32", false},
		{"length(channel)", "int64", false},
		{"channel LIKE 'p%'", "bool", false},
		{"lat IS NULL", "bool", false},
		{"is_fraud IS TRUE", "bool", false},
		{"mcc IN (1, 2, NULL)", "bool", true},
		{"mcc IN (1, 2)", "bool", false},
		{"lat IN (1, 2)", "bool", true},
		{"1 + 2", "int64", false},
		{"1 / 0", "float64", true},
	} {
		e, err := CompileString(tc.src, s)
		if err != nil {
			t.Errorf("%s: %v", tc.src, err)
			continue
		}
		if got := typeName(e.Type()); got != tc.typ || e.Nullable() != tc.nullable {
			t.Errorf("%s: %s nullable=%v, want %s nullable=%v", tc.src, got, e.Nullable(), tc.typ, tc.nullable)
		}
	}
}

func TestCompileColumns(t *testing.T) {
	s := schema.Transaction()
	e, err := CompileString("amount > 100 AND channel <> 'test' OR AMOUNT < 0 AND ts IS NULL", s)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := e.Columns(), []int{schema.TS, schema.AmountCol, schema.Channel}; !slices.Equal(got, want) {
		t.Errorf("Columns() = %v, want %v", got, want)
	}
	if e.String() != "amount > 100 AND channel <> 'test' OR AMOUNT < 0 AND ts IS NULL" {
		t.Errorf("String() = %s", e)
	}
	// A name that differs only in case from two columns is ambiguous.
	s2 := arrow.NewSchema([]arrow.Field{{Name: "A", Type: arrow.PrimitiveTypes.Int64}, {Name: "a", Type: arrow.PrimitiveTypes.Int64}}, nil)
	if _, err := CompileString("a + A", s2); err != nil {
		t.Errorf("exact matches must win: %v", err)
	}
	s3 := arrow.NewSchema([]arrow.Field{{Name: "Ab", Type: arrow.PrimitiveTypes.Int64}, {Name: "aB", Type: arrow.PrimitiveTypes.Int64}}, nil)
	if _, err := CompileString("ab", s3); err == nil || !strings.Contains(err.Error(), "ambiguous") {
		t.Errorf("ab against Ab and aB: %v", err)
	}
	s4 := arrow.NewSchema([]arrow.Field{{Name: "l", Type: arrow.ListOf(arrow.PrimitiveTypes.Int64)}}, nil)
	if _, err := CompileString("l", s4); err == nil || !strings.Contains(err.Error(), "not support") {
		t.Errorf("list column: %v", err)
	}
}

func TestCompileAggregates(t *testing.T) {
	// After aggregation the planner's batch holds the aggregates as columns.
	s := arrow.NewSchema([]arrow.Field{
		{Name: "card_id", Type: arrow.BinaryTypes.String},
		{Name: "$0", Type: arrow.PrimitiveTypes.Int64},
		{Name: "$1", Type: schema.Amount, Nullable: true},
	}, nil)
	slots := map[string]int{"count(*)": 1, "sum(amount)": 2}
	resolve := func(c *Call) (int, error) {
		if i, ok := slots[c.String()]; ok {
			return i, nil
		}
		return 0, fmt.Errorf("aggregate %s is not computed", c)
	}
	e, err := CompileString("sum(amount) / count(*) > 10 AND count(*) > 20", s, WithAggregates(resolve))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(e.Columns(), []int{1, 2}) {
		t.Errorf("Columns() = %v", e.Columns())
	}
	if _, err := CompileString("max(amount)", s, WithAggregates(resolve)); err == nil || err.Error() != "aggregate max(amount) is not computed" {
		t.Errorf("unresolved aggregate: %v", err)
	}
	for _, name := range []string{"count", "SUM", "min", "max", "avg", "approx_count_distinct", "quantile", "quantile_disc", "quantile_cont", "approx_quantile", "count_if"} {
		if !IsAggregate(name) {
			t.Errorf("IsAggregate(%q) = false", name)
		}
	}
	if IsAggregate("lower") {
		t.Error("lower is not an aggregate")
	}
}

func TestEvalChecksBatch(t *testing.T) {
	e, err := CompileString("amount > 0", schema.Transaction())
	if err != nil {
		t.Fatal(err)
	}
	rec := batch(t, col{"amount", "int64", []any{1}})
	defer rec.Release()
	if _, err := e.Eval(rec); err == nil || !strings.Contains(err.Error(), "batch has 1 columns") {
		t.Errorf("batch too narrow: %v", err)
	}
	ints := batch(t, col{"x", "int64", []any{1}})
	defer ints.Release()
	e2, err := CompileString("x > 0", ints.Schema())
	if err != nil {
		t.Fatal(err)
	}
	rec2 := batch(t, col{"x", "string", []any{"a"}})
	defer rec2.Release()
	if _, err := e2.Eval(rec2); err == nil || !strings.Contains(err.Error(), "is utf8 in the batch but int64") {
		t.Errorf("wrong column type: %v", err)
	}
}

func TestEvalErrorType(t *testing.T) {
	rec := batch(t, col{"x", "int64", []any{1, 9223372036854775807, 3}})
	defer rec.Release()
	_, err := evalText(t, rec, "x + 1")
	var ee *EvalError
	if !errors.As(err, &ee) || ee.Row != 1 || ee.Expr != "x + 1" || err.Error() != "x + 1: integer overflow at row 1" {
		t.Errorf("got %v", err)
	}
}
