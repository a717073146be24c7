package expr

import (
	"slices"
	"testing"
)

func TestFunctionTable(t *testing.T) {
	names := functionNames()
	for _, want := range []string{"lower", "upper", "length", "substr", "substring", "trim", "concat", "coalesce",
		"nullif", "abs", "round", "floor", "ceil", "greatest", "least", "date", "date_trunc", "hour", "minute",
		"day_of_week", "epoch_ms", "to_timestamp_ms", "starts_with", "ends_with", "contains", "sum", "count"} {
		if !slices.Contains(names, want) {
			t.Errorf("function %s is missing", want)
		}
	}
	if !slices.IsSorted(names) {
		t.Error("names are not sorted")
	}
	for _, tc := range []struct {
		f    function
		want string
	}{
		{function{min: 1, max: 1}, "1 argument"},
		{function{min: 2, max: 2}, "2 arguments"},
		{function{min: 1, max: 3}, "1 to 3 arguments"},
		{function{min: 1, max: -1}, "at least 1 argument"},
		{function{min: 2, max: -1}, "at least 2 arguments"},
	} {
		if got := tc.f.arity(); got != tc.want {
			t.Errorf("arity = %q, want %q", got, tc.want)
		}
	}
}
