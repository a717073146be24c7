package expr

import (
	"strings"
	"testing"
)

func TestMathFunctions(t *testing.T) {
	rec := batch(t,
		col{"d", "decimal(10,3)", []any{"2.500", "-2.500", "1.005", "-0.001", "999.999", nil}},
		col{"f", "float64", []any{2.5, -2.5, 1.005, -0.001, 1e300, nil}},
		col{"i", "int64", []any{1250, -1250, 149, -150, 0, nil}},
	)
	defer rec.Release()
	for src, want := range map[string]string{
		"round(d)":          "3 | -3 | 1 | 0 | 1000 | NULL",
		"round(d, 2)":       "2.50 | -2.50 | 1.01 | 0.00 | 1000.00 | NULL",
		"round(d, 3)":       "2.500 | -2.500 | 1.005 | -0.001 | 999.999 | NULL",
		"round(d, -1)":      "0 | 0 | 0 | 0 | 1000 | NULL",
		"round(d, -3)":      "0 | 0 | 0 | 0 | 1000 | NULL",
		"floor(d)":          "2 | -3 | 1 | -1 | 999 | NULL",
		"ceil(d)":           "3 | -2 | 2 | 0 | 1000 | NULL",
		"abs(d)":            "2.500 | 2.500 | 1.005 | 0.001 | 999.999 | NULL",
		"round(f)":          "3 | -3 | 1 | -0 | 1e+300 | NULL",
		"round(f, 1)":       "2.5 | -2.5 | 1 | -0 | 1e+300 | NULL",
		"floor(f)":          "2 | -3 | 1 | -1 | 1e+300 | NULL",
		"ceil(f)":           "3 | -2 | 2 | -0 | 1e+300 | NULL",
		"abs(f)":            "2.5 | 2.5 | 1.005 | 0.001 | 1e+300 | NULL",
		"round(i, -2)":      "1300 | -1300 | 100 | -200 | 0 | NULL",
		"round(i, -1)":      "1250 | -1250 | 150 | -150 | 0 | NULL",
		"round(i, 2)":       "1250 | -1250 | 149 | -150 | 0 | NULL",
		"floor(i)":          "1250 | -1250 | 149 | -150 | 0 | NULL",
		"abs(i)":            "1250 | 1250 | 149 | 150 | 0 | NULL",
		"round(d * 1.1, 2)": "2.75 | -2.75 | 1.11 | 0.00 | 1100.00 | NULL",
	} {
		got, err := evalText(t, rec, src)
		if err != nil || joined(got) != want {
			t.Errorf("%s = %q, %v\nwant %q", src, joined(got), err, want)
		}
	}
	for src, want := range map[string]string{
		"round(99999999999999999999999999999999999999, -1)": "round(99999999999999999999999999999999999999, -1): decimal overflow",
		"round(9223372036854775807, -1)":                    "9223372036854775810 is out of range for int64",
		"round(1.5, 39)":                                    "round(): 39 places is out of range [-38, 38]",
	} {
		if _, err := constText(t, src); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %s", src, err, want)
		}
	}
}
