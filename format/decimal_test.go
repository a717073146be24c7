package format

import (
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/decimal128"
)

func TestParseDecimal(t *testing.T) {
	ok := map[string]string{
		"0": "0.00", "12.5": "12.50", "12.50": "12.50", "-0.01": "-0.01", "+7": "7.00",
		"12.500": "12.50", "1e2": "100.00", "1.25E+2": "125.00", "125e-2": "1.25", "0.000": "0.00",
		"9999999999999999.99": "9999999999999999.99", "-9999999999999999.99": "-9999999999999999.99", "1000000000000000": "1000000000000000.00",
		"000000000000000000000001.5": "1.50", ".5": "0.50", "5.": "5.00", "-0": "0.00",
		"1000000000000000e-1": "100000000000000.00",
	}
	for in, want := range ok {
		n, err := parseDecimal([]byte(in), 18, 2)
		if err != nil {
			t.Errorf("parseDecimal(%q): %v", in, err)
			continue
		}
		if got := string(appendDecimal(nil, n, 2)); got != want {
			t.Errorf("parseDecimal(%q) = %s, want %s", in, got, want)
		}
	}
	bad := map[string]string{
		"12,50 EUR": "is not a decimal", "": "is not a decimal", "-": "is not a decimal",
		"1.2.3": "is not a decimal", "1e": "is not a decimal", "NaN": "is not a decimal",
		"12.345": "more than 2 decimal places", "0.001": "more than 2 decimal places",
		"1e-3":              "more than 2 decimal places",
		"10000000000000000": "overflows decimal(18,2)", "1e17": "overflows decimal(18,2)",
		"99999999999999999999999999999999999999999": "overflows", " 1": "is not a decimal",
	}
	for in, want := range bad {
		_, err := parseDecimal([]byte(in), 18, 2)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("parseDecimal(%q) error %v, want %q", in, err, want)
		}
	}
}

func TestParseDecimalWidePrecision(t *testing.T) {
	in := "12345678901234567890123456789012.345678"
	n, err := parseDecimal([]byte(in), 38, 6)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(appendDecimal(nil, n, 6)); got != in {
		t.Fatalf("got %s", got)
	}
	want, _ := decimal128.FromString(in, 38, 6)
	if n != want {
		t.Fatalf("parse %v, arrow %v", n, want)
	}
}

func TestAppendDecimalScaleZero(t *testing.T) {
	for in, want := range map[int64]string{0: "0", 7: "7", -120: "-120"} {
		if got := string(appendDecimal(nil, decimal128.FromI64(in), 0)); got != want {
			t.Errorf("%d: got %s want %s", in, got, want)
		}
	}
}
