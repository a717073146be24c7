package gen

import (
	"fmt"
	"math"

	"millrace/schema"
)

// World is the population a stream draws from: accounts, each with a home country (whose
// currency it holds) and one to three cards, and merchants, each with a category, a country and
// a location. Activity follows power laws over popularity ranks, so a few accounts, cards and
// merchants are hot keys. A World depends on the seed and the sizes only; it is immutable and
// shared by the partitions of a stream.
type World struct {
	seed      int64
	accounts  int
	merchants int

	acc         []account
	cardAccount []int32

	merCat     []uint8
	merCountry []uint8
	merLat     []float64
	merLon     []float64
	byCountry  [][]int32 // merchants of each country, busiest first
	highValue  [][]int32 // merchants of high-value categories in each country, busiest first
	ecom       []int32   // merchants that sell mostly online
	inPerson   []int32   // shops that sell mostly over the counter (no ATMs or transfers)

	accountIDs  idTable
	cardIDs     idTable
	merchantIDs idTable

	amounts    [][]float64             // per category: euro quantile table
	chanCDF    [][numChannels]float64  // per category: cumulative channel mix
	atmCDF     []float64               // over atmAmounts
	atmCents   [len(countries)][]int64 // per country: atmAmounts as local banknote figures
	countryCDF []float64

	text        [len(countries)]countryText // country and currency codes as words
	channelText [numChannels]wordText
}

// countryText holds a country's codes packed for batch building.
type countryText struct{ country, currency uint64 }

// wordText is a short string packed into a word, with its length.
type wordText struct {
	word uint64
	len  int
}

// account is what traffic needs of an account, in one word so a draw costs one memory access.
type account struct {
	firstCard int32 // the account holds cards firstCard to firstCard+cards-1
	cards     uint8
	country   uint8 // home country, index into countries
}

// Popularity: an entity's rank x (0 the busiest) is drawn as n*u^k for a uniform u, so the
// share of traffic at rank x falls like x^(1/k-1) and the busiest 1% of entities carry
// 1%^(1/k) of it: k=3 for accounts (22%), k=4 for merchants (32%).

// domestic is the share of card payments made in the cardholder's home country.
const domestic = 0.88

// cardsCDF is the distribution of the number of cards an account holds (1, 2 or 3).
var cardsCDF = [3]float64{0.5, 0.85, 1}

// NewWorld builds the world of cfg.Seed with cfg.Accounts accounts and cfg.Merchants merchants.
func NewWorld(cfg Config) (*World, error) {
	if cfg.Accounts < 1 || cfg.Accounts > maxEntities || cfg.Merchants < 1 || cfg.Merchants > maxEntities {
		return nil, fmt.Errorf("gen: world: want 1 to %d accounts and merchants, got %d accounts and %d merchants",
			maxEntities, cfg.Accounts, cfg.Merchants)
	}
	r := newRNG(cfg.Seed, streamWorld, 0)
	w := &World{seed: cfg.Seed, accounts: cfg.Accounts, merchants: cfg.Merchants, countryCDF: countryCDF()}

	w.acc = make([]account, cfg.Accounts)
	cards := 0
	for a := range w.acc {
		country := uint8(r.pick(w.countryCDF))
		n := r.pick(cardsCDF[:]) + 1
		w.acc[a] = account{firstCard: int32(cards), cards: uint8(n), country: country}
		cards += n
	}
	w.cardAccount = make([]int32, cards)
	for a, acc := range w.acc {
		for c := range int32(acc.cards) {
			w.cardAccount[acc.firstCard+c] = int32(a)
		}
	}

	catWeights := make([]float64, len(categories))
	for i, c := range categories {
		catWeights[i] = c.weight
	}
	catCDF := cumulative(catWeights)
	w.merCat = make([]uint8, cfg.Merchants)
	w.merCountry = make([]uint8, cfg.Merchants)
	w.merLat = make([]float64, cfg.Merchants)
	w.merLon = make([]float64, cfg.Merchants)
	w.byCountry = make([][]int32, len(countries))
	w.highValue = make([][]int32, len(countries))
	for m := range cfg.Merchants {
		cat, ctry := r.pick(catCDF), r.pick(w.countryCDF)
		w.merCat[m], w.merCountry[m] = uint8(cat), uint8(ctry)
		c := &countries[ctry]
		w.merLat[m] = round5(c.lat + (2*r.float()-1)*c.dlat)
		w.merLon[m] = round5(c.lon + (2*r.float()-1)*c.dlon)
		w.byCountry[ctry] = append(w.byCountry[ctry], int32(m))
		k := &categories[cat]
		if k.highValue {
			w.highValue[ctry] = append(w.highValue[ctry], int32(m))
		}
		switch {
		case k.channel[chanEcom] >= 0.5:
			w.ecom = append(w.ecom, int32(m))
		case k.channel[chanPOS] >= 0.5:
			w.inPerson = append(w.inPerson, int32(m))
		}
	}

	w.accountIDs = newIDTable('a', cfg.Accounts, &r)
	w.cardIDs = newIDTable('c', cards, &r)
	w.merchantIDs = newIDTable('m', cfg.Merchants, &r)

	w.amounts = make([][]float64, len(categories))
	w.chanCDF = make([][numChannels]float64, len(categories))
	for i, k := range categories {
		if k.mcc != atmMCC {
			w.amounts[i] = amountTable(k.median, k.sigma)
		}
		var acc float64
		for ch, p := range k.channel {
			acc += p
			w.chanCDF[i][ch] = acc
		}
		w.chanCDF[i][numChannels-1] = 1
	}
	atmWeights := make([]float64, len(atmAmounts))
	for i, a := range atmAmounts {
		atmWeights[i] = a.weight
	}
	w.atmCDF = cumulative(atmWeights)
	for ci := range countries {
		w.atmCents[ci] = make([]int64, len(atmAmounts))
		for i, a := range atmAmounts {
			w.atmCents[ci][i] = countries[ci].niceCents(a.eur)
		}
	}
	for ci, c := range countries {
		w.text[ci] = countryText{country: packWord([]byte(c.code)), currency: packWord([]byte(c.currency))}
	}
	for ch, name := range schema.Channels {
		w.channelText[ch] = wordText{word: packWord([]byte(name)), len: len(name)}
	}
	return w, nil
}

