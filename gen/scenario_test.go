package gen

import (
	"math"
	"slices"
	"testing"
	"time"
)

func TestFraudRate(t *testing.T) {
	for _, tc := range []struct {
		rate float64
		rows int64
	}{{0.002, 1_000_000}, {0.01, 300_000}, {0.05, 100_000}} {
		cfg := smallConfig()
		cfg.Rows, cfg.FraudRate = tc.rows, tc.rate
		rows, st := generate(t, cfg, 65536)
		labelled := 0
		for _, r := range rows {
			if r.fraud {
				labelled++
			}
		}
		if int64(labelled) != st.Fraud {
			t.Errorf("rate %g: %d rows labelled is_fraud, stats say %d", tc.rate, labelled, st.Fraud)
		}
		got := float64(labelled) / float64(len(rows))
		t.Logf("rate %g: measured %.5f, by scenario %v", tc.rate, got, st.FraudBy)
		if math.Abs(got-tc.rate) > 0.1*tc.rate {
			t.Errorf("rate %g: measured %.5f over %d rows, want within 10%%", tc.rate, got, len(rows))
		}
		var sum int64
		for k, n := range st.FraudBy {
			sum += n
			want := scenarioShapes[k].rowShare * float64(st.Fraud)
			if float64(n) < 0.5*want || float64(n) > 1.5*want {
				t.Errorf("rate %g: %s has %d fraud rows, want about %.0f", tc.rate, Scenario(k), n, want)
			}
		}
		if sum != st.Fraud {
			t.Errorf("rate %g: scenarios add up to %d, fraud is %d", tc.rate, sum, st.Fraud)
		}
		// Scenarios are under way from the first minute: the warm-up.
		early := 0
		for _, r := range rows[:len(rows)/20] {
			if r.fraud {
				early++
			}
		}
		if got := float64(early) / float64(len(rows)/20); got < 0.4*tc.rate {
			t.Errorf("rate %g: the first 5%% of rows hold only %.5f fraud", tc.rate, got)
		}
	}
	cfg := smallConfig()
	cfg.FraudRate = 0
	if _, st := generate(t, cfg, 65536); st.Fraud != 0 {
		t.Errorf("FraudRate 0 gave %d fraud rows", st.Fraud)
	}
}

// playScenario runs one scenario of kind k with n rows from t0 and returns its rows by time.
func playScenario(s *scenarios, k Scenario, n int, t0 int64) []row {
	s.queue.rows = s.queue.rows[:0]
	s.next, s.size = k, n
	s.credit = float64(n)
	s.begin(t0)
	rows := slices.Clone(s.queue.rows)
	slices.SortFunc(rows, func(a, b row) int { return int(a.ns - b.ns) })
	return rows
}

func TestScenarioShapes(t *testing.T) {
	cfg := smallConfig()
	cfg.FraudRate = 0.01
	w, err := NewWorld(cfg)
	if err != nil {
		t.Fatal(err)
	}
	flat := func(int64) float64 { return 1000 }
	s := newScenarios(w, cfg, flat, flat)
	t0 := DefaultStart.UnixNano()
	euros := func(r row) float64 { return float64(r.amount) / 100 / countries[w.merCountry[r.merchant]].perEUR }
	span := func(rows []row) time.Duration { return time.Duration(rows[len(rows)-1].ns - t0) }

	for range 50 {
		n := 10 + s.r.intn(31)
		rows := playScenario(s, CardTesting, n, t0)
		shops := map[int32]bool{}
		for _, r := range rows {
			shops[r.merchant] = true
			if r.card != rows[0].card || r.account != w.cardAccount[r.card] || r.channel != chanEcom ||
				r.amount < 50 || r.amount > 200 || r.scenario != uint8(CardTesting)+1 || r.ns <= t0 {
				t.Fatalf("card testing row %+v", r)
			}
		}
		if len(rows) != n || len(shops) > 2 || span(rows) > 15*time.Minute {
			t.Fatalf("card testing: %d rows at %d shops over %s", len(rows), len(shops), span(rows))
		}
	}

	for range 50 {
		n := 3 + s.r.intn(6)
		rows := playScenario(s, AccountTakeover, n, t0)
		a := rows[0].account
		var amounts []float64
		for _, r := range rows {
			if r.account != a || w.cardAccount[r.card] != a || w.merCountry[r.merchant] == w.acc[a].country ||
				r.scenario != uint8(AccountTakeover)+1 {
				t.Fatalf("account takeover row %+v (home %s, shop in %s)", r,
					countries[w.acc[a].country].code, countries[w.merCountry[r.merchant]].code)
			}
			amounts = append(amounts, euros(r))
		}
		slices.Sort(amounts)
		if len(rows) != n || span(rows) > 90*time.Minute || span(rows) < 10*time.Minute || amounts[len(amounts)/2] < 200 {
			t.Fatalf("account takeover: %d rows over %s, amounts %v EUR", len(rows), span(rows), amounts)
		}
	}

	for range 50 {
		n := 10 + s.r.intn(31)
		rows := playScenario(s, CompromisedMerchant, n, t0)
		m := rows[0].merchant
		k := &categories[w.merCat[m]]
		cards := map[int32]bool{}
		var ratio []float64
		for _, r := range rows {
			cards[r.card] = true
			if r.merchant != m || w.cardAccount[r.card] != r.account || r.scenario != uint8(CompromisedMerchant)+1 {
				t.Fatalf("compromised merchant row %+v", r)
			}
			ratio = append(ratio, euros(r)/k.median)
		}
		slices.Sort(ratio)
		if len(rows) != n || len(cards) < n/2 || span(rows) > 60*time.Minute || ratio[len(ratio)/2] < 1.8 {
			t.Fatalf("compromised merchant: %d rows, %d cards, over %s, amounts/median %v", len(rows), len(cards), span(rows), ratio)
		}
		if k.channel[chanPOS] < 0.5 {
			t.Fatalf("compromised merchant of category %s is not a shop", k.name)
		}
	}
	for k := range NumScenarios {
		if k.String() == "" || k.String()[0] == 'S' {
			t.Errorf("scenario %d has no name", k)
		}
	}
}
