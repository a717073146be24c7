package agg

import (
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
)

type decimalLiteral struct{ s string }

func (d decimalLiteral) String() string { return d.s }

func TestNewErrors(t *testing.T) {
	str, f64, i64 := arrow.BinaryTypes.String, arrow.PrimitiveTypes.Float64, arrow.PrimitiveTypes.Int64
	cases := []struct {
		name   string
		types  []arrow.DataType
		consts []any
		want   string
	}{
		{"sum", []arrow.DataType{str}, nil, "sum(string) is not defined (it takes integers, floats, decimals and booleans)"},
		{"avg", []arrow.DataType{tsType}, nil, "avg(timestamp) is not defined"},
		{"min", []arrow.DataType{arrow.FixedWidthTypes.Boolean}, nil, "min(bool) is not defined"},
		{"approx_count_distinct", []arrow.DataType{arrow.FixedWidthTypes.Boolean}, nil, "approx_count_distinct(bool) is not defined"},
		{"quantile", []arrow.DataType{str, f64}, []any{nil, 0.5}, "quantile(string) is not defined"},
		{"quantile", []arrow.DataType{i64, f64}, []any{nil, 1.5}, "quantile needs a constant q between 0 and 1, got 1.5"},
		{"quantile_cont", []arrow.DataType{i64, f64}, []any{nil, -0.1}, "quantile_cont needs a constant q between 0 and 1, got -0.1"},
		{"approx_quantile", []arrow.DataType{str, f64}, []any{nil, 0.5}, "approx_quantile(string) is not defined"},
		{"count_if", []arrow.DataType{i64}, nil, "count_if(int64) is not defined (it takes a boolean, such as count_if(amount > 100))"},
		{"quantile", []arrow.DataType{i64, f64}, nil, "quantile needs a constant q between 0 and 1, got a column"},
		{"quantile", []arrow.DataType{i64, str}, []any{nil, "high"}, "quantile needs a constant q between 0 and 1, got high"},
		{"quantile", []arrow.DataType{i64}, nil, "quantile takes 2 arguments (x, q), got 1"},
		{"sum", []arrow.DataType{i64, i64}, nil, "sum takes 1 argument, got 2"},
		{"sum", []arrow.DataType{i64}, []any{int64(3)}, "sum(3): the argument must be a column, not a constant"},
		{"count", []arrow.DataType{i64, i64}, nil, "count takes one argument or *, got 2 arguments"},
		{"median", []arrow.DataType{i64}, nil, `unknown aggregate function "median" (known: approx_count_distinct, approx_quantile, avg, count, count_distinct, count_if, max, min, quantile, quantile_cont, quantile_disc, sum)`},
		{"sum", []arrow.DataType{nil}, nil, "sum: argument 1 has no type"},
		{"sum", []arrow.DataType{i64}, []any{nil, nil}, "sum: 2 constant values for 1 arguments"},
	}
	for _, c := range cases {
		_, err := New(c.name, c.types, c.consts)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("New(%s, %v, %v) = %v, want an error containing %q", c.name, c.types, c.consts, err, c.want)
		}
	}
}

func TestNewAcceptsLiteralsAndCase(t *testing.T) {
	for _, q := range []any{0.99, float32(0.5), "0.75", decimalLiteral{"0.9"}} {
		if _, err := New("QUANTILE", []arrow.DataType{dec18_2, dec18_2}, []any{nil, q}); err != nil {
			t.Errorf("quantile with q %#v: %v", q, err)
		}
	}
	if _, err := New("Sum", []arrow.DataType{dec18_2}, []any{nil}); err != nil {
		t.Errorf("Sum: %v", err)
	}
	for _, n := range Names() {
		if !IsAggregate(n) || !IsAggregate(strings.ToUpper(n)) {
			t.Errorf("IsAggregate(%q) = false", n)
		}
	}
	if IsAggregate("upper") || IsAggregate("") {
		t.Error("IsAggregate accepts a scalar function")
	}
	if !slices.IsSorted(Names()) {
		t.Error("Names is not sorted")
	}
}