// Accounts returns how many accounts the world holds.
func (w *World) Accounts() int { return w.accounts }

// Cards returns how many cards the accounts hold together.
func (w *World) Cards() int { return len(w.cardAccount) }

// Merchants returns how many merchants the world holds.
func (w *World) Merchants() int { return w.merchants }

// matches reports whether the world is the one cfg describes.
func (w *World) matches(cfg Config) bool {
	return w.seed == cfg.Seed && w.accounts == cfg.Accounts && w.merchants == cfg.Merchants
}

// account draws an account by popularity (k=3).
func (w *World) account(u float64) int32 { return int32(u * u * u * float64(w.accounts)) }

// card draws one of account a's cards: the first is the everyday card.
func (w *World) card(a int32, u float64) int32 {
	acc := &w.acc[a]
	c, n := acc.firstCard, acc.cards
	switch {
	case n == 1 || u < 0.7:
		return c
	case n == 2 || u < 0.9:
		return c + 1
	}
	return c + 2
}

// pickMerchant draws a merchant from list, busiest first, by popularity (k=4).
func pickMerchant(list []int32, u float64) int32 {
	u *= u
	return list[int(u*u*float64(len(list)))]
}

// merchantFor draws where account a pays: mostly at home, otherwise anywhere.
func (w *World) merchantFor(a int32, u1, u2 float64) int32 {
	if home := w.byCountry[w.acc[a].country]; u1 < domestic && len(home) > 0 {
		return pickMerchant(home, u2)
	}
	u2 *= u2
	return int32(u2 * u2 * float64(w.merchants))
}

// amount draws what a payment at merchant m costs, in cents of the merchant's currency.
func (w *World) amount(m int32, u float64) int64 {
	cat, ctry := w.merCat[m], w.merCountry[m]
	if t := w.amounts[cat]; t != nil {
		return countries[ctry].localCents(sampleTable(t, u))
	}
	return w.atmCents[ctry][pickUniform(w.atmCDF, u)]
}

// channel draws how a payment at merchant m is made.
func (w *World) channel(m int32, u float64) uint8 {
	cdf := &w.chanCDF[w.merCat[m]]
	switch {
	case u < cdf[0]:
		return chanPOS
	case u < cdf[1]:
		return chanEcom
	case u < cdf[2]:
		return chanATM
	}
	return chanTransfer
}

// pickUniform is rng.pick for a uniform number drawn already.
func pickUniform(cdf []float64, u float64) int {
	for i, c := range cdf {
		if u < c {
			return i
		}
	}
	return len(cdf) - 1
}

func round5(x float64) float64 { return math.Round(x*1e5) / 1e5 }
