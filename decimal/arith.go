package decimal

import (
	"math"
	"math/big"
	"math/bits"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow/decimal128"
)

// The arithmetic here is exact: it reports overflow instead of wrapping and rounds only
// where documented, half away from zero. Operands of Add, Sub, Cmp and Rem have the same
// scale; the caller keeps track of scales.

// pow10 holds 10^0 .. 10^38 as 128-bit integers.
var pow10 = func() (t [MaxPrecision + 1]decimal128.Num) {
	t[0] = decimal128.FromU64(1)
	for i := 1; i < len(t); i++ {
		t[i] = t[i-1].Mul(decimal128.FromU64(10))
	}
	return t
}()

// pow10f holds the powers of ten float64 represents exactly, 10^0 .. 10^22.
var pow10f = powersOfTen[float64](23)

// powersOfTen returns 10^0 .. 10^(n-1).
func powersOfTen[T uint64 | float64](n int) []T {
	t := make([]T, n)
	t[0] = 1
	for i := 1; i < n; i++ {
		t[i] = t[i-1] * 10
	}
	return t
}

// signed rebuilds a number from its magnitude, which must be below 2^127.
func signed(hi, lo uint64, neg bool) decimal128.Num {
	n := decimal128.New(int64(hi), lo)
	if neg {
		return n.Negate()
	}
	return n
}

// Add returns a+b, or false when the sum does not fit in 128 bits.
func Add(a, b decimal128.Num) (decimal128.Num, bool) {
	lo, c := bits.Add64(a.LowBits(), b.LowBits(), 0)
	hi := a.HighBits() + b.HighBits() + int64(c)
	ovf := (a.HighBits()^hi)&(b.HighBits()^hi) < 0
	return decimal128.New(hi, lo), !ovf
}

// Sub returns a-b, or false when the difference does not fit in 128 bits.
func Sub(a, b decimal128.Num) (decimal128.Num, bool) {
	lo, c := bits.Sub64(a.LowBits(), b.LowBits(), 0)
	hi := a.HighBits() - b.HighBits() - int64(c)
	ovf := (a.HighBits()^b.HighBits())&(a.HighBits()^hi) < 0
	return decimal128.New(hi, lo), !ovf
}

// Mul returns a*b, or false when the product does not fit in 128 bits.
func Mul(a, b decimal128.Num) (decimal128.Num, bool) {
	// Fast path: both fit in 64 bits, so the product fits in 127.
	if x, ok := Int64(a); ok {
		if y, ok := Int64(b); ok {
			return MulInt64(x, y), true
		}
	}
	ah, al, an := magnitude(a)
	bh, bl, bn := magnitude(b)
	if ah != 0 && bh != 0 {
		return decimal128.Num{}, false
	}
	hi, lo := bits.Mul64(al, bl)
	for _, cross := range [2][2]uint64{{ah, bl}, {bh, al}} {
		if cross[0] == 0 {
			continue
		}
		ch, cl := bits.Mul64(cross[0], cross[1])
		var c uint64
		hi, c = bits.Add64(hi, cl, 0)
		if ch != 0 || c != 0 {
			return decimal128.Num{}, false
		}
	}
	if hi >= 1<<63 {
		return decimal128.Num{}, false
	}
	return signed(hi, lo, an != bn), true
}

// Int64 returns a as an int64, and whether it fits in one.
func Int64(a decimal128.Num) (int64, bool) {
	return int64(a.LowBits()), a.HighBits() == int64(a.LowBits())>>63
}

// MulInt64 returns the product of x and y, which always fits in 128 bits: the unsigned
// product of their bits, its high word corrected for each negative factor.
func MulInt64(x, y int64) decimal128.Num {
	hi, lo := bits.Mul64(uint64(x), uint64(y))
	hi -= uint64(x>>63&y) + uint64(y>>63&x)
	return decimal128.New(int64(hi), lo)
}

// MulPow10 returns a*10^k for 0 <= k <= 38, or false on 128-bit overflow.
func MulPow10(a decimal128.Num, k int32) (decimal128.Num, bool) {
	if k == 0 {
		return a, true
	}
	return Mul(a, pow10[k])
}

