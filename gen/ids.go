package gen

import (
	"encoding/binary"
	"strconv"
)

// idTable holds the text identifiers of one kind of entity back to back ("a83512", "a907",
// ...), so a batch copies an identifier instead of formatting it. When every identifier fits
// in 7 bytes it also keeps each as one little-endian word with the length in the top byte, so
// a batch finds an identifier with one memory access and stores it in one move.
type idTable struct {
	data   []byte
	off    []int32 // entity i's identifier is data[off[i]:off[i+1]]
	maxLen int
	words  []uint64 // identifiers as words, when maxLen <= maxWordID
}

// maxWordID is the longest identifier kept as a word.
const maxWordID = 7

// newIDTable names n entities prefix+number, where the numbers are a random permutation of
// 0..n-1 drawn from r: identifiers stay compact and unique, but the busiest entity is not the
// one numbered 0.
func newIDTable(prefix byte, n int, r *rng) idTable {
	perm := make([]int32, n)
	for i := range perm {
		perm[i] = int32(i)
	}
	for i := n - 1; i > 0; i-- {
		j := r.intn(i + 1)
		perm[i], perm[j] = perm[j], perm[i]
	}
	t := idTable{off: make([]int32, n+1), data: make([]byte, 0, n*(2+digits(int64(n))))}
	for i, p := range perm {
		t.data = append(t.data, prefix)
		t.data = strconv.AppendInt(t.data, int64(p), 10)
		t.off[i+1] = int32(len(t.data))
		t.maxLen = max(t.maxLen, int(t.off[i+1]-t.off[i]))
	}
	if t.maxLen <= maxWordID {
		t.words = make([]uint64, n)
		for i := range n {
			id := t.get(int32(i))
			t.words[i] = packWord(id) | uint64(len(id))<<56
		}
	}
	return t
}

// packWord packs up to 8 bytes into a little-endian word, zero-padded.
func packWord(b []byte) uint64 {
	var w [8]byte
	copy(w[:], b)
	return binary.LittleEndian.Uint64(w[:])
}

// get returns the identifier of entity i.
func (t *idTable) get(i int32) []byte { return t.data[t.off[i]:t.off[i+1]] }

// txIDPrefix starts every transaction identifier.
const txIDPrefix = 't'

// txNumber is the number in the tx_id of the seq-th row of a partition: sequences of the
// partitions interleave, so identifiers never collide across partitions.
func txNumber(seq int64, partition, partitions int) int64 {
	return seq*int64(partitions) + int64(partition)
}

// appendTxID appends the tx_id of transaction number n.
func appendTxID(dst []byte, n int64) []byte {
	return strconv.AppendInt(append(dst, txIDPrefix), n, 10)
}

// putTxID writes the tx_id of transaction number n >= 0 at the start of dst, which must have
// room for maxTxIDLen bytes, and returns its length.
func putTxID(dst []byte, n int64) int {
	u := uint64(n)
	l := 1 + digits64(u)
	_ = dst[maxTxIDLen-1]
	dst[0] = txIDPrefix
	i := l
	for u >= 100 {
		q := u / 100
		r := u - q*100
		i -= 2
		dst[i], dst[i+1] = twoDigits[2*r], twoDigits[2*r+1]
		u = q
	}
	if u >= 10 {
		i -= 2
		dst[i], dst[i+1] = twoDigits[2*u], twoDigits[2*u+1]
	} else {
		dst[i-1] = byte('0' + u)
	}
	return l
}

const twoDigits = "00010203040506070809" + "10111213141516171819" + "20212223242526272829" +
	"30313233343536373839" + "40414243444546474849" + "50515253545556575859" +
	"60616263646566676869" + "70717273747576777879" + "80818283848586878889" +
	"90919293949596979899"

// digits64 is the number of decimal digits of u.
func digits64(u uint64) int {
	d := 1
	for u >= 10000 {
		u /= 10000
		d += 4
	}
	for u >= 10 {
		u /= 10
		d++
	}
	return d
}

// digits is the number of decimal digits of n >= 0.
func digits(n int64) int {
	d := 1
	for n >= 10 {
		n /= 10
		d++
	}
	return d
}
