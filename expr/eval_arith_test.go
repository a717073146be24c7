package expr

import (
	"strings"
	"testing"
)

func TestExactDecimals(t *testing.T) {
	for src, want := range map[string]string{
		"0.1 + 0.2 = 0.3":              "true",
		"0.1 + 0.2":                    "0.3",
		"1.10 + 2.205":                 "3.305",
		"1.10 * 2.205":                 "2.42550",
		"10.00 - 0.005":                "9.995",
		"19.99 * 3":                    "59.97",
		"-0.01 * 0.01":                 "-0.0001",
		"7.5 % 2":                      "1.5",
		"-7.5 % 2":                     "-1.5",
		"7.5 % -2":                     "1.5",
		"1.00 / 3":                     "0.3333333333333333",
		"1 / 4":                        "0.25",
		"7 % 3":                        "1",
		"-7 % 3":                       "-1",
		"12345678901234567890.12 * 10": "123456789012345678901.20",
		"99999999999999999999999999999999999999 - 1": "99999999999999999999999999999999999998",
		"0.5 + 1e0":                 "1.5",
		"2 * INTERVAL '90 minutes'": "03:00:00",
		"TIMESTAMP '2024-02-28T23:00:00Z' + INTERVAL '2 hours'":               "2024-02-29T01:00:00.000Z",
		"DATE '2024-02-28' + 2":                                               "2024-03-01",
		"DATE '2024-03-01' - DATE '2023-03-01'":                               "366",
		"TIMESTAMP '2024-01-01T00:00:00Z' - TIMESTAMP '2023-12-31T22:30:00Z'": "01:30:00",
		"-INTERVAL '1 day'":                                                   "-1 day 00:00:00",
	} {
		got, err := constText(t, src)
		if err != nil || got != want {
			t.Errorf("%s = %q, %v; want %q", src, got, err, want)
		}
	}
}

// TestManyCents adds a hundred cents per row, 50 000 rows: every result is exactly 1.00.
func TestManyCents(t *testing.T) {
	vals := make([]any, 50000)
	for i := range vals {
		vals[i] = "0.01"
	}
	rec := batch(t, col{"c", "decimal(18,2)", vals})
	defer rec.Release()
	src := "c" + strings.Repeat(" + c", 99)
	e, err := CompileString(src+" = 1", rec.Schema())
	if err != nil {
		t.Fatal(err)
	}
	if typeName(e.Type()) != "bool" {
		t.Fatal(e.Type())
	}
	out, err := e.Filter(rec)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Release()
	if out.NumRows() != 50000 {
		t.Errorf("%d of 50000 rows sum to exactly 1.00", out.NumRows())
	}
	got, err := evalText(t, rec, src)
	if err != nil || got[49999] != "1.00" {
		t.Errorf("sum = %q, %v", got[49999], err)
	}
}

func TestScaleAlignment(t *testing.T) {
	rec := batch(t,
		col{"a", "decimal(18,2)", []any{"1.23", "-0.01", nil, "9999999999999999.99"}},
		col{"b", "decimal(10,4)", []any{"0.0001", "0.0100", "1.0000", "0.0001"}},
		col{"n", "int32", []any{2, -3, 4, nil}},
	)
	defer rec.Release()
	for src, want := range map[string]string{
		"a + b":     "1.2301 | 0.0000 | NULL | 9999999999999999.9901",
		"a - b":     "1.2299 | -0.0200 | NULL | 9999999999999999.9899",
		"b - a":     "-1.2299 | 0.0200 | NULL | -9999999999999999.9899",
		"a * b":     "0.000123 | -0.000100 | NULL | 999999999999.999999",
		"a + n":     "3.23 | -3.01 | NULL | NULL",
		"a * n":     "2.46 | 0.03 | NULL | NULL",
		"a % b":     "0.0000 | 0.0000 | NULL | 0.0000",
		"a + 0.005": "1.235 | -0.005 | NULL | 9999999999999999.995",
		"0.005 - a": "-1.225 | 0.015 | NULL | -9999999999999999.985",
		"a = 1.230": "true | false | NULL | false",
		"a > b":     "true | false | NULL | true",
		"b < 0.01":  "true | false | false | true",
		"a / n":     "0.615 | 0.0033333333333333335 | NULL | NULL",
		"a + 1.5e0": "2.73 | 1.49 | NULL | 1.0000000000000002e+16",
	} {
		got, err := evalText(t, rec, src)
		if err != nil || joined(got) != want {
			t.Errorf("%s = %q, %v; want %q", src, joined(got), err, want)
		}
	}
}

