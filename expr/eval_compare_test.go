package expr

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/decimal128"

	"millrace/decimal"
)

func TestCompare(t *testing.T) {
	rec := batch(t,
		col{"d", "decimal(18,2)", []any{"0.00", "100.00", "100.01", "-5.50", nil}},
		col{"big", "decimal(38,0)", []any{"99999999999999999999999999999999999999", "-99999999999999999999999999999999999999", "0", "1", "2"}},
		col{"i", "int32", []any{0, 100, 2147483647, -5, 1}},
		col{"f", "float64", []any{0.0, 100.0, math.NaN(), -5.5, math.Inf(1)}},
		col{"s", "string", []any{"a", "B", "é", "", "ab"}},
		col{"ts", "timestamp", []any{"2024-01-01T00:00:00Z", "2023-12-31T23:59:59.999Z", "2024-06-01T12:00:00Z", nil, "1969-12-31T23:59:59Z"}},
		col{"dt", "date", []any{"2024-01-01", "2023-12-31", "2024-06-01", "2024-01-02", "1970-01-01"}},
	)
	defer rec.Release()
	for src, want := range map[string]string{
		"d > 0":                                 "false | true | true | false | NULL",
		"d > 100":                               "false | false | true | false | NULL",
		"0 < d":                                 "false | true | true | false | NULL",
		"d >= 100.005":                          "false | false | true | false | NULL",
		"d = 100":                               "false | true | false | false | NULL",
		"d <> -5.5":                             "true | true | true | false | NULL",
		"d = i":                                 "true | true | false | false | NULL",
		"d < f":                                 "false | false | false | false | NULL",
		"big > 0.5":                             "true | false | false | true | true",
		"big < 0.00000000000000000000000001":    "false | true | true | false | false",
		"i = 2147483647":                        "false | false | true | false | false",
		"i < 3000000000":                        "true | true | true | true | true",
		"i > -1.5":                              "true | true | true | false | true",
		"f > 0":                                 "false | true | false | false | true",
		"f = f":                                 "true | true | false | true | true",
		"f <> f":                                "false | false | true | false | false",
		"f <= 100":                              "true | true | false | true | false",
		"s < 'b'":                               "true | true | false | true | true",
		"s > 'z'":                               "false | false | true | false | false",
		"s = 'é'":                               "false | false | true | false | false",
		"s >= ''":                               "true | true | true | true | true",
		"'ab' > s":                              "true | true | false | true | false",
		"ts >= '2024-01-01T00:00:00Z'":          "true | false | true | NULL | false",
		"ts < '2024-01-01T01:00:00+01:00'":      "false | true | false | NULL | true",
		"'2024-01-01T00:00:00Z' <= ts":          "true | false | true | NULL | false",
		"ts > TIMESTAMP '1970-01-01T00:00:00Z'": "true | true | true | NULL | false",
		"dt = '2024-01-01'":                     "true | false | false | false | false",
		"dt < ts":                               "false | true | true | NULL | false",
		"dt = date(ts)":                         "true | true | true | NULL | false",
		"dt > DATE '2024-01-01'":                "false | false | true | true | false",
	} {
		got, err := evalText(t, rec, src)
		if err != nil || joined(got) != want {
			t.Errorf("%s = %q, %v\n                            want %q", src, joined(got), err, want)
		}
	}
}

// TestCompareStringsLongAndShort exercises the integer-prefix equality path: strings shorter
// and longer than eight bytes, equal prefixes, and values at the very end of the data buffer.
func TestCompareStringsLongAndShort(t *testing.T) {
	vals := []any{"transfer", "transfers", "transfer!", "trans", "", "transferXtransfer", "transferXtransfeR", "transferXtransfer"}
	rec := batch(t, col{"s", "string", vals})
	defer rec.Release()
	for _, lit := range []string{"", "trans", "transfer", "transfers", "transferXtransfer"} {
		got, err := evalText(t, rec, "s = '"+lit+"'")
		if err != nil {
			t.Fatal(err)
		}
		ne, err := evalText(t, rec, "s <> '"+lit+"'")
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range vals {
			want := v.(string) == lit
			if got[i] != map[bool]string{true: "true", false: "false"}[want] || ne[i] == got[i] {
				t.Errorf("%q = %q: got %s, <> got %s", v, lit, got[i], ne[i])
			}
		}
	}
}

// TestLessDecAgreesWithCmp checks the comparison kernel's less-than on decimals of every
// size and sign against decimal.Cmp.
func TestLessDecAgreesWithCmp(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for range 20000 {
		a := decimal128.New(int64(rng.Uint64())>>rng.IntN(64), rng.Uint64())
		b := decimal128.New(int64(rng.Uint64())>>rng.IntN(64), rng.Uint64())
		if rng.IntN(8) == 0 {
			b = a
		}
		if got, want := lessDec(a, b), decimal.Cmp(a, b) < 0; got != want {
			t.Fatalf("lessDec(%s, %s) = %v", a.BigInt(), b.BigInt(), got)
		}
	}
}
