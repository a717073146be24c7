// Package expr parses SQL expressions, type-checks them against an Arrow schema and
// evaluates them over whole record batches, one column at a time.
//
//	n, err := expr.Parse("amount > 100 AND channel <> 'test'")   // syntax tree
//	e, err := expr.Compile(n, schema)                             // typed, ready to run
//	mask, err := e.Eval(batch)                                    // a new arrow.Array
//	kept, err := e.Filter(batch)                                  // rows where it is TRUE
//	out, err := expr.Select(batch, []*expr.Expr{a, b}, []string{"x", "y"})
//
// # Syntax
//
// Literals: 42 (int64), 12.50 (exact decimal(4,2)), 1.5e3 (float64), 'text' (a quote
// inside is written twice), TRUE, FALSE, NULL, TIMESTAMP '2024-01-01T00:00:00Z',
// DATE '2024-01-01' and INTERVAL '5 minutes'. Columns are identifiers or "quoted
// identifiers"; an unquoted name that matches no column exactly matches one that differs
// only in case. Operators, loosest first as in PostgreSQL: OR; AND; NOT;
// IS [NOT] NULL|TRUE|FALSE; = <> != < <= > >=; [NOT] BETWEEN, [NOT] IN (...),
// [NOT] LIKE / ILIKE [ESCAPE]; ||; + -; * / %; unary -; x::type. Also CASE (searched and simple), CAST(x AS type), EXTRACT(field FROM x),
// substring(x FROM a FOR b) and function calls, count(*) included. Keywords are
// case-insensitive. Parse errors give the 1-based character position and what was
// expected: `at 12: expected ")" but found "amount"`. Expressions nest at most MaxDepth (256)
// levels deep; Parse refuses deeper ones before anything walks them.
//
// # Types
//
// string, bool, int32, int64, float64, decimal(P,S) (decimal128, P <= 38), timestamp
// (milliseconds, UTC), date (days) and interval (milliseconds, from INTERVAL literals and
// timestamp differences). Columns may also be timestamps or durations of other units and
// dictionary-encoded strings; they are read as the types above. Values widen implicitly
// int32 -> int64 -> decimal -> float64, date -> timestamp, and a string constant compared with
// a timestamp, date or interval is parsed as one.
//
// # Semantics
//
//   - NULL: every operator and function returns NULL when an input is NULL, except AND, OR,
//     IS, IN with a match, CASE, coalesce() and concat(), which follow SQL.
//   - Integer arithmetic is int64; overflow is an error (`x + 1: integer overflow at row 3`).
//   - Decimal arithmetic is exact. + and - keep the larger scale, * adds the scales; the
//     precision grows to hold every result and is capped at 38, beyond which a result that
//     does not fit is an error, never a wrap
//     (`amount * 1000000000000000000000: decimal overflow at row 17`).
//   - Division / is float64 for all numeric operands (7 / 2 is 3.5; decimals divided lose
//     exactness). Division and % by zero give NULL for every type, floats included: never
//     an infinity or NaN (DuckDB's NULL for integers and decimals, and for floats with its
//     ieee_floating_point_ops off).
//   - Comparisons between exact numbers are exact whatever their scales; with a float64 on
//     either side they compare as float64, and NaN follows IEEE 754 (unequal to everything).
//   - CAST rounds half away from zero when it drops digits (decimal to fewer places or to an
//     integer, float to integer or decimal); a value that does not fit, or text that does not
//     parse, is an error naming the row. round(x, n) is exact for decimals.
//   - Strings compare byte-wise (code point order). Lengths and positions count characters.
//     upper() and lower() map each character on its own (ß stays ß).
//   - Times are UTC throughout; there is no daylight saving time. Weeks start on Monday and
//     day_of_week counts from Sunday = 0.
//   - An error in a row that does not matter is not reported: CASE evaluates each arm only
//     for the rows that take it, coalesce() each argument only for rows still NULL, and the
//     right side of AND (OR) only for rows where the left side is not FALSE (TRUE).
//
// Aggregate functions (count, sum, min, max, avg, count_distinct, approx_count_distinct,
// quantile) are not evaluated here: Compile refuses them unless WithAggregates maps each to
// a column the caller computed. A call may carry DISTINCT (count(DISTINCT x)) and, after it,
// FILTER (WHERE condition), which says which rows an aggregate reads; both are for the
// caller that computes aggregates, and Compile refuses them on scalar functions. IsAggregate tells them apart while walking the tree.
//
// # Evaluation
//
// Compile resolves every type and builds a tree of evaluators; parts without columns are
// computed once, at compile time. Eval walks the tree once per batch: each node produces a
// column for the whole batch from typed slices (int64, decimal128.Num, the offsets and bytes
// of strings, validity bitmaps combined 64 rows at a time). Nothing is dispatched per row
// through an interface, and string comparison and LIKE read the Arrow buffers in place.
//
// An Expr is immutable and safe for concurrent use. Eval returns arrays that own Go-allocated
// buffers and never alias the input batch, except that a bare column reference returns the
// input column itself, retained; either way the caller releases the result.
package expr
