package gen

import (
	"math"
	"testing"
)

func TestAmountTable(t *testing.T) {
	tab := amountTable(40, 0.6)
	if !isSorted(tab) {
		t.Fatal("quantile table is not increasing")
	}
	if med := sampleTable(tab, 0.5); math.Abs(med-40) > 0.5 {
		t.Errorf("median %g, want 40", med)
	}
	if lo, hi := sampleTable(tab, 0), sampleTable(tab, 0.999999); lo < 40*math.Exp(-0.6*3.5) || hi > 40*math.Exp(0.6*3.5) {
		t.Errorf("extremes %g..%g run past 3.5 sigma", lo, hi)
	}
}

func isSorted(v []float64) bool {
	for i := 1; i < len(v); i++ {
		if v[i] < v[i-1] {
			return false
		}
	}
	return true
}

func TestCategories(t *testing.T) {
	seen := map[int32]bool{}
	for _, k := range categories {
		if seen[k.mcc] {
			t.Errorf("mcc %d listed twice", k.mcc)
		}
		seen[k.mcc] = true
		var sum float64
		for _, p := range k.channel {
			sum += p
		}
		if math.Abs(sum-1) > 1e-9 {
			t.Errorf("mcc %d: channel mix sums to %g", k.mcc, sum)
		}
		if k.mcc != atmMCC && (k.median <= 0 || k.sigma <= 0) {
			t.Errorf("mcc %d: no amount distribution", k.mcc)
		}
	}
	if !seen[atmMCC] {
		t.Error("no ATM category")
	}
}

// ATM withdrawals are banknote figures in every currency.
func TestATMAmountsAreRound(t *testing.T) {
	for i := range countries {
		c := &countries[i]
		for _, a := range atmAmounts {
			cents := c.niceCents(a.eur)
			units := cents / 100
			if cents%100 != 0 || units <= 0 {
				t.Errorf("%s: %g EUR withdraws %d cents", c.currency, a.eur, cents)
				continue
			}
			// At most two significant digits.
			for units >= 100 && units%10 == 0 {
				units /= 10
			}
			if units >= 100 {
				t.Errorf("%s: %g EUR withdraws %d, not a round figure", c.currency, a.eur, cents/100)
			}
			if eur := float64(cents) / 100 / c.perEUR; eur < a.eur*0.7 || eur > a.eur*1.3 {
				t.Errorf("%s: %g EUR withdraws %.0f EUR worth", c.currency, a.eur, eur)
			}
		}
	}
	jp := countryByCode(t, "JP")
	if got := jp.localCents(12.3456); got%100 != 0 {
		t.Errorf("yen amount %d cents has a minor unit", got)
	}
}
