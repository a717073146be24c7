// Package decimal reads and writes exact decimals: 128-bit integers (decimal128.Num) scaled
// by a power of ten, as Arrow's decimal128(P,S) columns hold them. Text never goes through
// floating point: a decimal is parsed digit by digit and written with every digit kept.
//
// Parse is the one reader of decimal text in millrace: the file formats call it with Exact,
// so that a record whose amount has more places than its column is refused rather than
// silently rounded, and SQL's CAST calls it with HalfAwayFromZero.
package decimal

import (
	"errors"
	"fmt"
	"math/bits"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow/decimal128"
)

// MaxPrecision is the most digits a decimal128 holds.
const MaxPrecision = 38

// Rounding says what Parse does with nonzero digits below a column's scale.
type Rounding uint8

const (
	// Exact refuses them: the text must fit the scale as written.
	Exact Rounding = iota
	// HalfAwayFromZero rounds them off, half away from zero: 1.005 is 1.01 at scale 2.
	HalfAwayFromZero
)

// The kinds of error of Parse, which returns them inside an *Error.
var (
	// ErrSyntax: the text is not a number.
	ErrSyntax = errors.New("decimal: not a number")
	// ErrOverflow: the number has more digits than the precision allows.
	ErrOverflow = errors.New("decimal: overflow")
	// ErrInexact: with Exact, the number has more places than the scale.
	ErrInexact = errors.New("decimal: more places than the scale")
)

// Parse reads text as a decimal(prec, scale): an optional sign, digits with an optional
// point (".5" and "5." are numbers), and an optional exponent, as JSON numbers may carry one
// ("1.25E+2"). Nothing around the number is allowed, spaces included. Digits below the scale
// are refused or rounded as r says; a number of more than prec digits at that scale is an
// overflow. Errors are *Error values that quote the text, such as `"12,50 EUR" is not a
// decimal` and `"1e17" overflows decimal(18,2)`, and match ErrSyntax, ErrOverflow or
// ErrInexact with errors.Is.
func Parse[S ~string | ~[]byte](b S, prec, scale int32, r Rounding) (decimal128.Num, error) {
	prec = min(max(prec, 0), MaxPrecision)
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
		return decimal128.Num{}, syntaxError(b)
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
			if exp < 10000 { // far beyond any scale; the rest cannot matter
				exp = exp*10 + int(b[i]-'0')
			}
		}
		if i == start {
			return decimal128.Num{}, syntaxError(b)
		}
		if eneg {
			exp = -exp
		}
	}
	if i != len(b) {
		return decimal128.Num{}, syntaxError(b)
	}
	digit := func(j int) uint64 {
		if j < nInt {
			return uint64(b[intStart+j] - '0')
		}
		return uint64(b[fracStart+j-nInt] - '0')
	}
	all := nInt + nFrac
	keep := nInt + exp + int(scale) // digits at or above the last place of the scale
	if r == Exact {
		for j := max(keep, 0); j < all; j++ {
			if digit(j) != 0 {
				return decimal128.Num{}, &Error{Text: string(b), Prec: prec, Scale: scale, Kind: ErrInexact}
			}
		}
	}
	var hi, lo uint64
	sig := 0 // significant digits taken, leading zeros excluded
	for j := 0; j < min(keep, all); j++ {
		d := digit(j)
		if sig == 0 && d == 0 {
			continue
		}
		if sig++; sig > int(prec) {
			return decimal128.Num{}, overflowError(b, prec, scale)
		}
		hi, lo = mul10add(hi, lo, d)
	}
	for j := all; j < keep && sig > 0; j++ {
		if sig++; sig > int(prec) {
			return decimal128.Num{}, overflowError(b, prec, scale)
		}
		hi, lo = mul10add(hi, lo, 0)
	}
	if r == HalfAwayFromZero && keep >= 0 && keep < all && digit(keep) >= 5 {
		var c uint64
		lo, c = bits.Add64(lo, 1, 0)
		hi += c
		if hi > maxDigits[prec].hi || (hi == maxDigits[prec].hi && lo > maxDigits[prec].lo) {
			return decimal128.Num{}, overflowError(b, prec, scale)
		}
	}
	n := decimal128.New(int64(hi), lo)
	if neg {
		n = n.Negate()
	}
	return n, nil
}

// Error is a number Parse refused: its text, the type it was read as, and why, one of
// ErrSyntax, ErrOverflow and ErrInexact.
type Error struct {
	Text        string
	Prec, Scale int32
	Kind        error
}

func (e *Error) Error() string {
	switch e.Kind {
	case ErrOverflow:
		return fmt.Sprintf("%q overflows decimal(%d,%d)", e.Text, e.Prec, e.Scale)
	case ErrInexact:
		return fmt.Sprintf("%q has more than %d decimal places", e.Text, e.Scale)
	}
	return fmt.Sprintf("%q is not a decimal", e.Text)
}

// Unwrap returns the kind of error.
func (e *Error) Unwrap() error { return e.Kind }

func syntaxError[S ~string | ~[]byte](b S) error { return &Error{Text: string(b), Kind: ErrSyntax} }

func overflowError[S ~string | ~[]byte](b S, prec, scale int32) error {
	return &Error{Text: string(b), Prec: prec, Scale: scale, Kind: ErrOverflow}
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// mul10add returns (hi,lo)*10 + d in 128 bits; callers keep the value below 10^38.
func mul10add(hi, lo, d uint64) (uint64, uint64) {
	h, l := bits.Mul64(lo, 10)
	l, c := bits.Add64(l, d, 0)
	return hi*10 + h + c, l
}

// u128 is an unsigned 128-bit integer.
type u128 struct{ hi, lo uint64 }

// maxDigits[p] is 10^p - 1, the largest magnitude of p digits.
var maxDigits = func() (t [MaxPrecision + 1]u128) {
	p := u128{0, 1} // 10^0
	for i := range t {
		t[i] = u128{p.hi, p.lo - 1}
		if p.lo == 0 {
			t[i].hi--
		}
		p.hi, p.lo = mul10add(p.hi, p.lo, 0)
	}
	return t
}()

// pow10u holds 10^0 .. 10^19, every power of ten that fits in a uint64.
var pow10u = powersOfTen[uint64](20)

// Append appends n written with scale digits after the point, every digit kept: 12.50 at
// scale 2, -0.01, 7 at scale 0.
func Append(dst []byte, n decimal128.Num, scale int32) []byte {
	hi, lo, neg := magnitude(n)
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

// magnitude splits n into its absolute value, as 128 unsigned bits, and its sign.
func magnitude(n decimal128.Num) (hi, lo uint64, neg bool) {
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
