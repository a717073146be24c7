package expr

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"math/bits"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow/decimal128"
)

// Decimals are signed 128-bit integers (decimal128.Num) scaled by 10^scale. The helpers here
// are exact: they report overflow instead of wrapping and round only where documented, half
// away from zero.

type num = decimal128.Num

// pow10 holds 10^0 .. 10^38 as 128-bit integers.
var pow10 = func() (t [maxPrecision + 1]num) {
	t[0] = decimal128.FromU64(1)
	for i := 1; i < len(t); i++ {
		t[i] = t[i-1].Mul(decimal128.FromU64(10))
	}
	return t
}()

// pow10u holds 10^0 .. 10^19, every power of ten that fits in a uint64.
var pow10u = func() (t [20]uint64) {
	t[0] = 1
	for i := 1; i < len(t); i++ {
		t[i] = t[i-1] * 10
	}
	return t
}()

// pow10f holds the powers of ten float64 represents exactly, 10^0 .. 10^22.
var pow10f = func() (t [23]float64) {
	t[0] = 1
	for i := 1; i < len(t); i++ {
		t[i] = t[i-1] * 10
	}
	return t
}()

// magnitude splits n into its absolute value and sign.
func magnitude(n num) (hi, lo uint64, neg bool) {
	hi, lo = uint64(n.HighBits()), n.LowBits()
	if int64(hi) < 0 {
		lo = ^lo + 1
		hi = ^hi
		if lo == 0 {
			hi++
		}
		return hi, lo, true
	}
	return hi, lo, false
}

// signed rebuilds a number from its magnitude, which must be below 2^127.
func signed(hi, lo uint64, neg bool) num {
	n := decimal128.New(int64(hi), lo)
	if neg {
		return n.Negate()
	}
	return n
}

// addDec returns a+b, or false when the sum does not fit in 128 bits.
func addDec(a, b num) (num, bool) {
	lo, c := bits.Add64(a.LowBits(), b.LowBits(), 0)
	hi := a.HighBits() + b.HighBits() + int64(c)
	ovf := (a.HighBits()^hi)&(b.HighBits()^hi) < 0
	return decimal128.New(hi, lo), !ovf
}

// subDec returns a-b, or false when the difference does not fit in 128 bits.
func subDec(a, b num) (num, bool) {
	lo, c := bits.Sub64(a.LowBits(), b.LowBits(), 0)
	hi := a.HighBits() - b.HighBits() - int64(c)
	ovf := (a.HighBits()^b.HighBits())&(a.HighBits()^hi) < 0
	return decimal128.New(hi, lo), !ovf
}

// mulDec returns a*b, or false when the product does not fit in 128 bits.
func mulDec(a, b num) (num, bool) {
	// Fast path: both fit in 64 bits, so the product fits in 127.
	if a.HighBits() == int64(a.LowBits())>>63 && b.HighBits() == int64(b.LowBits())>>63 {
		x, y := int64(a.LowBits()), int64(b.LowBits())
		ux, uy := uint64(x), uint64(y)
		if x < 0 {
			ux = -ux
		}
		if y < 0 {
			uy = -uy
		}
		hi, lo := bits.Mul64(ux, uy)
		return signed(hi, lo, (x < 0) != (y < 0)), true
	}
	ah, al, an := magnitude(a)
	bh, bl, bn := magnitude(b)
	if ah != 0 && bh != 0 {
		return num{}, false
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
			return num{}, false
		}
	}
	if hi >= 1<<63 {
		return num{}, false
	}
	return signed(hi, lo, an != bn), true
}

// mulPow10 returns a*10^k for 0 <= k <= 38, or false on 128-bit overflow.
func mulPow10(a num, k int32) (num, bool) {
	if k == 0 {
		return a, true
	}
	return mulDec(a, pow10[k])
}