func TestOverflowErrors(t *testing.T) {
	amounts := make([]any, 20)
	for i := range amounts {
		amounts[i] = "1.00"
	}
	amounts[17] = "9999999999999999.99"
	amounts[19] = "9999999999999999.99"
	rec := batch(t,
		col{"amount", "decimal(18,2)", amounts},
		col{"big", "decimal(38,0)", append([]any{"99999999999999999999999999999999999999"}, make([]any, 19)...)},
		col{"x", "int64", append([]any{9223372036854775807, -9223372036854775808}, make([]any, 18)...)},
		col{"tiny", "decimal(38,30)", append([]any{nil, "0.5"}, make([]any, 18)...)},
	)
	defer rec.Release()
	for src, want := range map[string]string{
		"amount * 1000000000000000000000": "amount * 1000000000000000000000: decimal overflow at row 17",
		"big + 1":                         "big + 1: decimal overflow at row 0",
		"big * 10":                        "big * 10: decimal overflow at row 0",
		"big + 0.5":                       "big + 0.5: decimal overflow at row 0",
		"x + 1":                           "x + 1: integer overflow at row 0",
		"x - 1 - 1":                       "x - 1: integer overflow at row 1",
		"x * 2":                           "x * 2: integer overflow at row 0",
		"-x":                              "-x: integer overflow at row 1",
		"abs(x)":                          "abs(x): integer overflow at row 1",
		"CAST(amount AS decimal(5,2))":    "CAST(amount AS decimal(5,2)): 9999999999999999.99 is out of range for decimal(5,2) at row 17",
		"CAST(x AS int32)":                "CAST(x AS int32): 9223372036854775807 is out of range for int32 at row 0",
		// The constant must be scaled to 30 places, which no row survives; row 0 is NULL.
		"tiny + 99999999999999999999999999999999999999": "tiny + 99999999999999999999999999999999999999: decimal overflow at row 1",
	} {
		_, err := evalText(t, rec, src)
		if err == nil || err.Error() != want {
			t.Errorf("%s: got %v, want %s", src, err, want)
		}
	}
	// Rows whose inputs are NULL never overflow, whatever garbage their slots hold.
	if got, err := evalText(t, rec, "CASE WHEN amount < 100 THEN amount * 1000000000000000000000 END"); err != nil || got[17] != "NULL" {
		t.Errorf("overflow in an untaken CASE arm: %v", err)
	}
}

// TestDivisionByZeroIsNull checks that / and % by zero give NULL for every type, where
// IEEE 754 (and DuckDB's default) would give an infinity or NaN for floats: no Inf or NaN
// reaches a sink, whose JSON could not hold it.
func TestDivisionByZeroIsNull(t *testing.T) {
	rec := batch(t,
		col{"i", "int64", []any{7, 7, nil}},
		col{"z", "int64", []any{0, 2, 0}},
		col{"f", "float64", []any{1.5, 0.0, 1.0}},
		col{"d", "decimal(10,2)", []any{"0.00", "1.50", "2.00"}},
	)
	defer rec.Release()
	for src, want := range map[string]string{
		"i / z":   "NULL | 3.5 | NULL",
		"i % z":   "NULL | 1 | NULL",
		"f / z":   "NULL | 0 | NULL",
		"i / f":   "4.666666666666667 | NULL | NULL",
		"f % f":   "0 | NULL | 0",
		"i / d":   "NULL | 4.666666666666667 | NULL",
		"i % d":   "NULL | 1.00 | NULL",
		"d % z":   "NULL | 1.50 | NULL",
		"1 / 0":   "NULL | NULL | NULL",
		"z / 0.0": "NULL | NULL | NULL",
		"-f / z":  "NULL | -0 | NULL",
		"z / z":   "NULL | 1 | NULL",
		"f % 0.0": "NULL | NULL | NULL",
		"d / 0":   "NULL | NULL | NULL",
	} {
		got, err := evalText(t, rec, src)
		if err != nil || joined(got) != want {
			t.Errorf("%s = %q, %v; want %q", src, joined(got), err, want)
		}
	}
}
