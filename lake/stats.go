package lake

import (
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"millrace/expr"
)

// A row group's statistics (the least and greatest value of a column, how many of its
// values are NULL) can prove that a conjunct of the filter is not TRUE for any row of the
// row group, which then is not read. A conjunct that compares one column with constants is
// rewritten into a test over the statistics, which the expression evaluator runs with the
// same types and coercions as the view's where:
//
//	col = v                 min <= v AND max >= v
//	col < v, col <= v       min < v, min <= v
//	col > v, col >= v       max > v, max >= v
//	col <> v                NOT (min = v AND max = v)          (not for floats: NaN)
//	col BETWEEN a AND b     max >= a AND min <= b
//	col IN (a, b)           (min <= a AND max >= a) OR (min <= b AND max >= b)
//	col IS NULL             nulls > 0
//	col IS NOT NULL         nulls < rows
//
// A comparison is also never TRUE in a row group whose values are all NULL (nulls = rows).
// A statistic the footer does not give is NULL, and a test that is NULL keeps the row group:
// only a FALSE one skips it.

// The columns of the batch a statistics test runs over: one row per row group.
const (
	statMin   = "min"
	statMax   = "max"
	statNulls = "nulls"
	statRows  = "rows"
)

// statsSchema is the schema of the statistics of a column of type t.
func statsSchema(t arrow.DataType) *arrow.Schema {
	return arrow.NewSchema([]arrow.Field{
		{Name: statMin, Type: t, Nullable: true},
		{Name: statMax, Type: t, Nullable: true},
		{Name: statNulls, Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: statRows, Type: arrow.PrimitiveTypes.Int64},
	}, nil)
}

// statsTest is a conjunct of the filter rewritten into a test over the statistics of the
// one column it compares.
type statsTest struct {
	column int // in the schema the filter was written against
	e      *expr.Expr
}

// groupStats is what a footer says of a column in one row group, in the schema's type of
// the column: Min and Max are nil when it does not say, else int32, int64, float64, string,
// arrow.Date32, arrow.Timestamp or decimal128.Num; Nulls is -1 when it does not say.
type groupStats struct {
	Min, Max any
	Nulls    int64
}

// statsTests rewrites the conjuncts that compare one column of s with constants into tests
// over the column's statistics; the others are left out.
func statsTests(conjs []expr.Node, s *arrow.Schema) []statsTest {
	var out []statsTest
	for _, c := range conjs {
		col, n, ok := rewriteForStats(c, s)
		if !ok {
			continue
		}
		e, err := expr.Compile(n, statsSchema(s.Field(col).Type))
		if err != nil || e.Type().ID() != arrow.BOOL {
			continue
		}
		out = append(out, statsTest{column: col, e: e})
	}
	return out
}

// rewriteForStats rewrites one conjunct, as the table at the top of this file says, and
// returns the column of s it tests.
func rewriteForStats(n expr.Node, s *arrow.Schema) (int, expr.Node, bool) {
	minC, maxC := &expr.Column{Name: statMin}, &expr.Column{Name: statMax}
	nulls, rows := &expr.Column{Name: statNulls}, &expr.Column{Name: statRows}
	and := func(l, r expr.Node) expr.Node { return &expr.Binary{Op: "AND", L: l, R: r} }
	bin := func(op string, l, r expr.Node) expr.Node { return &expr.Binary{Op: op, L: l, R: r} }
	notAllNull := bin("<", nulls, rows)
	contains := func(v expr.Node) expr.Node { return and(bin("<=", minC, v), bin(">=", maxC, v)) }
	switch n := n.(type) {
	case *expr.Binary:
		col, v, op, ok := columnAgainstConstant(n, s)
		if !ok {
			return 0, nil, false
		}
		var t expr.Node
		switch op {
		case "=":
			t = contains(v)
		case "<", "<=":
			t = bin(op, minC, v)
		case ">", ">=":
			t = bin(op, maxC, v)
		case "<>":
			if s.Field(col).Type.ID() == arrow.FLOAT64 || s.Field(col).Type.ID() == arrow.FLOAT32 {
				return 0, nil, false
			}
			t = &expr.Unary{Op: "NOT", X: and(bin("=", minC, v), bin("=", maxC, v))}
		default:
			return 0, nil, false
		}
		return col, and(notAllNull, t), true
	case *expr.Between:
		col, ok := columnOf(n.X, s)
		if !ok || n.Not || !constant(n.Lo) || !constant(n.Hi) {
			return 0, nil, false
		}
		return col, and(notAllNull, and(bin(">=", maxC, n.Lo), bin("<=", minC, n.Hi))), true
	case *expr.In:
		col, ok := columnOf(n.X, s)
		if !ok || n.Not || len(n.List) == 0 {
			return 0, nil, false
		}
		var t expr.Node
		for _, v := range n.List {
			if !constant(v) {
				return 0, nil, false
			}
			if t == nil {
				t = contains(v)
			} else {
				t = bin("OR", t, contains(v))
			}
		}
		return col, and(notAllNull, t), true
	case *expr.IsNull:
		col, ok := columnOf(n.X, s)
		if !ok {
			return 0, nil, false
		}
		if n.Not {
			return col, notAllNull, true
		}
		return col, bin(">", nulls, &expr.Literal{Kind: expr.LitNumber, Value: "0"}), true
	}
	return 0, nil, false
}

