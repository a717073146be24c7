package expr

import (
	"math"
	"math/big"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/decimal128"
)

func TestParseDec(t *testing.T) {
	for _, tc := range []struct {
		in   string
		p, s int32
		want string // "" for an error
	}{
		{"12.50", 18, 2, "12.50"},
		{"12.5", 18, 2, "12.50"},
		{"-0.01", 18, 2, "-0.01"},
		{"+7", 5, 2, "7.00"},
		{" 3.14 ", 5, 2, "3.14"},
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
		{".5", 2, 1, "0.5"},
		{"5.", 2, 1, "5.0"},
		{"", 5, 2, ""},
		{".", 5, 2, ""},
		{"1.2.3", 5, 2, ""},
		{"abc", 5, 2, ""},
		{"1e", 5, 2, ""},
		{"--1", 5, 2, ""},
		{"0e99999999", 5, 2, "0.00"},
	} {
		n, err := parseDec(tc.in, tc.p, tc.s)
		if tc.want == "" {
			if err == nil {
				t.Errorf("parseDec(%q, %d, %d) = %s, want an error", tc.in, tc.p, tc.s, appendDec(nil, n, tc.s))
			}
			continue
		}
		if err != nil {
			t.Errorf("parseDec(%q, %d, %d): %v", tc.in, tc.p, tc.s, err)
			continue
		}
		if got := string(appendDec(nil, n, tc.s)); got != tc.want {
			t.Errorf("parseDec(%q, %d, %d) = %s, want %s", tc.in, tc.p, tc.s, got, tc.want)
		}
	}
}

func TestDecimalLiteral(t *testing.T) {
	for _, tc := range []struct{ in, typ string }{
		{"12.50", "decimal(4,2)"},
		{"0.5", "decimal(1,1)"},
		{"-0.05", "decimal(2,2)"},
		{"007.5", "decimal(2,1)"},
		{"12345678901234567890", "decimal(20,0)"},
		{"1.", "decimal(1,0)"},
	} {
		typ, _, err := decimalLiteral(tc.in)
		if err != nil || typ.String() != tc.typ {
			t.Errorf("decimalLiteral(%q) = %s, %v; want %s", tc.in, typ, err, tc.typ)
		}
	}
	if _, _, err := decimalLiteral("1234567890123456789012345678901234567890.5"); err == nil {
		t.Error("a 41-digit literal was accepted")
	}
}

func TestAppendDec(t *testing.T) {
	for _, tc := range []struct {
		n    decimal128.Num
		s    int32
		want string
	}{
		{numOf(0), 0, "0"},
		{numOf(0), 2, "0.00"},
		{numOf(5), 3, "0.005"},
		{numOf(-5), 3, "-0.005"},
		{numOf(-1234), 2, "-12.34"},
		{numOf(math.MinInt64), 0, "-9223372036854775808"},
		{pow10[38].Sub(numOf(1)), 10, "9999999999999999999999999999.9999999999"},
		{pow10[38].Sub(numOf(1)).Negate(), 38, "-0.99999999999999999999999999999999999999"},
	} {
		if got := string(appendDec(nil, tc.n, tc.s)); got != tc.want {
			t.Errorf("appendDec(%v, %d) = %s, want %s", tc.n.BigInt(), tc.s, got, tc.want)
		}
	}
}

// randNum draws a decimal128 of a random number of digits, either sign.
func randNum(rng *rand.Rand) decimal128.Num {
	digits := 1 + rng.IntN(38)
	b := make([]byte, 0, 40)
	if rng.IntN(2) == 0 {
		b = append(b, '-')
	}
	for i := 0; i < digits; i++ {
		b = append(b, byte('0'+rng.IntN(10)))
	}
	n, err := parseDec(b, 38, 0)
	if err != nil {
		panic(err)
	}
	return n
}

var (
	bigMax = new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 127), big.NewInt(1))
	bigMin = new(big.Int).Neg(new(big.Int).Lsh(big.NewInt(1), 127))
)

func fits128(b *big.Int) bool { return b.Cmp(bigMin) >= 0 && b.Cmp(bigMax) <= 0 }

