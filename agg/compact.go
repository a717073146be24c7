package agg

import (
	"encoding/binary"
	"fmt"
	"math"
)

// Small groups keep their values exactly and turn to a sketch only when they grow: most
// groups of a keyed window see a handful of rows, and a sketch costs hundreds of bytes
// before its first value.
//
// compactLimit is the most values a group keeps exactly: distinct hashes for
// approx_count_distinct, values for quantile. The next one turns the group into a sketch
// holding them all. Below it, a list costs 8 bytes a value, less than the sketch would.
const compactLimit = 128

// The first byte of a state column value that holds a group's exact values instead of a
// sketch: little-endian 64-bit words follow, hashes for approx_count_distinct
// (compactHashes), float64 bits for quantile (compactFloats). The two differ so that one
// function refuses the other's state. No sketch encoding starts with either: a HyperLogLog
// encoding starts with its version (1 or 2), a DDSketch encoding with a flag whose type
// bits are set or whose sketch-features subflag is one the library defines (1, 0x21 to
// 0x23, 0x28), and these are subflags 0x3E and 0x3F.
const (
	compactHashes byte = 0xF8
	compactFloats byte = 0xFC
)

// appendCompact appends the compact encoding of words, with its form byte, to buf.
func appendCompact(buf []byte, form byte, words []uint64) []byte {
	buf = append(buf, form)
	for _, w := range words {
		buf = binary.LittleEndian.AppendUint64(buf, w)
	}
	return buf
}

// isCompact reports whether enc is a compact encoding of form rather than a sketch's.
func isCompact(enc []byte, form byte) bool { return len(enc) > 0 && enc[0] == form }

// compactWords calls fn with each word of the compact encoding enc.
func compactWords(enc []byte, fn func(uint64) error) error {
	body := enc[1:]
	if len(body)%8 != 0 || len(body) == 0 {
		return fmt.Errorf("compact state of %d bytes, want a positive multiple of 8 after its form byte", len(enc))
	}
	for i := 0; i < len(body); i += 8 {
		if err := fn(binary.LittleEndian.Uint64(body[i:])); err != nil {
			return err
		}
	}
	return nil
}

// floatWords returns the bits of vals, reusing buf.
func floatWords(buf []uint64, vals []float64) []uint64 {
	buf = buf[:0]
	for _, v := range vals {
		buf = append(buf, math.Float64bits(v))
	}
	return buf
}

// sliceBytes is the heap an exact list of n words with capacity c holds.
func sliceBytes(c int) int64 { return int64(c) * 8 }

// keptOnReset is the capacity of an exact list that Reset keeps for the group's next use;
// longer lists are freed.
const keptOnReset = 4

// sketched is a group's sketch and how much it was given (values, keys or encoded bytes),
// from which its memory is estimated. Only groups past compactLimit have one.
type sketched[S any] struct {
	sk    S
	added int64
}
