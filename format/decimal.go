package format

import (
	"fmt"
	"math/bits"

	"github.com/apache/arrow-go/v18/arrow/decimal128"
)

// parseDecimal parses text as an exact decimal of the given precision and scale without going
// through floating point: an optional sign, digits with an optional point, and an optional
// exponent (JSON numbers may carry one). Digits past the scale must be zeros; more significant
// digits than the precision allows are an overflow. Nothing is ever rounded.
func parseDecimal(b []byte, prec, scale int32) (decimal128.Num, error) {
	i, neg := 0, false
	if i < len(b) && (b[i] == '-' || b[i] == '+') {
		neg = b[i] == '-'
		i++
	}
	// digits are accumulated in a uint64 while they fit (19 digits), then in 128 bits.
	var lo uint64
	var hi uint64
	nd := 0    // significant digits taken, leading zeros excluded
	frac := 0  // digits after the point
	zeros := 0 // trailing zeros after the point not yet taken
	anyDigit := false
	seenPoint := false
	for ; i < len(b); i++ {
		c := b[i]
		if c == '.' {
			if seenPoint {
				return decimal128.Num{}, errNotDecimal(b)
			}
			seenPoint = true
			continue
		}
		if c < '0' || c > '9' {
			break
		}
		anyDigit = true
		if seenPoint {
			if c == '0' {
				zeros++
				continue
			}
			frac += zeros + 1
			for ; zeros > 0; zeros-- {
				if nd > 0 {
					nd++
				}
				hi, lo = mul10add(hi, lo, 0)
			}
		}
		if nd > 0 || c != '0' {
			nd++
		}
		if nd > 38 {
			return decimal128.Num{}, errOverflow(b, prec, scale)
		}
		hi, lo = mul10add(hi, lo, uint64(c-'0'))
	}
	if !anyDigit {
		return decimal128.Num{}, errNotDecimal(b)
	}
	exp := 0
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		eneg := false
		if i < len(b) && (b[i] == '-' || b[i] == '+') {
			eneg = b[i] == '-'
			i++
		}
		start := i
		for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
			if exp < 1000 {
				exp = exp*10 + int(b[i]-'0')
			}
		}
		if i == start {
			return decimal128.Num{}, errNotDecimal(b)
		}
		if eneg {
			exp = -exp
		}
	}
	if i != len(b) {
		return decimal128.Num{}, errNotDecimal(b)
	}
	// value = digits * 10^(exp - frac); bring it to scale.
	shift := int(scale) + exp - frac
	if shift < 0 {
		// dropping digits: they must all be zero.
		for ; shift < 0; shift++ {
			var r uint64
			hi, lo, r = div10(hi, lo)
			if r != 0 {
				return decimal128.Num{}, fmt.Errorf("%q has more than %d decimal places", b, scale)
			}
			nd--
		}
	}
	if hi == 0 && lo == 0 {
		return decimal128.Num{}, nil
	}
	if nd+shift > int(prec) {
		return decimal128.Num{}, errOverflow(b, prec, scale)
	}
	for ; shift > 0; shift-- {
		hi, lo = mul10add(hi, lo, 0)
	}
	n := decimal128.New(int64(hi), lo)
	if neg {
		n = n.Negate()
	}
	return n, nil
}

func errNotDecimal(b []byte) error { return fmt.Errorf("%q is not a decimal", b) }

func errOverflow(b []byte, prec, scale int32) error {
	return fmt.Errorf("%q overflows decimal(%d,%d)", b, prec, scale)
}

// mul10add returns (hi,lo)*10 + d in 128 bits; callers keep the value below 10^38.
func mul10add(hi, lo, d uint64) (uint64, uint64) {
	h, l := bits.Mul64(lo, 10)
	l, c := bits.Add64(l, d, 0)
	return hi*10 + h + c, l
}

// div10 divides the 128-bit value (hi,lo) by 10.
func div10(hi, lo uint64) (qhi, qlo, rem uint64) {
	qhi, r := bits.Div64(0, hi, 10)
	qlo, rem = bits.Div64(r, lo, 10)
	return qhi, qlo, rem
}

// appendDecimal appends n with scale digits after the point, every digit written.
func appendDecimal(dst []byte, n decimal128.Num, scale int32) []byte {
	if n.Sign() < 0 {
		dst = append(dst, '-')
		n = n.Negate()
	}
	hi, lo := uint64(n.HighBits()), n.LowBits()
	var buf [40]byte
	p := len(buf)
	for d := int32(0); d < scale || hi != 0 || lo != 0 || d == scale; d++ {
		if d == scale && scale > 0 {
			p--
			buf[p] = '.'
		}
		var r uint64
		if hi == 0 {
			r = lo % 10
			lo /= 10
		} else {
			hi, lo, r = div10(hi, lo)
		}
		p--
		buf[p] = byte('0' + r)
		if d >= scale && hi == 0 && lo == 0 {
			break
		}
	}
	return append(dst, buf[p:]...)
}
