package expr

import (
	"strings"
	"testing"
)

func TestCasts(t *testing.T) {
	for src, want := range map[string]string{
		"CAST(2.5 AS int64)":                                   "3",
		"CAST(-2.5 AS int32)":                                  "-3",
		"CAST(2.4999 AS int64)":                                "2",
		"CAST(2.5e0 AS int64)":                                 "3",
		"CAST(-0.5e0 AS int64)":                                "-1",
		"CAST(1.005 AS decimal(5,2))":                          "1.01",
		"CAST(-1.005 AS decimal(5,2))":                         "-1.01",
		"CAST(1.005e0 AS decimal(5,2))":                        "1.01",
		"CAST(12 AS decimal(4,2))":                             "12.00",
		"CAST(12.345 AS decimal(10,5))":                        "12.34500",
		"CAST(7 AS float64)":                                   "7",
		"CAST(0.1 AS float64)":                                 "0.1",
		"CAST(TRUE AS int64)":                                  "1",
		"CAST(0 AS bool)":                                      "false",
		"CAST(-3 AS bool)":                                     "true",
		"CAST(' 42 ' AS int64)":                                "42",
		"CAST('-9223372036854775808' AS int64)":                "-9223372036854775808",
		"CAST('2147483647' AS int32)":                          "2147483647",
		"CAST('1.5e3' AS float64)":                             "1500",
		"CAST('12.345' AS decimal(10,2))":                      "12.35",
		"CAST('1e2' AS decimal(10,2))":                         "100.00",
		"CAST('yes' AS bool)":                                  "true",
		"CAST('F' AS bool)":                                    "false",
		"CAST('2024-03-01T12:00:00+01:00' AS timestamp)":       "2024-03-01T11:00:00.000Z",
		"CAST('2024-03-01' AS timestamp)":                      "2024-03-01T00:00:00.000Z",
		"CAST('2024-03-01' AS date)":                           "2024-03-01",
		"CAST('2024-03-01T23:59:59Z' AS date)":                 "2024-03-01",
		"CAST(TIMESTAMP '1969-12-31T23:59:59Z' AS date)":       "1969-12-31",
		"CAST(DATE '2024-02-29' AS timestamp)":                 "2024-02-29T00:00:00.000Z",
		"CAST(DATE '2024-02-29' AS string)":                    "2024-02-29",
		"CAST(TIMESTAMP '2024-02-29T01:02:03.004Z' AS string)": "2024-02-29T01:02:03.004Z",
		"CAST(INTERVAL '90 minutes' AS string)":                "01:30:00",
		"CAST(1.50 AS string)":                                 "1.50",
		"CAST(-0.05 AS string)":                                "-0.05",
		"CAST(1e21 AS string)":                                 "1e+21",
		"CAST(0.1e0 + 0.2e0 AS string)":                        "0.30000000000000004",
		"CAST(FALSE AS string)":                                "false",
		"CAST(NULL AS int64)":                                  "NULL",
		"'5'::int64 + 1":                                       "6",
		"CAST(CAST(123.456 AS decimal(6,3)) AS decimal(4,1))":  "123.5",
	} {
		got, err := constText(t, src)
		if err != nil || got != want {
			t.Errorf("%s = %q, %v; want %q", src, got, err, want)
		}
	}
}

func TestCastErrors(t *testing.T) {
	rec := batch(t,
		col{"s", "string", []any{"1", "2", "x", "4"}},
		col{"f", "float64", []any{1.0, 2.0, 3.0, 1e300}},
		col{"d", "decimal(10,2)", []any{"1.00", "12345678.99", nil, "0.01"}},
	)
	defer rec.Release()
	for src, want := range map[string]string{
		"CAST(s AS int64)":         `CAST(s AS int64): "x" is not a valid int64 at row 2`,
		"CAST(s AS decimal(5,2))":  `CAST(s AS decimal(5,2)): "x" is not a valid decimal(5,2) at row 2`,
		"CAST(s AS timestamp)":     `CAST(s AS timestamp): "1" is not a valid timestamp at row 0`,
		"CAST(s AS bool)":          `CAST(s AS bool): "2" is not a valid bool at row 1`,
		"CAST(f AS int64)":         `CAST(f AS int64): 1e+300 is out of range for int64 at row 3`,
		"CAST(f AS decimal(10,2))": `CAST(f AS decimal(10,2)): 1e+300 is out of range for decimal(10,2) at row 3`,
		"CAST(d AS decimal(5,2))":  `CAST(d AS decimal(5,2)): 12345678.99 is out of range for decimal(5,2) at row 1`,
		"CAST(d * 1000 AS int32)":  `CAST(d * 1000 AS int32): 12345678990.00 is out of range for int32 at row 1`,
	} {
		_, err := evalText(t, rec, src)
		if err == nil || err.Error() != want {
			t.Errorf("%s:\n got %v\nwant %s", src, err, want)
		}
	}
	// Only selected rows count: the bad text sits in a row CASE does not take.
	got, err := evalText(t, rec, "CASE WHEN s <> 'x' THEN CAST(s AS int64) END")
	if err != nil || joined(got) != "1 | 2 | NULL | 4" {
		t.Errorf("lazy cast: %v %v", got, err)
	}
	if _, err := CompileString("CAST(1e300 AS int64)", rec.Schema()); err == nil || !strings.Contains(err.Error(), "out of range for int64") {
		t.Errorf("constant cast overflow: %v", err)
	}
}
