// Package agg holds millrace's aggregate functions as group accumulators: one Accumulator
// computes one aggregate (say sum(amount)) for many groups at once, with each group's state in
// typed slices indexed by a dense group id, in the manner of DataFusion's GroupsAccumulator and
// DuckDB's aggregate states. The window operator maps (key, window) pairs to group ids and
// feeds whole batches through Update; no per-row interface call, map lookup or allocation sits
// in an Update kernel.
//
// # Two phases
//
// Aggregation is two-phase so that a hot key does not pin one core: partial accumulators before
// the keyed exchange, a final one after. Partial encodes the states of some groups as an Arrow
// column, MergePartial folds such a column into another accumulator, and Final turns states into
// results. Splitting rows across any number of partial accumulators and merging their partials
// gives exactly the Final of one accumulator fed every row: counts, integer and decimal sums are
// exact, HyperLogLog and DDSketch states merge into the same sketch, exact quantiles into the
// same values. The one exception is the
// float64 sum (and avg of float64), whose rounding depends on the order of additions. The same
// columns are what checkpoints store.
//
// # Functions, results and state columns
//
//	function                     input                         result               state column
//	count(*)                     -                             int64                int64
//	count(x)                     any                           int64                int64
//	count_if(x)                  bool                          int64                int64
//	sum(x)                       int8..int64, uint8..uint32    int64                struct<sum int64, count int64>
//	sum(x)                       decimal(P,S)                  decimal(38,S)        struct<sum decimal(38,S), count int64>
//	sum(x)                       float32, float64              float64              struct<sum float64, count int64>
//	avg(x)                       integers                      float64              struct<sum int64, count int64>
//	avg(x)                       decimal(P,S)                  decimal(P',S')       struct<sum decimal(38,S), count int64>
//	avg(x)                       float32, float64              float64              struct<sum float64, count int64>
//	sum(x), avg(x)               bool (true is 1)              int64, float64       struct<sum int64, count int64>
//	min(x), max(x)               numbers, decimal, timestamp,  the input type       the input type, null when empty
//	                             date, string
//	count_distinct(x)            numbers, decimal, timestamp,  int64                binary: the distinct values
//	                             date, string
//	approx_count_distinct(x)     numbers, decimal, timestamp,  int64                binary: a HyperLogLog sketch
//	                             date, string
//	quantile_disc(x, q)          numbers, decimal              the input type       binary: the values
//	quantile_cont(x, q)          integers                      float64              binary: the values
//	quantile_cont(x, q)          float32, float64, decimal     the input type       binary: the values
//	approx_quantile(x, q)        numbers, decimal              float64              binary: a DDSketch
//
// Strings may be plain utf8 or dictionary-encoded utf8; min and max of either return utf8.
//
// Any of them may be wrapped by Filtered, for a call with a FILTER clause (count(*) FILTER
// (WHERE price < 10000)): its last argument is then a boolean column, and only the rows where
// it is true are added.
//
// Nulls are skipped. count, count_distinct and approx_count_distinct return 0 for a group
// without values; the others return null, as SQL does.
//
// Sums are checked: an int64 or decimal(38,S) sum that leaves its range is an error naming the
// function and group, never a wrapped value. sum and avg count the non-null values they add, so
// the sum of no values is null and not 0.
//
// avg of decimal(P,S) is exact decimal(P',S') with S' = S + min(4, 38-P) and P' = min(P+4, 38),
// rounded half away from zero: avg of decimal(18,2) money is decimal(22,6). The average of
// values of P-S integer digits has at most P-S integer digits, so it always fits. avg of integers
// and floats is float64.
//
// count_distinct is exact: each group keeps a set of its distinct values, so its memory grows
// with them (about 20 bytes a value of up to 8 bytes, 36 plus the length for strings and
// wider decimals). Values are told apart by their bytes, as approx_count_distinct's hash
// reads them.
//
// approx_count_distinct hashes the raw little-endian bytes of each value (the utf8 bytes of a
// string, the 16 bytes of a decimal128) with the sketch's MetroHash64, into a precision-14
// HyperLogLog (16384 registers, about 0.8% standard error) that stays sparse, and small, until a
// group holds on the order of ten thousand distinct values; below that the estimate is all but
// exact. Floats are hashed by bit pattern, so 0.0 and -0.0
// count as two values.
//
// quantile_disc(x, q) and quantile_cont(x, q) are exact and defined as DuckDB defines them;
// quantile is quantile_disc, as in DuckDB. Each group keeps every value (8 bytes each, 16 for
// decimals wider than 18 digits), so their memory grows with the group, unlike the sketches.
// q is read as the decimal it is written as. Of a group's n values in order, quantile_disc
// returns the one at 0-based position ceil(n*q)-1 (0 when n*q is 0): the smallest value whose
// share of the values reaches q, so p99 of fewer than 101 values is the largest. quantile_cont
// reads the rank r = (n-1)*q (in float64) and interpolates d = r-floor(r) of the way between
// the values at floor(r) and ceil(r): numbers in float64 as lo*(1-d) + hi*d; decimals of up
// to 18 digits in decimal, lo + floor((hi-lo)*d) with the product taken in float64, so the
// result keeps the column's type and scale and is rounded down (toward negative infinity) to
// that scale. Wider decimals, as DuckDB does, go through float64 (lo*(1-d) + hi*d, truncated
// toward zero to the scale), exact to about 15 significant digits; DuckDB's own float64
// arithmetic may differ from ours in the last of them. Floats sort with NaN above every
// number.
//
// approx_quantile(x, q) keeps a DDSketch with 1% relative accuracy (an unbounded logarithmic
// mapping over paginated bins, so merging never collapses bins): the result is within 1% of
// the value at 0-based rank floor(q*(n-1)) of the group's sorted values. Decimals enter the
// sketch as float64; the result is float64. NaN cannot be placed in the sketch and is an
// error.
//
// min and max order floats with NaN above every number (as PostgreSQL and DuckDB do) and
// strings bytewise.
package agg
