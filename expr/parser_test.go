package expr

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
)

// TestParseCanonical parses expressions and checks the canonical SQL they render to, which
// shows the tree's shape: parentheses appear exactly where precedence needs them.
func TestParseCanonical(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		// literals and columns
		{"42", "42"},
		{"12.50", "12.50"},
		{"1.5e3", "1.5e3"},
		{"'it''s'", "'it''s'"},
		{"true", "TRUE"},
		{"False", "FALSE"},
		{"null", "NULL"},
		{"timestamp '2024-01-01T00:00:00Z'", "TIMESTAMP '2024-01-01T00:00:00Z'"},
		{"DATE '2024-02-29'", "DATE '2024-02-29'"},
		{"interval '5 minutes'", "INTERVAL '5 minutes'"},
		{"amount", "amount"},
		{`"Amount"`, "Amount"},
		{`"weird col"`, `"weird col"`},
		{`"select"`, "select"},
		{`"and"`, `"and"`},
		{`"x""y"`, `"x""y"`},
		// arithmetic precedence and associativity
		{"1 + 2 * 3", "1 + 2 * 3"},
		{"(1 + 2) * 3", "(1 + 2) * 3"},
		{"a - b - c", "a - b - c"},
		{"a - (b - c)", "a - (b - c)"},
		{"a / b * c", "a / b * c"},
		{"a % b", "a % b"},
		{"-a * b", "-a * b"},
		{"-(a * b)", "-(a * b)"},
		{"- -a", "-(-a)"},
		{"-5", "-5"},
		{"- -5", "5"},
		{"+5", "5"},
		{"-5 * 2", "-5 * 2"},
		{"a - -5", "a - -5"},
		{"+a", "+a"},
		{"'a' || 'b' || c", "'a' || 'b' || c"},
		{"a || b + 1", "a || b + 1"},
		{"(a || b) + 1", "(a || b) + 1"},
		// comparisons and logic
		{"a = 1 AND b <> 2 OR c < 3", "a = 1 AND b <> 2 OR c < 3"},
		{"a = 1 AND (b = 2 OR c = 3)", "a = 1 AND (b = 2 OR c = 3)"},
		{"a != b", "a <> b"},
		{"NOT a = b", "NOT a = b"},
		{"NOT (a AND b)", "NOT (a AND b)"},
		{"NOT NOT a", "NOT NOT a"},
		{"(NOT a) = b", "(NOT a) = b"},
		{"a <= b and c >= d", "a <= b AND c >= d"},
		{"a > b = true", "a > b = TRUE"},
		{"amount > 100 AND channel <> 'test'", "amount > 100 AND channel <> 'test'"},
		// IS
		{"a IS NULL", "a IS NULL"},
		{"a is not null", "a IS NOT NULL"},
		{"a = b IS NULL", "a = b IS NULL"},
		{"NOT a IS NULL", "NOT a IS NULL"},
		{"a IS TRUE", "a IS TRUE"},
		{"a IS NOT FALSE", "a IS NOT FALSE"},
		{"a + 1 IS NULL", "a + 1 IS NULL"},
		// IN, BETWEEN, LIKE
		{"currency IN ('EUR', 'USD', 'GBP')", "currency IN ('EUR', 'USD', 'GBP')"},
		{"x NOT IN (1, 2)", "x NOT IN (1, 2)"},
		{"x in (y + 1)", "x IN (y + 1)"},
		{"a BETWEEN 1 AND 10 AND b", "a BETWEEN 1 AND 10 AND b"},
		{"a NOT BETWEEN b + 1 AND c * 2", "a NOT BETWEEN b + 1 AND c * 2"},
		{"a BETWEEN (1 AND 2) AND 3", "a BETWEEN (1 AND 2) AND 3"},
		{"a LIKE 'x%'", "a LIKE 'x%'"},
		{"a NOT LIKE 'x%' ESCAPE '!'", "a NOT LIKE 'x%' ESCAPE '!'"},
		{"a ilike 'X_'", "a ILIKE 'X_'"},
		{"a NOT ILIKE b || '%'", "a NOT ILIKE b || '%'"},
		{"a LIKE 'x' = false", "a LIKE 'x' = FALSE"},
		{"(a = b) LIKE c", "(a = b) LIKE c"},
		{"a NOT IN (1) IS NULL", "a NOT IN (1) IS NULL"},
		// CASE, CAST, calls
		{"CASE WHEN a THEN 1 WHEN b THEN 2 ELSE 3 END", "CASE WHEN a THEN 1 WHEN b THEN 2 ELSE 3 END"},
		{"case x when 1 then 'one' end", "CASE x WHEN 1 THEN 'one' END"},
		{"CASE WHEN a > 1 THEN b + 1 END * 2", "CASE WHEN a > 1 THEN b + 1 END * 2"},
		{"CAST(amount AS string)", "CAST(amount AS string)"},
		{"cast(x as DECIMAL(10, 2))", "CAST(x AS decimal(10,2))"},
		{"x::int", "CAST(x AS int32)"},
		{"x::bigint::text", "CAST(CAST(x AS int64) AS string)"},
		{"-x::int", "-CAST(x AS int32)"},
		{"cast(x as double precision)", "CAST(x AS float64)"},
		{"cast(x as varchar(20))", "CAST(x AS string)"},
		{"cast(x as timestamp)", "CAST(x AS timestamp)"},
		{"count(*)", "count(*)"},
		{"COUNT(DISTINCT card_id)", "count(DISTINCT card_id)"},
		{"count(*) filter (where price < 10000)", "count(*) FILTER (WHERE price < 10000)"},
		{"count(DISTINCT bidder) FILTER (WHERE price >= 10000 and price < 1000000) + 1",
			"count(DISTINCT bidder) FILTER (WHERE price >= 10000 AND price < 1000000) + 1"},
		{"sum(amount) / count(*)", "sum(amount) / count(*)"},
		{"quantile(amount, 0.99)", "quantile(amount, 0.99)"},
		{"now()", "now()"},
		{"Lower(x)", "lower(x)"},
		{"coalesce(a, b, 0)", "coalesce(a, b, 0)"},
		{"substring(x FROM 2 FOR 3)", "substring(x, 2, 3)"},
		{"substring(x from 2)", "substring(x, 2)"},
		{"substr(x, 2, 3)", "substr(x, 2, 3)"},
		{"extract(hour from ts)", "hour(ts)"},
		{"EXTRACT(DOW FROM ts)", "day_of_week(ts)"},
		{"date(ts)", "date(ts)"},
		{"date", "date"},
		{"date + 1", "date + 1"},
		{"timestamp", "timestamp"},
		{"  a\n\t+ b ", "a + b"},
	} {
		n, err := Parse(tc.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.in, err)
			continue
		}
		if got := n.String(); got != tc.want {
			t.Errorf("Parse(%q).String() = %q, want %q", tc.in, got, tc.want)
		}
		// The canonical form parses back to the same tree.
		again, err := Parse(n.String())
		if err != nil {
			t.Errorf("reparse %q: %v", n.String(), err)
			continue
		}
		if !reflect.DeepEqual(n, again) {
			t.Errorf("%q: reparsed tree differs: %#v vs %#v", tc.in, n, again)
		}
	}
}