// divPow10 divides a by 10^k (0 <= k <= 38), truncating toward zero. up reports that the
// dropped remainder is at least half of 10^k, so rounding half away from zero adds one unit
// of magnitude; exact reports that nothing was dropped.
func divPow10(a num, k int32) (q num, up, exact bool) {
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

// roundDec divides a by 10^k rounding half away from zero; the result always fits.
func roundDec(a num, k int32) num {
	q, up, _ := divPow10(a, k)
	if up {
		if a.Sign() < 0 {
			q, _ = subDec(q, decimal128.FromI64(1))
		} else {
			q, _ = addDec(q, decimal128.FromI64(1))
		}
	}
	return q
}

// fitsPrec reports whether |a| < 10^p, that is whether a has at most p digits.
func fitsPrec(a num, p int32) bool {
	if p >= maxPrecision+1 {
		return true
	}
	hi, lo, _ := magnitude(a)
	m := pow10[p]
	mh, ml := uint64(m.HighBits()), m.LowBits()
	return hi < mh || (hi == mh && lo < ml)
}

// cmpDec compares two numbers of the same scale: -1, 0 or +1.
func cmpDec(a, b num) int {
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

// remDec returns a % b (b != 0) with the sign of a, for two numbers of the same scale.
func remDec(a, b num) num {
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

// rescaleSat changes the scale of a from s to t >= s for comparison only: a value too large
// for 128 bits at the new scale becomes ±10^38, which compares correctly with every value
// that fits a decimal128.
func rescaleSat(a num, k int32) num {
	v, ok := mulPow10(a, k)
	if ok && fitsPrec(v, maxPrecision) {
		return v
	}
	if a.Sign() < 0 {
		return pow10[maxPrecision].Negate()
	}
	return pow10[maxPrecision]
}

// decToFloat converts a number of the given scale to the nearest float64.
func decToFloat(a num, scale int32) float64 {
	hi, lo, neg := magnitude(a)
	if hi == 0 && lo < 1<<53 && scale < int32(len(pow10f)) {
		f := float64(lo) / pow10f[scale]
		if neg {
			f = -f
		}
		return f
	}
	var buf [48]byte
	f, _ := strconv.ParseFloat(string(appendDec(buf[:0], a, scale)), 64)
	return f
}

// floatToDec converts f to a decimal(p,s), rounding its shortest decimal representation half
// away from zero; false when f is not finite or does not fit.
func floatToDec(f float64, p, s int32) (num, bool) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return num{}, false
	}
	var buf [32]byte
	n, err := parseDec(strconv.AppendFloat(buf[:0], f, 'e', -1, 64), p, s)
	return n, err == nil
}

// appendDec appends a written with scale digits after the point, every digit kept.
func appendDec(dst []byte, a num, scale int32) []byte {
	hi, lo, neg := magnitude(a)
	if hi == 0 && scale < int32(len(pow10u)) {
		// The common case: 64 bits, formatted as integer part, point, padded fraction.
		if neg {
			dst = append(dst, '-')
		}
		if scale == 0 {
			return strconv.AppendUint(dst, lo, 10)
		}
		q, r := lo/pow10u[scale], lo%pow10u[scale]
		dst = strconv.AppendUint(dst, q, 10)
		var frac [20]byte
		for i := int(scale) - 1; i >= 0; i-- {
			frac[i] = byte('0' + r%10)
			r /= 10
		}
		return append(append(dst, '.'), frac[:scale]...)
	}
	var buf [48]byte
	i := len(buf)
	for d := int32(0); d <= scale || hi != 0 || lo != 0; d++ {
		if d == scale && scale > 0 {
			i--
			buf[i] = '.'
		}
		var r uint64
		hi, r = bits.Div64(0, hi, 10)
		lo, r = bits.Div64(r, lo, 10)
		i--
		buf[i] = byte('0' + r)
		if d >= scale && hi == 0 && lo == 0 {
			break
		}
	}
	if neg {
		dst = append(dst, '-')
	}
	return append(dst, buf[i:]...)
}

var errNotNumber = errors.New("not a number")

// parseDec parses text (optional sign, digits with an optional point, optional exponent;
// spaces around are ignored) as a decimal(p,s). Digits past the scale are rounded half away
// from zero; a value of more than p digits is an error.
func parseDec[S ~string | ~[]byte](b S, p, s int32) (num, error) {
	for len(b) > 0 && b[0] == ' ' {
		b = b[1:]
	}
	for len(b) > 0 && b[len(b)-1] == ' ' {
		b = b[:len(b)-1]
	}
	i, neg := 0, false
	if i < len(b) && (b[i] == '+' || b[i] == '-') {
		neg = b[i] == '-'
		i++
	}
	intStart := i
	for i < len(b) && isDigit(b[i]) {
		i++
	}
	intEnd, fracStart, fracEnd := i, i, i
	if i < len(b) && b[i] == '.' {
		i++
		fracStart = i
		for i < len(b) && isDigit(b[i]) {
			i++
		}
		fracEnd = i
	}
	nInt, nFrac := intEnd-intStart, fracEnd-fracStart
	if nInt+nFrac == 0 {
		return num{}, errNotNumber
	}
	exp := 0
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		eneg := false
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			eneg = b[i] == '-'
			i++
		}
		start := i
		for ; i < len(b) && isDigit(b[i]); i++ {
			if exp < 10000 {
				exp = exp*10 + int(b[i]-'0')
			}
		}
		if i == start {
			return num{}, errNotNumber
		}
		if eneg {
			exp = -exp
		}
	}
	if i != len(b) {
		return num{}, errNotNumber
	}
	digit := func(j int) uint64 {
		if j < nInt {
			return uint64(b[intStart+j] - '0')
		}
		return uint64(b[fracStart+j-nInt] - '0')
	}
	all := nInt + nFrac
	keep := nInt + exp + int(s) // digits at or above the last place of the scale
	var hi, lo uint64
	sig := 0
	for j := 0; j < min(keep, all); j++ {
		d := digit(j)
		if sig == 0 && d == 0 {
			continue
		}
		sig++
		if sig > int(p) {
			return num{}, fmt.Errorf("more than %d digits", p)
		}
		hi, lo = mul10add(hi, lo, d)
	}
	for j := all; j < keep; j++ {
		if sig == 0 {
			continue
		}
		sig++
		if sig > int(p) {
			return num{}, fmt.Errorf("more than %d digits", p)
		}
		hi, lo = mul10add(hi, lo, 0)
	}
	if keep >= 0 && keep < all && digit(keep) >= 5 {
		var c uint64
		lo, c = bits.Add64(lo, 1, 0)
		hi += c
		if !fitsPrec(decimal128.New(int64(hi), lo), p) {
			return num{}, fmt.Errorf("more than %d digits", p)
		}
	}
	return signed(hi, lo, neg), nil
}

