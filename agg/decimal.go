package agg

import (
	"math"
	"math/big"
	"math/bits"

	"github.com/apache/arrow-go/v18/arrow/decimal128"
)

// 10^38-1, the largest magnitude of decimal(38,S), as the two halves of an int128, and its
// negation.
const (
	max38Hi int64  = 0x4B3B4CA85A86C47A
	max38Lo uint64 = 0x098A223FFFFFFFFF
	min38Hi int64  = ^max38Hi
	min38Lo uint64 = ^max38Lo + 1
)

// addDecimal returns a+b and true, or false when the sum leaves decimal(38,S): its magnitude
// exceeds 10^38-1 or it overflows 128 bits. It is small enough to inline into the sum kernels;
// sums within 2^64 of the limits take the exact check in fits38.
func addDecimal(a, b decimal128.Num) (decimal128.Num, bool) {
	lo, carry := bits.Add64(a.LowBits(), b.LowBits(), 0)
	ahi, bhi := a.HighBits(), b.HighBits()
	hi := ahi + bhi + int64(carry)
	ok := (ahi^hi)&(bhi^hi) >= 0 && ((hi > min38Hi && hi < max38Hi) || fits38(hi, lo))
	return decimal128.New(hi, lo), ok
}

// fits38 reports whether the int128 hi:lo lies within ±(10^38-1).
func fits38(hi int64, lo uint64) bool {
	if hi >= 0 {
		return hi < max38Hi || (hi == max38Hi && lo <= max38Lo)
	}
	return hi > min38Hi || (hi == min38Hi && lo >= min38Lo)
}

// avgDecimal returns sum*10^shift/count rounded half away from zero. count is positive and
// shift at most 4; the result has the magnitude of an input value, so it fits in 128 bits.
func avgDecimal(sum decimal128.Num, count int64, shift int32) decimal128.Num {
	hi, lo := sum.HighBits(), sum.LowBits()
	mul := int64(1)
	for range shift {
		mul *= 10
	}
	if v := int64(lo); hi == v>>63 && v > math.MinInt64/mul && v < math.MaxInt64/mul {
		n := v * mul
		q, r := n/count, n%count
		if r < 0 {
			r = -r
		}
		if r >= count-r { // 2|r| >= count without overflow
			if n < 0 {
				q--
			} else {
				q++
			}
		}
		return decimal128.FromI64(q)
	}
	n := sum.BigInt()
	n.Mul(n, big.NewInt(mul))
	c := big.NewInt(count)
	q, r := new(big.Int).QuoRem(n, c, new(big.Int))
	r.Abs(r).Lsh(r, 1)
	if r.Cmp(c) >= 0 {
		if n.Sign() < 0 {
			q.Sub(q, big.NewInt(1))
		} else {
			q.Add(q, big.NewInt(1))
		}
	}
	return decimal128.FromBigInt(q)
}

// decimalToFloat converts an unscaled decimal to float64. Values of up to 53 bits, which is
// every decimal(15,S) and most money, are converted exactly and divided by 10^scale with one
// rounding; larger ones go through decimal128's conversion.
func decimalToFloat(n decimal128.Num, pow10 float64, scale int32) float64 {
	const limit = 1 << 53
	if v := int64(n.LowBits()); n.HighBits() == v>>63 && v > -limit && v < limit {
		return float64(v) / pow10
	}
	return n.ToFloat64(scale)
}
