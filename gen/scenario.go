package gen

import (
	"fmt"
	"time"
)

// Scenario is a kind of fraud the generator plays out. Every row of a scenario carries
// is_fraud=true; normal traffic carries false.
type Scenario uint8

const (
	// CardTesting is a burst of 10 to 40 online payments of 0.50 to 2.00 on one stolen card
	// at one or two web shops, within 2 to 10 minutes.
	CardTesting Scenario = iota
	// AccountTakeover is an account suddenly paying from a country it never used, 3 to 8
	// high amounts (around 900 euros) at electronics, jewelry, travel and transfer merchants
	// over 20 to 60 minutes, on the account's own cards.
	AccountTakeover
	// CompromisedMerchant is a burst of 10 to 40 cards paying at one shop, over 10 to 40
	// minutes, at 2.5 to 5 times the usual amounts.
	CompromisedMerchant
	// NumScenarios counts the scenarios.
	NumScenarios
)

// String names the scenario.
func (s Scenario) String() string {
	switch s {
	case CardTesting:
		return "card_testing"
	case AccountTakeover:
		return "account_takeover"
	case CompromisedMerchant:
		return "compromised_merchant"
	}
	return fmt.Sprintf("Scenario(%d)", uint8(s))
}

// scenarioShape is how large and long a scenario is.
type scenarioShape struct {
	minRows, maxRows int
	minDur, maxDur   time.Duration
	rowShare         float64 // share of fraud rows the scenario accounts for
}

var scenarioShapes = [NumScenarios]scenarioShape{
	CardTesting:         {10, 40, 2 * time.Minute, 10 * time.Minute, 0.45},
	AccountTakeover:     {3, 8, 20 * time.Minute, 60 * time.Minute, 0.15},
	CompromisedMerchant: {10, 40, 10 * time.Minute, 40 * time.Minute, 0.40},
}

// longestScenario bounds how long any scenario runs.
const longestScenario = 60 * time.Minute

// scenarios schedules fraud. It owes FraudRate/(1-FraudRate) fraud rows for every normal row;
// once the debt reaches the size of the next scenario, that scenario starts and its rows are
// queued at their future event times. A row due when traffic is lighter than at the start
// pays off more debt (the ratio of the daily and weekly curve's rates), so the fraud share
// holds while that curve rises and falls instead of lagging behind it. Surges are too steep
// to anticipate: fraud follows them with a lag (its share dips during a surge and rises
// after it), as real fraud would, and the share over a long run is still FraudRate. Before
// the stream's start the same process runs over the longest scenario's duration, so the
// stream begins with scenarios under way.
type scenarios struct {
	w       *World
	r       rng
	perRow  float64 // fraud rows owed per normal row
	credit  float64
	kindCDF []float64
	next    Scenario // the scenario to start next
	size    int      // and its number of rows
	queue   rowHeap  // scheduled rows by event time (held in deliver until delivery)
	order   uint64
	from    int64 // rows before this event time are dropped (the warm-up)

	rate      func(ns int64) float64 // normal rows per second at an event time
	shape     func(ns int64) float64 // the same without surges
	startRate float64                // shape at the start of the scenario being built
	cost      float64                // debt its rows pay off
}

// newScenarios returns the fraud schedule of cfg's partition; rate gives the partition's
// normal rows per second at an event time, shape the same without surges.
func newScenarios(w *World, cfg Config, rate, shape func(ns int64) float64) *scenarios {
	s := &scenarios{w: w, r: newRNG(cfg.Seed, streamFraud, cfg.Partition), rate: rate, shape: shape}
	if cfg.FraudRate > 0 {
		s.perRow = cfg.FraudRate / (1 - cfg.FraudRate)
	}
	weights := make([]float64, NumScenarios)
	for k, sh := range scenarioShapes {
		weights[k] = sh.rowShare / (float64(sh.minRows+sh.maxRows) / 2)
	}
	s.kindCDF = cumulative(weights)
	s.draw()
	return s
}

// draw picks the next scenario and its size.
func (s *scenarios) draw() {
	s.next = Scenario(s.r.pick(s.kindCDF))
	sh := &scenarioShapes[s.next]
	s.size = s.r.between(sh.minRows, sh.maxRows)
}

// warmUp plays the scenario process over the hour before start, second by second, at the
// expected number of normal rows per second. Rows before start are dropped.
func (s *scenarios) warmUp(start int64) {
	s.from = start
	if s.perRow == 0 {
		return
	}
	for t := start - int64(longestScenario); t < start; t += nsPerSecond {
		s.credit += s.rate(t) * s.perRow
		for s.credit >= float64(s.size) {
			s.begin(t + int64(s.r.float()*float64(nsPerSecond)))
		}
	}
}

