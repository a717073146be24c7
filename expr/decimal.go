package expr

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow/decimal128"

	"millrace/decimal"
)

// Decimals are signed 128-bit integers (decimal128.Num) scaled by 10^scale; package decimal
// parses, writes and computes with them.

type num = decimal128.Num

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
	n, err := decimal.Parse(text, p, s, decimal.HalfAwayFromZero)
	if err != nil {
		return typ{}, num{}, fmt.Errorf("number %s: %w", text, err)
	}
	return tDecimal(p, s), n, nil
}

// numOf converts an int64 to a decimal of scale 0.
func numOf(v int64) num { return decimal128.New(v>>63, uint64(v)) }