func TestParseTree(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Node
	}{
		{"a + 2 * b", &Binary{Op: "+", L: &Column{Name: "a"}, R: &Binary{Op: "*", L: &Literal{Kind: LitNumber, Value: "2"}, R: &Column{Name: "b"}}}},
		{"x NOT BETWEEN 1 AND 2", &Between{X: &Column{Name: "x"}, Lo: &Literal{Kind: LitNumber, Value: "1"}, Hi: &Literal{Kind: LitNumber, Value: "2"}, Not: true}},
		{"count(*)", &Call{Name: "count", Star: true}},
		{"f()", &Call{Name: "f"}},
		{"s LIKE 'a' ESCAPE ''", &Like{X: &Column{Name: "s"}, Pattern: &Literal{Kind: LitString, Value: "a"}, Escape: &Literal{Kind: LitString, Value: ""}}},
		{"CASE x WHEN 1 THEN 2 END", &Case{Operand: &Column{Name: "x"}, Whens: []When{{Cond: &Literal{Kind: LitNumber, Value: "1"}, Result: &Literal{Kind: LitNumber, Value: "2"}}}}},
		{"x::decimal(18,2)", &Cast{X: &Column{Name: "x"}, Type: &arrow.Decimal128Type{Precision: 18, Scale: 2}}},
		{"a IS NOT TRUE", &IsBool{X: &Column{Name: "a"}, Value: true, Not: true}},
		{"NOT a", &Unary{Op: "NOT", X: &Column{Name: "a"}}},
		{"x IN (NULL)", &In{X: &Column{Name: "x"}, List: []Node{&Literal{Kind: LitNull}}}},
	} {
		n, err := Parse(tc.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.in, err)
			continue
		}
		if !reflect.DeepEqual(n, tc.want) {
			t.Errorf("Parse(%q) = %#v, want %#v", tc.in, n, tc.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"sum(amount", `at 11: expected "," or ")" but found end of input`},
		{"(a + b amount", `at 8: expected ")" but found "amount"`},
		{"a +", `at 4: expected expression but found end of input`},
		{"a b", `at 3: expected end of expression but found "b"`},
		{"", `at 1: expected expression but found end of input`},
		{"a = AND b", `at 5: expected expression but found "AND"`},
		{"a = NOT b", `at 5: expected expression but found "NOT"`},
		{"x IN 1", `at 6: expected "(" but found "1"`},
		{"x IN ()", `at 7: expected expression but found ")"`},
		{"x BETWEEN 1 OR 2", `at 13: expected AND but found "OR"`},
		{"a IS 5", `at 6: expected NULL, TRUE or FALSE but found "5"`},
		{"CASE END", `at 6: expected WHEN but found "END"`},
		{"CASE WHEN a THEN 1", `at 19: expected WHEN, ELSE or END but found end of input`},
		{"CASE WHEN a 1 END", `at 13: expected THEN but found "1"`},
		{"CASE WHEN a THEN 1 ELSE 2", `at 26: expected END but found end of input`},
		{"CAST(x int)", `at 8: expected AS but found "int"`},
		{"CAST(x AS)", `at 10: expected type name but found ")"`},
		{"x::varchar2", `at 4: unknown type "varchar2" (known: string, bool, int32, int64, float64, timestamp, date, decimal(P,S))`},
		{"x::decimal", `at 4: decimal needs a precision and scale, as in decimal(18,2)`},
		{"x::decimal(40,2)", `at 4: bad decimal type "decimal(40,2)": want decimal(P,S) with 1 <= P <= 38, 0 <= S <= P`},
		{"TIMESTAMP '2024-13-01T00:00:00Z'", `at 11: "2024-13-01T00:00:00Z" is not a timestamp: no such date`},
		{"DATE '2023-02-29'", `at 6: "2023-02-29" is not a date (want YYYY-MM-DD)`},
		{"INTERVAL '5 fortnights'", `at 10: "5 fortnights" is not an interval (units: ms, second, minute, hour, day, week)`},
		{"extract(hour ts)", `at 14: expected FROM but found "ts"`},
		{"count(*, x)", `at 8: expected ")" but found ","`},
		{"count(*) filter where x", `at 17: expected "(" but found "where"`},
		{"count(*) filter (x)", `at 18: expected WHERE but found "x"`},
		{"count(*) filter (where x", `at 25: expected ")" but found end of input`},
		{"ümlaut + )", `at 10: expected expression but found ")"`},
		{"a LIKE", `at 7: expected expression but found end of input`},
		{"f(a,)", `at 5: expected expression but found ")"`},
	} {
		_, err := Parse(tc.in)
		if err == nil {
			t.Errorf("Parse(%q) succeeded, want %q", tc.in, tc.want)
			continue
		}
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("Parse(%q): %T is not a *SyntaxError", tc.in, err)
		}
		if err.Error() != tc.want {
			t.Errorf("Parse(%q):\n got %s\nwant %s", tc.in, err, tc.want)
		}
	}
}

