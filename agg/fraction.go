package agg

import (
	"fmt"
	"math"
	"math/big"
	"math/bits"
	"strconv"
	"strings"
)

// fraction is a quantile's q as the decimal number it was written as, num/den exactly, with
// its float64 value for interpolation.
type fraction struct {
	num, den uint64
	f        float64
}

// parseFraction reads q, a literal as the expression layer hands it over, as an exact decimal
// between 0 and 1: 0.99 is 99/100, not the float64 nearest to it. ok is false for anything
// else.
func parseFraction(v any) (fraction, bool) {
	var text string
	switch x := v.(type) {
	case float64:
		text = strconv.FormatFloat(x, 'f', -1, 64)
	case float32:
		text = strconv.FormatFloat(float64(x), 'f', -1, 32)
	case int, int32, int64:
		text = fmt.Sprint(x)
	case string:
		text = strings.TrimSpace(x)
	case fmt.Stringer:
		text = strings.TrimSpace(x.String())
	default:
		return fraction{}, false
	}
	r, ok := new(big.Rat).SetString(text)
	if !ok || r.Sign() < 0 || r.Cmp(big.NewRat(1, 1)) > 0 || !r.Num().IsUint64() || !r.Denom().IsUint64() {
		return fraction{}, false
	}
	f, _ := r.Float64()
	return fraction{num: r.Num().Uint64(), den: r.Denom().Uint64(), f: f}, true
}

// discIndex is the 0-based position of quantile_disc's answer among n sorted values:
// ceil(n*q) - 1, and 0 when n*q is 0. This is DuckDB's definition; it is the smallest value
// whose cumulative share of the values reaches q, so for q = 0.99 and up to 100 values it is
// the largest one.
func (q fraction) discIndex(n int) int {
	hi, lo := bits.Mul64(uint64(n), q.num)
	quo, rem := bits.Div64(hi, lo, q.den) // n*q <= n, so the quotient fits
	if rem != 0 {
		quo++
	}
	return int(max(quo, 1) - 1)
}

// contPosition is where quantile_cont reads among n sorted values, as DuckDB computes it in
// float64: the rank r = (n-1)*q, the positions floor(r) and ceil(r) around it, and the
// fraction d = r - floor(r) of the way from one to the other.
func (q fraction) contPosition(n int) (lo, hi int, d float64) {
	r := float64(n-1) * q.f
	fl := math.Floor(r)
	return int(fl), int(math.Ceil(r)), r - fl
}