// columnAgainstConstant takes a comparison of a column of s with a constant, either way
// round, and returns it as col op v.
func columnAgainstConstant(n *expr.Binary, s *arrow.Schema) (int, expr.Node, string, bool) {
	flip := map[string]string{"=": "=", "<>": "<>", "<": ">", "<=": ">=", ">": "<", ">=": "<="}
	if _, ok := flip[n.Op]; !ok {
		return 0, nil, "", false
	}
	if col, ok := columnOf(n.L, s); ok && constant(n.R) {
		return col, n.R, n.Op, true
	}
	if col, ok := columnOf(n.R, s); ok && constant(n.L) {
		return col, n.L, flip[n.Op], true
	}
	return 0, nil, "", false
}

// columnOf finds the column n names in s as the compiler does: by exact name first, then
// ignoring case.
func columnOf(n expr.Node, s *arrow.Schema) (int, bool) {
	c, ok := n.(*expr.Column)
	if !ok {
		return 0, false
	}
	if i := s.FieldIndices(c.Name); len(i) > 0 {
		return i[0], true
	}
	for i, f := range s.Fields() {
		if strings.EqualFold(f.Name, c.Name) {
			return i, true
		}
	}
	return 0, false
}

// constant says whether n refers to no column.
func constant(n expr.Node) bool { return len(expr.Columns(n)) == 0 }

// keepRowGroups decides which row groups of a file may hold rows the filter keeps, from
// the statistics of each tested column (stats[column][group]) and each row group's rows:
// a row group is skipped when a test is FALSE for it. A column without statistics keeps
// every row group.
func keepRowGroups(tests []statsTest, s *arrow.Schema, stats map[int][]groupStats, rows []int64) ([]bool, error) {
	keep := make([]bool, len(rows))
	for g := range keep {
		keep[g] = true
	}
	for _, t := range tests {
		st, ok := stats[t.column]
		if !ok {
			continue
		}
		rec, err := statsBatch(s.Field(t.column).Type, st, rows)
		if err != nil {
			return nil, fmt.Errorf("statistics of column %q: %w", s.Field(t.column).Name, err)
		}
		got, err := t.e.Eval(rec)
		rec.Release()
		if err != nil {
			continue // a test that cannot be evaluated skips nothing
		}
		b := got.(*array.Boolean)
		for g := range keep {
			if b.IsValid(g) && !b.Value(g) {
				keep[g] = false
			}
		}
		got.Release()
	}
	return keep, nil
}

// statsBatch makes the batch a statistics test runs over: one row per row group.
func statsBatch(t arrow.DataType, st []groupStats, rows []int64) (arrow.RecordBatch, error) {
	mem := memory.DefaultAllocator
	b := array.NewRecordBuilder(mem, statsSchema(t))
	defer b.Release()
	for g, gs := range st {
		if err := appendStat(b.Field(0), gs.Min); err != nil {
			return nil, err
		}
		if err := appendStat(b.Field(1), gs.Max); err != nil {
			return nil, err
		}
		if gs.Nulls < 0 {
			b.Field(2).AppendNull()
		} else {
			b.Field(2).(*array.Int64Builder).Append(gs.Nulls)
		}
		b.Field(3).(*array.Int64Builder).Append(rows[g])
	}
	return b.NewRecordBatch(), nil
}

// appendStat appends a statistic's value, NULL for nil.
func appendStat(b array.Builder, v any) error {
	if v == nil {
		b.AppendNull()
		return nil
	}
	ok := false
	switch b := b.(type) {
	case *array.Int32Builder:
		ok = appendAs[int32](b, v)
	case *array.Int64Builder:
		ok = appendAs[int64](b, v)
	case *array.Float64Builder:
		ok = appendAs[float64](b, v)
	case *array.StringBuilder:
		ok = appendAs[string](b, v)
	case *array.Date32Builder:
		ok = appendAs[arrow.Date32](b, v)
	case *array.TimestampBuilder:
		ok = appendAs[arrow.Timestamp](b, v)
	case *array.Decimal128Builder:
		ok = appendAs[decimal128.Num](b, v)
	}
	if !ok {
		return fmt.Errorf("a %T statistic for a column of type %s", v, b.Type())
	}
	return nil
}

// appendAs appends v to b if v is a T, and tells whether it was.
func appendAs[T any](b interface{ Append(T) }, v any) bool {
	x, ok := v.(T)
	if ok {
		b.Append(x)
	}
	return ok
}
