package gen

import (
	"slices"
	"testing"
)

func TestWorldShape(t *testing.T) {
	cfg := smallConfig()
	w, err := NewWorld(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if w.Accounts() != cfg.Accounts || w.Merchants() != cfg.Merchants {
		t.Fatalf("world of %d accounts and %d merchants, want %d and %d", w.Accounts(), w.Merchants(), cfg.Accounts, cfg.Merchants)
	}
	perAccount := make([]int, 4)
	for a := range w.accounts {
		n := int(w.acc[a].cards)
		if n < 1 || n > 3 {
			t.Fatalf("account %d holds %d cards", a, n)
		}
		perAccount[n]++
		for c := w.acc[a].firstCard; c < w.acc[a].firstCard+int32(n); c++ {
			if w.cardAccount[c] != int32(a) {
				t.Fatalf("card %d belongs to %d, listed under %d", c, w.cardAccount[c], a)
			}
		}
	}
	if w.Cards() < cfg.Accounts*3/2 || w.Cards() > cfg.Accounts*2 {
		t.Errorf("%d cards for %d accounts", w.Cards(), cfg.Accounts)
	}
	for m := range w.merchants {
		if !slices.Contains(w.byCountry[w.merCountry[m]], int32(m)) {
			t.Fatalf("merchant %d missing from its country's list", m)
		}
	}
	for c, list := range w.byCountry {
		if !slices.IsSorted(list) {
			t.Fatalf("merchants of %s are not busiest first", countries[c].code)
		}
	}
	// Cards pick the everyday card most of the time.
	r := newRNG(1, streamTraffic, 0)
	first := 0
	for range 10_000 {
		a := w.account(r.float())
		if w.card(a, r.float()) == w.acc[a].firstCard {
			first++
		}
	}
	if first < 7000 {
		t.Errorf("the first card of an account paid %d of 10000 times", first)
	}
}

func TestWorldDeterministic(t *testing.T) {
	cfg := smallConfig()
	a, _ := NewWorld(cfg)
	b, _ := NewWorld(cfg)
	if !slices.Equal(a.acc, b.acc) || !slices.Equal(a.merLat, b.merLat) || !slices.Equal(a.cardIDs.data, b.cardIDs.data) {
		t.Fatal("two worlds of the same seed differ")
	}
	cfg.Seed = 99
	c, _ := NewWorld(cfg)
	if slices.Equal(a.acc, c.acc) {
		t.Fatal("seeds 1 and 99 built the same world")
	}
	if _, err := NewWorld(Config{Accounts: 0, Merchants: 1}); err == nil {
		t.Fatal("NewWorld accepted no accounts")
	}
}

// A world of one account and one merchant still generates every kind of row.
func TestTinyWorld(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Accounts, cfg.Merchants, cfg.Rows, cfg.FraudRate = 1, 1, 5000, 0.2
	rows, st := generate(t, cfg, 1000)
	if len(rows) != 5000 || st.Fraud == 0 {
		t.Fatalf("%d rows, %d fraud", len(rows), st.Fraud)
	}
}
