// Package wyrand is a small, fast, deterministic pseudo-random source (the wyrand
// construction: a 64-bit counter mixed by one 128-bit multiply per draw) and the splitmix64
// finaliser, shared by the generators and the key hashing. It is not for cryptography.
package wyrand

import "math/bits"

// Source draws 64-bit words. Its zero value is a valid source; a seeded one comes from a
// Mix64 of the seed.
type Source struct{ State uint64 }

// Next returns 64 random bits.
func (r *Source) Next() uint64 {
	r.State += 0xa0761d6478bd642f
	hi, lo := bits.Mul64(r.State, r.State^0xe7037ed1a0b428db)
	return hi ^ lo
}

// Mix64 is the splitmix64 finaliser: a bijection that spreads every input bit over the
// output.
func Mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}