// DivPow10 divides a by 10^k (0 <= k <= 38), truncating toward zero. up reports that the
// dropped remainder is at least half of 10^k, so rounding half away from zero adds one unit
// of magnitude; exact reports that nothing was dropped.
func DivPow10(a decimal128.Num, k int32) (q decimal128.Num, up, exact bool) {
	if k == 0 {
		return a, false, true
	}
	hi, lo, neg := magnitude(a)
	d := pow10u[min(k, 19)]
	hi, r := bits.Div64(0, hi, d)
	lo, r = bits.Div64(r, lo, d)
	exact = r == 0
	if k > 19 {
		d = pow10u[k-19]
		hi, r = bits.Div64(0, hi, d)
		lo, r = bits.Div64(r, lo, d)
		exact = exact && r == 0
	}
	return signed(hi, lo, neg), r >= d-r, exact
}

// Round divides a by 10^k rounding half away from zero; the result always fits.
func Round(a decimal128.Num, k int32) decimal128.Num {
	q, up, _ := DivPow10(a, k)
	if up {
		if a.Sign() < 0 {
			q, _ = Sub(q, decimal128.FromI64(1))
		} else {
			q, _ = Add(q, decimal128.FromI64(1))
		}
	}
	return q
}

// Fits reports whether |a| < 10^p, that is whether a has at most p digits.
func Fits(a decimal128.Num, p int32) bool {
	if p >= MaxPrecision+1 {
		return true
	}
	hi, lo, _ := magnitude(a)
	m := pow10[p]
	mh, ml := uint64(m.HighBits()), m.LowBits()
	return hi < mh || (hi == mh && lo < ml)
}

// Cmp compares two numbers of the same scale: -1, 0 or +1.
func Cmp(a, b decimal128.Num) int {
	ah, bh := a.HighBits(), b.HighBits()
	switch {
	case ah < bh:
		return -1
	case ah > bh:
		return 1
	case a.LowBits() < b.LowBits():
		return -1
	case a.LowBits() > b.LowBits():
		return 1
	}
	return 0
}

// Rem returns a % b (b != 0) with the sign of a, for two numbers of the same scale.
func Rem(a, b decimal128.Num) decimal128.Num {
	ah, al, an := magnitude(a)
	bh, bl, _ := magnitude(b)
	if bh == 0 {
		_, r := bits.Div64(0, ah, bl) // ah % bl
		_, r = bits.Div64(r, al, bl)
		return signed(0, r, an)
	}
	x := new(big.Int).Abs(a.BigInt())
	x.Rem(x, new(big.Int).Abs(b.BigInt()))
	r := decimal128.FromBigInt(x)
	if an {
		return r.Negate()
	}
	return r
}

// RescaleSaturating raises the scale of a by k, for comparison only: a value too large for
// 128 bits at the new scale becomes ±10^38, which compares correctly with every value that
// fits a decimal128.
func RescaleSaturating(a decimal128.Num, k int32) decimal128.Num {
	v, ok := MulPow10(a, k)
	if ok && Fits(v, MaxPrecision) {
		return v
	}
	if a.Sign() < 0 {
		return pow10[MaxPrecision].Negate()
	}
	return pow10[MaxPrecision]
}

// ToFloat converts a number of the given scale to the nearest float64.
func ToFloat(a decimal128.Num, scale int32) float64 {
	hi, lo, neg := magnitude(a)
	if hi == 0 && lo < 1<<53 && scale < int32(len(pow10f)) {
		f := float64(lo) / pow10f[scale]
		if neg {
			f = -f
		}
		return f
	}
	var buf [48]byte
	f, _ := strconv.ParseFloat(string(Append(buf[:0], a, scale)), 64)
	return f
}

// FromFloat converts f to a decimal(p,s), rounding its shortest decimal representation half
// away from zero; false when f is not finite or does not fit.
func FromFloat(f float64, p, s int32) (decimal128.Num, bool) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return decimal128.Num{}, false
	}
	var buf [32]byte
	n, err := Parse(strconv.AppendFloat(buf[:0], f, 'e', -1, 64), p, s, HalfAwayFromZero)
	return n, err == nil
}

// Digits counts the decimal digits of |v|, at least one.
func Digits(v int64) int32 {
	u := uint64(v)
	if v < 0 {
		u = -u
	}
	d := int32(1)
	for u >= 10 {
		u /= 10
		d++
	}
	return d
}
