package decimal

import (
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/decimal128"
)

func TestParseExact(t *testing.T) {
	ok := map[string]string{
		"0": "0.00", "12.5": "12.50", "12.50": "12.50", "-0.01": "-0.01", "+7": "7.00",
		"12.500": "12.50", "1e2": "100.00", "1.25E+2": "125.00", "125e-2": "1.25", "0.000": "0.00",
		"9999999999999999.99": "9999999999999999.99", "-9999999999999999.99": "-9999999999999999.99", "1000000000000000": "1000000000000000.00",
		"000000000000000000000001.5": "1.50", ".5": "0.50", "5.": "5.00", "-0": "0.00",
		"1000000000000000e-1": "100000000000000.00", "0e99999999": "0.00",
	}
	for in, want := range ok {
		n, err := Parse([]byte(in), 18, 2, Exact)
		if err != nil {
			t.Errorf("Parse(%q): %v", in, err)
			continue
		}
		if got := string(Append(nil, n, 2)); got != want {
			t.Errorf("Parse(%q) = %s, want %s", in, got, want)
		}
	}
	bad := []struct {
		in, want string
		is       error
	}{
		{"12,50 EUR", `"12,50 EUR" is not a decimal`, ErrSyntax},
		{"", "is not a decimal", ErrSyntax},
		{"-", "is not a decimal", ErrSyntax},
		{".", "is not a decimal", ErrSyntax},
		{"1.2.3", "is not a decimal", ErrSyntax},
		{"1e", "is not a decimal", ErrSyntax},
		{"--1", "is not a decimal", ErrSyntax},
		{"NaN", "is not a decimal", ErrSyntax},
		{" 1", "is not a decimal", ErrSyntax},
		{"12.345", `"12.345" has more than 2 decimal places`, ErrInexact},
		{"0.001", "more than 2 decimal places", ErrInexact},
		{"1e-3", "more than 2 decimal places", ErrInexact},
		{"10000000000000000", `"10000000000000000" overflows decimal(18,2)`, ErrOverflow},
		{"1e17", "overflows decimal(18,2)", ErrOverflow},
		{"99999999999999999999999999999999999999999", "overflows", ErrOverflow},
	}
	for _, tc := range bad {
		_, err := Parse(tc.in, 18, 2, Exact)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, tc.is) {
			t.Errorf("Parse(%q) error %v, want %q (%v)", tc.in, err, tc.want, tc.is)
		}
	}
}

func TestParseRounding(t *testing.T) {
	for _, tc := range []struct {
		in   string
		p, s int32
		want string // "" for an error
	}{
		{"12.50", 18, 2, "12.50"},
		{"1.005", 18, 2, "1.01"},   // half away from zero
		{"-1.005", 18, 2, "-1.01"}, // half away from zero
		{"1.00499999", 18, 2, "1.00"},
		{"0.995", 3, 2, "1.00"},
		{"9.995", 3, 2, ""}, // rounds up to 10.00, four digits
		{"999.99", 5, 2, "999.99"},
		{"1000", 5, 2, ""},
		{"1e3", 6, 2, "1000.00"},
		{"1.5E-1", 5, 2, "0.15"},
		{"125e-3", 5, 2, "0.13"},
		{"0.000000000000000000000000000000000000000000001", 5, 2, "0.00"},
		{"00000000000000000000000000000000000000000000012", 5, 0, "12"},
		{"99999999999999999999999999999999999999", 38, 0, "99999999999999999999999999999999999999"},
		{"999999999999999999999999999999999999999", 38, 0, ""},
		{"99999999999999999999999999999999999999.5", 38, 0, ""},
		{".5", 2, 1, "0.5"},
		{"5.", 2, 1, "5.0"},
		{"abc", 5, 2, ""},
	} {
		n, err := Parse(tc.in, tc.p, tc.s, HalfAwayFromZero)
		if tc.want == "" {
			if err == nil {
				t.Errorf("Parse(%q, %d, %d) = %s, want an error", tc.in, tc.p, tc.s, Append(nil, n, tc.s))
			}
			continue
		}
		if err != nil {
			t.Errorf("Parse(%q, %d, %d): %v", tc.in, tc.p, tc.s, err)
			continue
		}
		if got := string(Append(nil, n, tc.s)); got != tc.want {
			t.Errorf("Parse(%q, %d, %d) = %s, want %s", tc.in, tc.p, tc.s, got, tc.want)
		}
	}
}