// TestParseRefusesDeepNesting parses generated expressions at and past MaxDepth: each kind
// of nesting is accepted up to the limit and refused one level beyond it, and the huge ones
// are refused with the same message instead of exhausting the stack.
func TestParseRefusesDeepNesting(t *testing.T) {
	wrap := func(open, x, close string, n int) string {
		return strings.Repeat(open, n) + x + strings.Repeat(close, n)
	}
	chain := func(op string, n int) string { return "a" + strings.Repeat(op+"a", n) }
	tests := []struct {
		name string
		src  func(n int) string
		// limit is the largest n accepted: MaxDepth counts the top-level expression and,
		// for chains, the leaves below the last operator.
		limit int
	}{
		{"parentheses", func(n int) string { return wrap("(", "a > 0", ")", n) }, MaxDepth - 1},
		{"calls", func(n int) string { return wrap("abs(", "a", ")", n) }, MaxDepth - 1},
		{"not", func(n int) string { return strings.Repeat("NOT ", n) + "a" }, MaxDepth - 1},
		{"signs", func(n int) string { return strings.Repeat("- ", n) + "a" }, MaxDepth - 1},
		{"case", func(n int) string { return wrap("CASE WHEN a THEN ", "1", " END", n) }, MaxDepth - 1},
		{"plus chain", func(n int) string { return chain(" + ", n) }, MaxDepth - 1},
		{"and chain", func(n int) string { return chain(" AND ", n) }, MaxDepth - 1},
		{"casts", func(n int) string { return "a" + strings.Repeat("::int64", n) }, MaxDepth - 1},
		{"is null", func(n int) string { return "a" + strings.Repeat(" IS NULL", n) }, MaxDepth - 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Parse(tt.src(tt.limit)); err != nil {
				t.Errorf("at the limit (%d): %v", tt.limit, err)
			}
			for _, n := range []int{tt.limit + 1, 100_000} {
				_, err := Parse(tt.src(n))
				var se *SyntaxError
				if !errors.As(err, &se) || !strings.Contains(se.Msg, fmt.Sprintf("expression nested deeper than %d levels", MaxDepth)) {
					t.Errorf("n=%d: got %v, want a syntax error about nesting", n, err)
				}
			}
		})
	}
	// A flat chain a million operators long is refused at its 256th operator, "a+" apart.
	want := fmt.Sprintf("at %d: expression nested deeper than %d levels", 2*MaxDepth, MaxDepth)
	if _, err := Parse(chain("+", 1_000_000)); err == nil || err.Error() != want {
		t.Errorf("a million additions: %v, want %s", err, want)
	}
}
