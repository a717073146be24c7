package agg

import (
	"fmt"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
)

// Names lists the aggregate functions New knows, in alphabetical order.
func Names() []string {
	return []string{"approx_count_distinct", "approx_quantile", "avg", "count", "count_distinct", "count_if", "max", "min",
		"quantile", "quantile_cont", "quantile_disc", "sum"}
}

// IsAggregate reports whether name (in any case) is an aggregate function New knows.
func IsAggregate(name string) bool {
	return slices.Contains(Names(), strings.ToLower(name))
}

// New returns an accumulator for the aggregate function name (in any case) called with
// arguments of argTypes. constArgs is parallel to argTypes, or shorter with missing entries
// nil: it holds the value of each argument that is a literal, which is how the quantiles
// receive q. count with no arguments is count(*); count of a literal (count(1)) counts rows
// too. quantile is quantile_disc, as in DuckDB.
//
// Errors read as the planner shows them to users, after the spec's key path:
// "sum(string) is not defined (it takes integers, floats, decimals and booleans)",
// "quantile_disc needs a constant q between 0 and 1, got 1.5".
func New(name string, argTypes []arrow.DataType, constArgs []any, opts ...Option) (Accumulator, error) {
	fn := strings.ToLower(name)
	if !IsAggregate(fn) {
		return nil, fmt.Errorf("unknown aggregate function %q (known: %s)", name, strings.Join(Names(), ", "))
	}
	if len(constArgs) > len(argTypes) {
		return nil, fmt.Errorf("%s: %d constant values for %d arguments", fn, len(constArgs), len(argTypes))
	}
	for i, t := range argTypes {
		if t == nil {
			return nil, fmt.Errorf("%s: argument %d has no type", fn, i+1)
		}
	}
	constant := func(i int) any {
		if i < len(constArgs) {
			return constArgs[i]
		}
		return nil
	}
	cfg := newConfig(opts)
	switch fn {
	case "count":
		switch {
		case len(argTypes) == 0 || len(argTypes) == 1 && constant(0) != nil:
			return newCount(true, cfg), nil
		case len(argTypes) == 1:
			return newCount(false, cfg), nil
		}
		return nil, fmt.Errorf("count takes one argument or *, got %d arguments", len(argTypes))
	case "quantile", "quantile_disc", "quantile_cont", "approx_quantile":
		if len(argTypes) != 2 {
			return nil, fmt.Errorf("%s takes 2 arguments (x, q), got %d", fn, len(argTypes))
		}
		if constant(0) != nil {
			return nil, fmt.Errorf("%s(%v, ...): x must be a column, not a constant", fn, constant(0))
		}
		q, ok := parseFraction(constant(1))
		if !ok {
			got := "a column"
			if constant(1) != nil {
				got = fmt.Sprint(constant(1))
			}
			return nil, fmt.Errorf("%s needs a constant q between 0 and 1, got %s", fn, got)
		}
		switch fn {
		case "approx_quantile":
			return newApproxQuantile(argTypes[0], q.f, cfg)
		case "quantile_cont":
			return newExactQuantile(fn, argTypes[0], q, true, cfg)
		}
		return newExactQuantile(fn, argTypes[0], q, false, cfg)
	}
	if len(argTypes) != 1 {
		return nil, fmt.Errorf("%s takes 1 argument, got %d", fn, len(argTypes))
	}
	if c := constant(0); c != nil {
		return nil, fmt.Errorf("%s(%v): the argument must be a column, not a constant", fn, c)
	}
	switch fn {
	case "sum", "avg":
		if argTypes[0].ID() == arrow.BOOL {
			return newBoolSum(fn == "avg", cfg), nil
		}
		return newSum(argTypes[0], fn == "avg", cfg)
	case "count_if":
		return newCountIf(argTypes[0], cfg)
	case "count_distinct":
		return newCountDistinct(argTypes[0], cfg)
	case "min":
		return newMinMax(argTypes[0], false, cfg)
	case "max":
		return newMinMax(argTypes[0], true, cfg)
	default: // approx_count_distinct
		return newDistinct(argTypes[0], cfg)
	}
}

// undefined is the error for a function applied to a type it does not take.
func undefined(fn string, t arrow.DataType, hint string) error {
	return fmt.Errorf("%s(%s) is not defined (%s)", fn, typeName(t), hint)
}

// typeName names a column type as a pipeline spec writes it: string, int64, decimal(18,2),
// timestamp. A dictionary-encoded column is named by its values' type.
func typeName(t arrow.DataType) string {
	switch t.ID() {
	case arrow.STRING:
		return "string"
	case arrow.BOOL:
		return "bool"
	case arrow.FLOAT32, arrow.FLOAT64, arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64,
		arrow.UINT8, arrow.UINT16, arrow.UINT32, arrow.UINT64:
		return t.Name()
	case arrow.TIMESTAMP:
		return "timestamp"
	case arrow.DATE32:
		return "date"
	case arrow.DECIMAL128:
		d := t.(*arrow.Decimal128Type)
		return fmt.Sprintf("decimal(%d,%d)", d.Precision, d.Scale)
	case arrow.DICTIONARY:
		return typeName(t.(*arrow.DictionaryType).ValueType)
	}
	return t.String()
}