// TestParseMatchesArrow parses random numbers of every width and scale and compares with
// Arrow's own (slower, big-number) parser, and writes them back unchanged.
func TestParseMatchesArrow(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		prec := int32(1 + rng.IntN(MaxPrecision))
		scale := int32(rng.IntN(int(prec) + 1))
		var b strings.Builder
		if rng.IntN(2) == 0 {
			b.WriteByte('-')
		}
		intDigits := rng.IntN(int(prec-scale) + 1)
		if intDigits == 0 {
			b.WriteByte('0')
		}
		for i := range intDigits {
			if i == 0 && intDigits > 1 {
				b.WriteByte(byte('1' + rng.IntN(9)))
				continue
			}
			b.WriteByte(byte('0' + rng.IntN(10)))
		}
		if scale > 0 {
			b.WriteByte('.')
			for range scale {
				b.WriteByte(byte('0' + rng.IntN(10)))
			}
		}
		in := b.String()
		got, err := Parse(in, prec, scale, Exact)
		if err != nil {
			t.Fatalf("Parse(%q, %d, %d): %v", in, prec, scale, err)
		}
		want, err := decimal128.FromString(in, prec, scale)
		if err != nil {
			t.Fatalf("arrow FromString(%q): %v", in, err)
		}
		if got != want {
			t.Fatalf("Parse(%q, %d, %d) = %v, arrow %v", in, prec, scale, got.BigInt(), want.BigInt())
		}
		if back := string(Append(nil, got, scale)); back != in && "-"+back != in {
			t.Fatalf("Append(Parse(%q)) = %s", in, back)
		}
	}
}

func TestAppend(t *testing.T) {
	nines, err := decimal128.FromString(strings.Repeat("9", 38), 38, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		n    decimal128.Num
		s    int32
		want string
	}{
		{decimal128.FromI64(0), 0, "0"},
		{decimal128.FromI64(7), 0, "7"},
		{decimal128.FromI64(-120), 0, "-120"},
		{decimal128.FromI64(1250), 2, "12.50"},
		{decimal128.FromI64(-1), 2, "-0.01"},
		{decimal128.FromI64(5), 20, "0.00000000000000000005"},
		{nines, 0, "99999999999999999999999999999999999999"},
		{nines.Negate(), 38, "-0.99999999999999999999999999999999999999"},
		{decimal128.New(-1<<63, 0), 0, "-170141183460469231731687303715884105728"},
		{decimal128.FromI64(0), 2, "0.00"},
		{decimal128.FromI64(-5), 3, "-0.005"},
		{decimal128.FromI64(math.MinInt64), 0, "-9223372036854775808"},
		{pow10[38].Sub(decimal128.FromI64(1)), 10, "9999999999999999999999999999.9999999999"},
	} {
		if got := string(Append(nil, tc.n, tc.s)); got != tc.want {
			t.Errorf("Append(%v, %d) = %s, want %s", tc.n.BigInt(), tc.s, got, tc.want)
		}
	}
}

func BenchmarkParse(b *testing.B) {
	in := []byte("12345.67")
	for b.Loop() {
		if _, err := Parse(in, 18, 2, Exact); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppend(b *testing.B) {
	n := decimal128.FromI64(1234567)
	buf := make([]byte, 0, 48)
	for b.Loop() {
		buf = Append(buf[:0], n, 2)
	}
}