// TestDecimalOpsAgainstBig checks the 128-bit helpers against math/big on random operands of
// every size, including the ones that overflow.
func TestDecimalOpsAgainstBig(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 20000; i++ {
		a, b := randNum(rng), randNum(rng)
		if rng.IntN(4) == 0 { // small values take the fast paths
			a = numOf(rng.Int64N(1e6) - 5e5)
		}
		ba, bb := a.BigInt(), b.BigInt()
		check := func(op string, got decimal128.Num, ok bool, want *big.Int) {
			t.Helper()
			if fits128(want) != ok || (ok && got.BigInt().Cmp(want) != 0) {
				t.Fatalf("%s %s %s: got %s ok=%v, want %s", ba, op, bb, got.BigInt(), ok, want)
			}
		}
		r, ok := addDec(a, b)
		check("+", r, ok, new(big.Int).Add(ba, bb))
		r, ok = subDec(a, b)
		check("-", r, ok, new(big.Int).Sub(ba, bb))
		r, ok = mulDec(a, b)
		check("*", r, ok, new(big.Int).Mul(ba, bb))
		k := int32(rng.IntN(39))
		r, ok = mulPow10(a, k)
		check("*10^k", r, ok, new(big.Int).Mul(ba, pow10[k].BigInt()))
		if b.Sign() != 0 {
			want := new(big.Int).Rem(ba, bb) // truncated: sign of the dividend
			if got := remDec(a, b); got.BigInt().Cmp(want) != 0 {
				t.Fatalf("%s %% %s = %s, want %s", ba, bb, got.BigInt(), want)
			}
		}
		// Division by a power of ten, rounded half away from zero.
		q := new(big.Rat).SetFrac(ba, pow10[k].BigInt())
		want := roundHalfAway(q)
		if got := roundDec(a, k); got.BigInt().Cmp(want) != 0 {
			t.Fatalf("round(%s / 10^%d) = %s, want %s", ba, k, got.BigInt(), want)
		}
		// Comparisons.
		if got, want := cmpDec(a, b), ba.Cmp(bb); got != want {
			t.Fatalf("cmp(%s, %s) = %d, want %d", ba, bb, got, want)
		}
		if got, want := lessDec(a, b), ba.Cmp(bb) < 0; got != want {
			t.Fatalf("less(%s, %s) = %v", ba, bb, got)
		}
		// Conversion to float64 is correctly rounded.
		s := int32(rng.IntN(39))
		wantF, _ := new(big.Rat).SetFrac(ba, pow10[s].BigInt()).Float64()
		if got := decToFloat(a, s); got != wantF {
			t.Fatalf("float(%s e-%d) = %v, want %v", ba, s, got, wantF)
		}
		// Precision checks.
		p := int32(1 + rng.IntN(38))
		if got, want := fitsPrec(a, p), new(big.Int).Abs(ba).Cmp(pow10[p].BigInt()) < 0; got != want {
			t.Fatalf("fitsPrec(%s, %d) = %v", ba, p, got)
		}
	}
}

// roundHalfAway rounds a rational to the nearest integer, halves away from zero.
func roundHalfAway(q *big.Rat) *big.Int {
	num, den := new(big.Int).Abs(q.Num()), q.Denom()
	twice := new(big.Int).Add(new(big.Int).Mul(num, big.NewInt(2)), den)
	r := twice.Quo(twice, new(big.Int).Mul(den, big.NewInt(2)))
	if q.Sign() < 0 {
		r.Neg(r)
	}
	return r
}

func TestRescaleSat(t *testing.T) {
	big := pow10[30]
	if got := rescaleSat(big, 10); got != pow10[38] {
		t.Errorf("10^30 rescaled by 10 digits = %s, want saturation at 10^38", got.BigInt())
	}
	if got := rescaleSat(big.Negate(), 20); got != pow10[38].Negate() {
		t.Errorf("-10^30 rescaled by 20 digits = %s, want -10^38", got.BigInt())
	}
	if got := rescaleSat(numOf(-12), 3); got != numOf(-12000) {
		t.Errorf("-12 rescaled by 3 digits = %s", got.BigInt())
	}
}

func TestFloatToDec(t *testing.T) {
	for _, tc := range []struct {
		f    float64
		p, s int32
		want string
	}{
		{1.005, 10, 2, "1.01"}, // the shortest form of 1.005 is "1.005", which rounds up
		{0.1, 10, 3, "0.100"},
		{-2.5, 10, 0, "-3"},
		{1e20, 38, 0, "100000000000000000000"},
		{1234.567, 5, 2, ""},
		{math.NaN(), 10, 2, ""},
		{math.Inf(1), 10, 2, ""},
	} {
		n, ok := floatToDec(tc.f, tc.p, tc.s)
		got := ""
		if ok {
			got = string(appendDec(nil, n, tc.s))
		}
		if got != tc.want {
			t.Errorf("floatToDec(%v, %d, %d) = %q, want %q", tc.f, tc.p, tc.s, got, tc.want)
		}
	}
}

func TestDigitsOf(t *testing.T) {
	for v, want := range map[int64]int32{0: 1, 9: 1, -10: 2, 999: 3, math.MaxInt64: 19, math.MinInt64: 19} {
		if got := digitsOf(v); got != want {
			t.Errorf("digitsOf(%d) = %d, want %d", v, got, want)
		}
	}
	for i := range 39 {
		if got := pow10[i].BigInt().String(); got != "1"+zeros(i) {
			t.Errorf("pow10[%d] = %s", i, got)
		}
	}
}

func zeros(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = '0'
	}
	return string(b)
}

func BenchmarkParseDec(b *testing.B) {
	in := []byte("12345.67")
	for b.Loop() {
		if _, err := parseDec(in, 18, 2); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMulDec(b *testing.B) {
	x, y := numOf(1234567), numOf(11)
	var sink decimal128.Num
	for b.Loop() {
		sink, _ = mulDec(x, y)
	}
	_ = strconv.Itoa(int(sink.LowBits()))
}