// owe records one normal row at event time t and starts a scenario when enough fraud is owed.
func (s *scenarios) owe(t int64) {
	if s.perRow == 0 {
		return
	}
	s.credit += s.perRow
	for s.credit >= float64(s.size) {
		s.begin(t)
	}
}

// begin starts the scenario drawn as next at event time t.
func (s *scenarios) begin(t int64) {
	s.startRate, s.cost = s.shape(t), 0
	switch s.next {
	case CardTesting:
		s.cardTesting(t, s.size)
	case AccountTakeover:
		s.accountTakeover(t, s.size)
	case CompromisedMerchant:
		s.compromisedMerchant(t, s.size)
	}
	s.credit -= s.cost
	s.draw()
}

// times spreads n event times after t0 over about a duration drawn for scenario k, calling
// emit with each.
func (s *scenarios) times(k Scenario, t0 int64, n int, emit func(i int, t int64)) {
	sh := &scenarioShapes[k]
	dur := float64(sh.minDur) + s.r.float()*float64(sh.maxDur-sh.minDur)
	gap := dur / float64(n)
	t := float64(t0)
	for i := range n {
		t += gap * (0.5 + s.r.float())
		emit(i, int64(t))
	}
}

// add queues a scenario row unless it falls before the stream's start, and charges it.
func (s *scenarios) add(r row) {
	s.cost += s.startRate / s.shape(r.ns)
	if r.ns < s.from {
		return
	}
	r.deliver = r.ns // the queue's key until delivery sets its own
	r.order = s.order
	s.order++
	s.queue.push(r)
}

func (s *scenarios) cardTesting(t0 int64, n int) {
	w := s.w
	card := int32(s.r.intn(w.Cards()))
	shops := [2]int32{s.anyOf(w.ecom), s.anyOf(w.ecom)}
	nshops := 1 + s.r.intn(2)
	s.times(CardTesting, t0, n, func(i int, t int64) {
		m := shops[s.r.intn(nshops)]
		step := countries[w.merCountry[m]].step
		cents := int64(s.r.between(50, 200))
		cents = (cents + step - 1) / step * step
		s.add(row{ns: t, amount: cents, account: w.cardAccount[card], card: card, merchant: m,
			channel: chanEcom, scenario: uint8(CardTesting) + 1})
	})
}

func (s *scenarios) accountTakeover(t0 int64, n int) {
	w := s.w
	a := int32(s.r.intn(w.accounts))
	home := int(w.acc[a].country)
	// A country other than home that has merchants; in a world too small for one, home.
	ctry := home
	for range 64 {
		c := s.r.pick(w.countryCDF)
		if c != home && len(w.byCountry[c]) > 0 {
			ctry = c
			break
		}
	}
	shops := w.highValue[ctry]
	if len(shops) == 0 {
		shops = w.byCountry[ctry]
	}
	ncards := int(w.acc[a].cards)
	s.times(AccountTakeover, t0, n, func(i int, t int64) {
		var m int32
		if len(shops) > 0 {
			m = shops[s.r.intn(len(shops))]
		} else {
			m = int32(s.r.intn(w.merchants))
		}
		eur := sampleTable(takeoverAmounts, s.r.float())
		ch := w.channel(m, s.r.float())
		s.add(row{ns: t, amount: countries[w.merCountry[m]].localCents(eur), account: a,
			card: w.acc[a].firstCard + int32(s.r.intn(ncards)), merchant: m, channel: ch,
			scenario: uint8(AccountTakeover) + 1})
	})
}

func (s *scenarios) compromisedMerchant(t0 int64, n int) {
	w := s.w
	var m int32
	if len(w.inPerson) > 0 {
		m = pickMerchant(w.inPerson, s.r.float())
	} else {
		m = int32(s.r.intn(w.merchants))
	}
	step := countries[w.merCountry[m]].step
	s.times(CompromisedMerchant, t0, n, func(i int, t int64) {
		a := w.account(s.r.float())
		card := w.card(a, s.r.float())
		factor := 2.5 + 2.5*s.r.float()
		cents := int64(float64(w.amount(m, s.r.float()))*factor+0.5) / step * step
		s.add(row{ns: t, amount: max(cents, step), account: a, card: card, merchant: m,
			channel: w.channel(m, s.r.float()), scenario: uint8(CompromisedMerchant) + 1})
	})
}

// anyOf draws a member of list, or any merchant when the list is empty.
func (s *scenarios) anyOf(list []int32) int32 {
	if len(list) == 0 {
		return int32(s.r.intn(s.w.merchants))
	}
	return list[s.r.intn(len(list))]
}

// takeoverAmounts are the euro amounts of account takeover payments: lognormal around 900.
var takeoverAmounts = amountTable(900, 0.6)
