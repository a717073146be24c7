package gen

import (
	"math"
	"math/bits"

	"millrace/wyrand"
)

// rng is the generator's pseudo-random source: the wyrand construction, a 64-bit counter
// mixed by one 128-bit multiply per draw. It is small enough to keep one per purpose (normal
// traffic, fraud scenarios, delivery, corruption), so turning one feature on does not shift the
// random numbers another feature sees.
type rng struct{ wyrand.Source }

// Stream names keep the seeds of independent purposes apart.
const (
	streamWorld uint64 = iota + 1
	streamTraffic
	streamFraud
	streamDelivery
	streamCorrupt
	streamGeo
)

// newRNG returns a generator whose sequence is a function of seed, purpose and partition only.
func newRNG(seed int64, purpose uint64, partition int) rng {
	s := wyrand.Mix64(uint64(seed) ^ wyrand.Mix64(purpose*0x9e3779b97f4a7c15+uint64(partition)))
	return rng{wyrand.Source{State: s}}
}

// next returns 64 random bits.
func (r *rng) next() uint64 { return r.Next() }

// float returns a uniform number in [0, 1) with 53 random bits.
func (r *rng) float() float64 { return float64(r.next()>>11) * 0x1p-53 }

// intn returns a uniform integer in [0, n) for n > 0 (Lemire's multiply-shift; the bias is
// below n/2^64 and irrelevant here).
func (r *rng) intn(n int) int {
	hi, _ := bits.Mul64(r.next(), uint64(n))
	return int(hi)
}

// between returns a uniform integer in [lo, hi].
func (r *rng) between(lo, hi int) int { return lo + r.intn(hi-lo+1) }

// exp returns an exponentially distributed number with mean 1.
func (r *rng) exp() float64 { return -math.Log(1 - r.float()) }

// pick returns an index drawn from a cumulative distribution whose last entry is 1.
func (r *rng) pick(cdf []float64) int { return pickUniform(cdf, r.float()) }

// cumulative turns weights into a cumulative distribution ending at exactly 1.
func cumulative(weights []float64) []float64 {
	var sum float64
	for _, w := range weights {
		sum += w
	}
	cdf := make([]float64, len(weights))
	var acc float64
	for i, w := range weights {
		acc += w
		cdf[i] = acc / sum
	}
	cdf[len(cdf)-1] = 1
	return cdf
}
