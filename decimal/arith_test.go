package decimal

import (
	"math"
	"math/big"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/decimal128"
)

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
	n, err := Parse(b, 38, 0, HalfAwayFromZero)
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
			a = decimal128.FromI64(rng.Int64N(1e6) - 5e5)
		}
		ba, bb := a.BigInt(), b.BigInt()
		check := func(op string, got decimal128.Num, ok bool, want *big.Int) {
			t.Helper()
			if fits128(want) != ok || (ok && got.BigInt().Cmp(want) != 0) {
				t.Fatalf("%s %s %s: got %s ok=%v, want %s", ba, op, bb, got.BigInt(), ok, want)
			}
		}
		r, ok := Add(a, b)
		check("+", r, ok, new(big.Int).Add(ba, bb))
		r, ok = Sub(a, b)
		check("-", r, ok, new(big.Int).Sub(ba, bb))
		r, ok = Mul(a, b)
		check("*", r, ok, new(big.Int).Mul(ba, bb))
		k := int32(rng.IntN(39))
		r, ok = MulPow10(a, k)
		check("*10^k", r, ok, new(big.Int).Mul(ba, pow10[k].BigInt()))
		if b.Sign() != 0 {
			want := new(big.Int).Rem(ba, bb) // truncated: sign of the dividend
			if got := Rem(a, b); got.BigInt().Cmp(want) != 0 {
				t.Fatalf("%s %% %s = %s, want %s", ba, bb, got.BigInt(), want)
			}
		}
		// Division by a power of ten, rounded half away from zero.
		want, rest := new(big.Int).QuoRem(ba, pow10[k].BigInt(), new(big.Int))
		if rest.Abs(rest).Lsh(rest, 1).Cmp(pow10[k].BigInt()) >= 0 { // half or more: away from zero
			want.Add(want, big.NewInt(int64(ba.Sign())))
		}
		if got := Round(a, k); got.BigInt().Cmp(want) != 0 {
			t.Fatalf("round(%s / 10^%d) = %s, want %s", ba, k, got.BigInt(), want)
		}
		// Comparisons.
		if got, want := Cmp(a, b), ba.Cmp(bb); got != want {
			t.Fatalf("cmp(%s, %s) = %d, want %d", ba, bb, got, want)
		}
		// Conversion to float64 is correctly rounded.
		s := int32(rng.IntN(39))
		wantF, _ := new(big.Rat).SetFrac(ba, pow10[s].BigInt()).Float64()
		if got := ToFloat(a, s); got != wantF {
			t.Fatalf("float(%s e-%d) = %v, want %v", ba, s, got, wantF)
		}
		// Precision checks.
		p := int32(1 + rng.IntN(38))
		if got, want := Fits(a, p), new(big.Int).Abs(ba).Cmp(pow10[p].BigInt()) < 0; got != want {
			t.Fatalf("Fits(%s, %d) = %v", ba, p, got)
		}
	}
}

func TestMulInt64AgainstBig(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	edges := []int64{0, 1, -1, 2, -2, math.MaxInt64, math.MinInt64, math.MaxInt64 - 1, math.MinInt64 + 1, 1 << 32, -1 << 32}
	check := func(x, y int64) {
		t.Helper()
		want := new(big.Int).Mul(big.NewInt(x), big.NewInt(y))
		if got := MulInt64(x, y); got.BigInt().Cmp(want) != 0 {
			t.Fatalf("%d * %d = %s, want %s", x, y, got.BigInt(), want)
		}
		if got, ok := Mul(decimal128.FromI64(x), decimal128.FromI64(y)); !ok || got.BigInt().Cmp(want) != 0 {
			t.Fatalf("Mul(%d, %d) = %s %v, want %s", x, y, got.BigInt(), ok, want)
		}
	}
	for _, x := range edges {
		for _, y := range edges {
			check(x, y)
		}
	}
	for range 20000 {
		x, y := int64(rng.Uint64())>>rng.IntN(64), int64(rng.Uint64())>>rng.IntN(64)
		check(x, y)
	}
}

func TestInt64SaysWhetherTheValueFits(t *testing.T) {
	for _, c := range []struct {
		n    decimal128.Num
		want int64
		fits bool
	}{
		{decimal128.FromI64(-5), -5, true},
		{decimal128.FromI64(math.MinInt64), math.MinInt64, true},
		{decimal128.FromI64(math.MaxInt64), math.MaxInt64, true},
		{decimal128.New(0, 1<<63), 0, false},    // 2^63
		{decimal128.New(-1, 1<<63-1), 0, false}, // -2^63 - 1
		{decimal128.New(1, 0), 0, false},        // 2^64
	} {
		got, fits := Int64(c.n)
		if fits != c.fits || fits && got != c.want {
			t.Errorf("Int64(%s) = %d, %v; want %d, %v", c.n.BigInt(), got, fits, c.want, c.fits)
		}
	}
}

func TestRescaleSaturating(t *testing.T) {
	big := pow10[30]
	if got := RescaleSaturating(big, 10); got != pow10[38] {
		t.Errorf("10^30 rescaled by 10 digits = %s, want saturation at 10^38", got.BigInt())
	}
	if got := RescaleSaturating(big.Negate(), 20); got != pow10[38].Negate() {
		t.Errorf("-10^30 rescaled by 20 digits = %s, want -10^38", got.BigInt())
	}
	if got := RescaleSaturating(decimal128.FromI64(-12), 3); got != decimal128.FromI64(-12000) {
		t.Errorf("-12 rescaled by 3 digits = %s", got.BigInt())
	}
}

func TestFromFloat(t *testing.T) {
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
		n, ok := FromFloat(tc.f, tc.p, tc.s)
		got := ""
		if ok {
			got = string(Append(nil, n, tc.s))
		}
		if got != tc.want {
			t.Errorf("FromFloat(%v, %d, %d) = %q, want %q", tc.f, tc.p, tc.s, got, tc.want)
		}
	}
}

func TestDigits(t *testing.T) {
	for v, want := range map[int64]int32{0: 1, 9: 1, -10: 2, 999: 3, math.MaxInt64: 19, math.MinInt64: 19} {
		if got := Digits(v); got != want {
			t.Errorf("Digits(%d) = %d, want %d", v, got, want)
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

func BenchmarkMul(b *testing.B) {
	x, y := decimal128.FromI64(1234567), decimal128.FromI64(11)
	var sink decimal128.Num
	for b.Loop() {
		sink, _ = Mul(x, y)
	}
	_ = strconv.Itoa(int(sink.LowBits()))
}
