package agg

import (
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/decimal128"
)

func TestMax38(t *testing.T) {
	want := decimal128.GetMaxValue(38)
	if want.HighBits() != max38Hi || want.LowBits() != max38Lo {
		t.Fatalf("max38 = %x:%x, want %x:%x", max38Hi, max38Lo, want.HighBits(), want.LowBits())
	}
	neg := want.Negate()
	if neg.HighBits() != min38Hi || neg.LowBits() != min38Lo {
		t.Fatalf("min38 = %x:%x, want %x:%x", min38Hi, min38Lo, neg.HighBits(), neg.LowBits())
	}
}

func TestAddDecimalAgainstBig(t *testing.T) {
	limit := decimal128.GetMaxValue(38).BigInt()
	r := rand.New(rand.NewPCG(11, 12))
	edge := []decimal128.Num{
		decimal128.GetMaxValue(38), decimal128.GetMaxValue(38).Negate(), decimal128.FromI64(1),
		decimal128.FromI64(-1), {}, decimal128.New(0x7fffffffffffffff, ^uint64(0)), decimal128.New(-1<<63, 0),
	}
	for i := range 200000 {
		var a, b decimal128.Num
		if i < len(edge)*len(edge) {
			a, b = edge[i/len(edge)], edge[i%len(edge)]
		} else {
			a = decimal128.New(r.Int64N(1<<62)-1<<61, r.Uint64())
			b = decimal128.New(r.Int64N(1<<62)-1<<61, r.Uint64())
			if i%3 == 0 {
				a = decimal128.New(max38Hi-r.Int64N(3), r.Uint64())
			}
		}
		want := new(big.Int).Add(a.BigInt(), b.BigInt())
		ok := want.CmpAbs(limit) <= 0
		got, gotOK := addDecimal(a, b)
		if gotOK != ok || (ok && got.BigInt().Cmp(want) != 0) {
			t.Fatalf("%v + %v = %v, %v; want %v, %v", a.BigInt(), b.BigInt(), got.BigInt(), gotOK, want, ok)
		}
	}
}

func TestAvgDecimalRounding(t *testing.T) {
	cases := []struct {
		sum   string
		count int64
		shift int32
		want  string
	}{
		{"10", 3, 4, "33333"},   // 3.3333...
		{"20", 3, 4, "66667"},   // 6.6666... rounds up
		{"-20", 3, 4, "-66667"}, // away from zero
		{"1", 2, 0, "1"},        // 0.5 rounds up
		{"-1", 2, 0, "-1"},
		{"5", 4, 0, "1"}, // 1.25
		{"99999999999999999999999999999999999999", 1, 0, "99999999999999999999999999999999999999"},
		{"99999999999999999999999999999999999999", 10000, 4, "99999999999999999999999999999999999999"},
		{"-99999999999999999999999999999999999997", 3, 0, "-33333333333333333333333333333333333332"},
	}
	for _, c := range cases {
		s, _ := new(big.Int).SetString(c.sum, 10)
		got := avgDecimal(decimal128.FromBigInt(s), c.count, c.shift).BigInt().String()
		if got != c.want {
			t.Errorf("avg(%s / %d, shift %d) = %s, want %s", c.sum, c.count, c.shift, got, c.want)
		}
	}
	r := rand.New(rand.NewPCG(13, 14))
	for range 100000 {
		s := big.NewInt(r.Int64() - r.Int64())
		if r.IntN(2) == 0 {
			s.Lsh(s, uint(r.IntN(60)))
		}
		if s.CmpAbs(decimal128.GetMaxValue(38).BigInt()) > 0 {
			continue
		}
		count, shift := 1+r.Int64N(1_000_000), r.Int32N(5)
		got := avgDecimal(decimal128.FromBigInt(s), count, shift).BigInt()
		if want := refAvg(s, count, shift); got.Cmp(want) != 0 {
			t.Fatalf("avg(%s / %d, shift %d) = %s, want %s", s, count, shift, got, want)
		}
	}
}

// refAvg rounds sum*10^shift/count half away from zero with exact rationals.
func refAvg(sum *big.Int, count int64, shift int32) *big.Int {
	num := new(big.Int).Mul(sum, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(shift)), nil))
	neg := num.Sign() < 0
	num.Abs(num)
	num.Mul(num, big.NewInt(2)).Add(num, big.NewInt(count))
	q := num.Quo(num, big.NewInt(2*count))
	if neg {
		q.Neg(q)
	}
	return q
}

func TestDecimalToFloat(t *testing.T) {
	if got := decimalToFloat(decimal128.FromI64(12345), 100, 2); got != 123.45 {
		t.Errorf("123.45 became %v", got)
	}
	if got := decimalToFloat(decimal128.FromI64(-5), 100, 2); got != -0.05 {
		t.Errorf("-0.05 became %v", got)
	}
	big := decimal128.GetMaxValue(38)
	if got, want := decimalToFloat(big, 1e10, 10), big.ToFloat64(10); got != want {
		t.Errorf("10^38-1 at scale 10 became %v, want %v", got, want)
	}
}
