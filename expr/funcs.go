package expr

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// function describes a scalar function: how many arguments it takes (max -1 for any number)
// and how to type-check and build it from compiled arguments.
type function struct {
	min, max int
	build    func(c *compiler, args []*operand, n *Call) (*operand, error)
}

func (f function) arity() string {
	plural := func(n int) string {
		if n == 1 {
			return "1 argument"
		}
		return fmt.Sprintf("%d arguments", n)
	}
	switch {
	case f.max < 0:
		return "at least " + plural(f.min)
	case f.min == f.max:
		return plural(f.min)
	}
	return fmt.Sprintf("%d to %d arguments", f.min, f.max)
}

// functions is the table of scalar functions by lower-case name.
var functions = map[string]function{
	// strings
	"lower":          {1, 1, func(c *compiler, a []*operand, n *Call) (*operand, error) { return c.caseMap(a, n, false) }},
	"upper":          {1, 1, func(c *compiler, a []*operand, n *Call) (*operand, error) { return c.caseMap(a, n, true) }},
	"length":         {1, 1, (*compiler).length},
	"substr":         {2, 3, (*compiler).substr},
	"substring":      {2, 3, (*compiler).substr},
	"trim":           {1, 2, func(c *compiler, a []*operand, n *Call) (*operand, error) { return c.trim(a, n, trimBoth) }},
	"ltrim":          {1, 2, func(c *compiler, a []*operand, n *Call) (*operand, error) { return c.trim(a, n, trimLeft) }},
	"rtrim":          {1, 2, func(c *compiler, a []*operand, n *Call) (*operand, error) { return c.trim(a, n, trimRight) }},
	"concat":         {1, -1, (*compiler).concatFunc},
	"starts_with":    {2, 2, func(c *compiler, a []*operand, n *Call) (*operand, error) { return c.strTest(a, n, testPrefix) }},
	"ends_with":      {2, 2, func(c *compiler, a []*operand, n *Call) (*operand, error) { return c.strTest(a, n, testSuffix) }},
	"contains":       {2, 2, func(c *compiler, a []*operand, n *Call) (*operand, error) { return c.strTest(a, n, testContains) }},
	"count_char":     {2, 2, (*compiler).countChar},
	"split_index":    {3, 3, (*compiler).splitIndex},
	"regexp_extract": {2, 3, (*compiler).regexpExtract},
	// choosing among values
	"coalesce": {1, -1, (*compiler).coalesce},
	"nullif":   {2, 2, (*compiler).nullif},
	"greatest": {1, -1, func(c *compiler, a []*operand, n *Call) (*operand, error) { return c.extreme(a, n, true) }},
	"least":    {1, -1, func(c *compiler, a []*operand, n *Call) (*operand, error) { return c.extreme(a, n, false) }},
	// numbers
	"abs":     {1, 1, (*compiler).abs},
	"round":   {1, 2, (*compiler).round},
	"floor":   {1, 1, func(c *compiler, a []*operand, n *Call) (*operand, error) { return c.floorCeil(a, n, false) }},
	"ceil":    {1, 1, func(c *compiler, a []*operand, n *Call) (*operand, error) { return c.floorCeil(a, n, true) }},
	"ceiling": {1, 1, func(c *compiler, a []*operand, n *Call) (*operand, error) { return c.floorCeil(a, n, true) }},
	// time
	"date":            {1, 1, (*compiler).dateOf},
	"date_trunc":      {2, 2, (*compiler).dateTrunc},
	"year":            {1, 1, fieldFunc(fieldYear)},
	"month":           {1, 1, fieldFunc(fieldMonth)},
	"day":             {1, 1, fieldFunc(fieldDay)},
	"hour":            {1, 1, fieldFunc(fieldHour)},
	"minute":          {1, 1, fieldFunc(fieldMinute)},
	"second":          {1, 1, fieldFunc(fieldSecond)},
	"day_of_week":     {1, 1, fieldFunc(fieldDayOfWeek)},
	"day_of_year":     {1, 1, fieldFunc(fieldDayOfYear)},
	"epoch_ms":        {1, 1, (*compiler).epochMs},
	"to_timestamp_ms": {1, 1, (*compiler).toTimestampMs},
	"date_format":     {2, 2, (*compiler).dateFormat},
}

// aggregates are the aggregate functions, computed by the planner rather than by Compile.
var aggregates = map[string]bool{
	"count": true, "count_if": true, "count_distinct": true, "sum": true, "min": true, "max": true, "avg": true,
	"approx_count_distinct": true, "quantile": true, "quantile_disc": true, "quantile_cont": true,
	"approx_quantile": true,
}

// IsAggregate reports whether name (in any case) is an aggregate function: count, count_if,
// count_distinct, sum, min, max, avg, approx_count_distinct, quantile, quantile_disc, quantile_cont or
// approx_quantile.
func IsAggregate(name string) bool { return aggregates[strings.ToLower(name)] }

// functionNames lists every function name, scalar and aggregate, sorted.
func functionNames() []string {
	names := slices.Collect(maps.Keys(functions))
	names = append(names, slices.Collect(maps.Keys(aggregates))...)
	slices.Sort(names)
	return names
}

// want checks that argument i of a call has one of the kinds allowed.
func want(n *Call, i int, a *operand, what string, kinds ...kind) error {
	if a.t.k == kNull || slices.Contains(kinds, a.t.k) {
		return nil
	}
	return fmt.Errorf("%s() needs %s as argument %d, but %s is %s", n.Name, what, i+1, a.node, a.t)
}

// constInt reads a constant integer argument, such as the digits of round(x, 2).
func constInt(n *Call, i int, a *operand) (int64, error) {
	if a.konst == nil || !a.t.isInt() || a.konst.null(0) {
		return 0, fmt.Errorf("%s() needs a constant integer as argument %d, not %s", n.Name, i+1, a.node)
	}
	if a.t.k == kInt32 {
		return int64(a.konst.i32[0]), nil
	}
	return a.konst.i64[0], nil
}

// constString reads a constant string argument, such as the unit of date_trunc.
func constString(n *Call, i int, a *operand) (string, error) {
	if a.konst == nil || a.t.k != kString || a.konst.null(0) {
		return "", fmt.Errorf("%s() needs a constant string as argument %d, not %s", n.Name, i+1, a.node)
	}
	return string(a.konst.str(0)), nil
}