// mul10add returns (hi,lo)*10 + d; callers keep the value below 10^38.
func mul10add(hi, lo, d uint64) (uint64, uint64) {
	h, l := bits.Mul64(lo, 10)
	l, c := bits.Add64(l, d, 0)
	return hi*10 + h + c, l
}

// decimalLiteral types a number written with a point and no exponent: 12.50 is
// decimal(4,2) and 0.5 is decimal(1,1).
func decimalLiteral(text string) (typ, num, error) {
	i := 0
	if i < len(text) && (text[i] == '-' || text[i] == '+') {
		i++
	}
	for i < len(text) && text[i] == '0' {
		i++
	}
	intDigits, frac := 0, 0
	seenPoint := false
	for ; i < len(text); i++ {
		switch {
		case text[i] == '.':
			seenPoint = true
		case seenPoint:
			frac++
		default:
			intDigits++
		}
	}
	p, s := int32(max(intDigits+frac, 1)), int32(frac)
	if p > maxPrecision {
		return typ{}, num{}, fmt.Errorf("number %s has more than %d digits", text, maxPrecision)
	}
	n, err := parseDec(text, p, s)
	if err != nil {
		return typ{}, num{}, fmt.Errorf("number %s: %w", text, err)
	}
	return tDecimal(p, s), n, nil
}

// digitsOf counts the decimal digits of |v|, at least one.
func digitsOf(v int64) int32 {
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

// numOf converts an int64 to a decimal of scale 0.
func numOf(v int64) num { return decimal128.FromI64(v) }
