package nexmark

import (
	"math"
	"math/bits"

	"millrace/wyrand"
)

// rng is the pseudo-random source of one event: the wyrand construction, a 64-bit counter
// mixed by one 128-bit multiply per draw. As the reference generator seeds a fresh random
// source with each event's id, every event here draws from its own rng seeded by the
// configuration's seed and the event number, so an event's fields never depend on which
// partition, batch or kind filter produced it.
type rng struct{ wyrand.Source }

// Purposes keep the random streams of different uses of one seed apart.
const (
	purposeEvents uint64 = iota + 1
	purposeTables
)

// streamKey derives the key of one purpose's random streams from the seed.
func streamKey(seed int64, purpose uint64) uint64 {
	return wyrand.Mix64(uint64(seed) ^ wyrand.Mix64(purpose*0x9e3779b97f4a7c15))
}

// eventRNG returns the rng of event n under key. Distinct event numbers get distinct
// starting states, because mix64 is a bijection.
func eventRNG(key uint64, n int64) rng {
	return rng{wyrand.Source{State: wyrand.Mix64(key ^ uint64(n)*0xd1b54a32d192ed03)}}
}

// next returns 64 random bits.
func (r *rng) next() uint64 { return r.Next() }

// intn returns a uniform integer in [0, n) for n > 0, by Lemire's multiply-shift (its bias,
// below n/2^64, does not matter here).
func (r *rng) intn(n int64) int64 {
	hi, _ := bits.Mul64(r.next(), uint64(n))
	return int64(hi)
}

// split returns a uniform choice in [0, n) made from the random word x, and the word's
// unused randomness for further choices: Lemire's multiply-shift keeps the high half of
// x·n, and the low half stays uniform enough for the next choice. Choices split from one
// word are independent up to a bias of about (product of their n)/2^64, which the generator
// keeps below 2^-16 by bounding the ratios it splits (see maxHotRatio).
func split(x uint64, n int64) (int64, uint64) {
	hi, lo := bits.Mul64(x, uint64(n))
	return int64(hi), lo
}

// The price exponent 6u, for u uniform in [0, 1) with 53 bits, is split into three parts:
// the top priceBits bits of u index the high table, the next priceBits bits the low table, and
// the remaining bits, worth less than 6/2^(2·priceBits), enter a two-term Taylor series of
// exp, exact to about 1e-15 relative.
const (
	priceBits = 10
	priceRest = 53 - 2*priceBits
)

// priceTables holds 100·10^(6k/2^priceBits) (high) and 10^(6k/2^(2·priceBits)) (low) for
// k in [0, 2^priceBits). It is computed once and never written again.
var priceTables = func() *[2][1 << priceBits]float64 {
	var t [2][1 << priceBits]float64
	for k := range 1 << priceBits {
		t[0][k] = 100 * math.Pow(10, 6*float64(k)/(1<<priceBits))
		t[1][k] = math.Pow(10, 6*float64(k)/(1<<(2*priceBits)))
	}
	return &t
}()

// price draws a price in cents with the reference's distribution, round(100·10^(6u)) for u
// uniform in [0, 1): log-uniform between 1.00 and 1,000,000.00.
func (r *rng) price() int64 {
	u := r.next() >> 11 // 53 random bits
	hi := u >> (priceBits + priceRest)
	lo := u >> priceRest & (1<<priceBits - 1)
	// Through int64: converting a signed integer is one instruction.
	t := float64(int64(u&(1<<priceRest-1))) * (6 * math.Ln10 / (1 << 53))
	return int64(priceTables[0][hi]*priceTables[1][lo]*(1+t*(1+t*0.5)) + 0.5)
}
