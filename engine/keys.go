package engine

import (
	"fmt"
	"math"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/zeebo/xxh3"

	"millrace/wyrand"
)

// HashRows fills hashes (one per row of rec) with a hash of the key columns. The hash is
// the same in every process and every run, so a key always falls into the same key group.
func HashRows(rec arrow.RecordBatch, key []int, hashes []uint64) error {
	for i := range hashes {
		hashes[i] = 0x9e3779b97f4a7c15
	}
	for _, c := range key {
		if err := hashColumn(rec.Column(c), hashes); err != nil {
			return fmt.Errorf("hash column %q: %w", rec.ColumnName(c), err)
		}
	}
	return nil
}

// nullHash stands for a null key value.
const nullHash = 0x2545f4914f6cdd1d

func hashColumn(col arrow.Array, hashes []uint64) error {
	combine := func(i int, h uint64) { hashes[i] = wyrand.Mix64(hashes[i]*31 + h) }
	switch a := col.(type) {
	case *array.String:
		for i := range hashes {
			if a.IsNull(i) {
				combine(i, nullHash)
			} else {
				combine(i, xxh3.HashString(a.Value(i)))
			}
		}
	case *array.Int32:
		for i, v := range a.Int32Values() {
			combine(i, nullOr(a, i, uint64(v)))
		}
	case *array.Int64:
		for i, v := range a.Int64Values() {
			combine(i, nullOr(a, i, uint64(v)))
		}
	case *array.Timestamp:
		for i, v := range a.TimestampValues() {
			combine(i, nullOr(a, i, uint64(v)))
		}
	case *array.Date32:
		for i, v := range a.Date32Values() {
			combine(i, nullOr(a, i, uint64(v)))
		}
	case *array.Boolean:
		for i := range hashes {
			v := uint64(0)
			if a.Value(i) {
				v = 1
			}
			combine(i, nullOr(a, i, v))
		}
	case *array.Float64:
		for i, v := range a.Float64Values() {
			if v == 0 {
				v = 0 // -0 and +0 are one key
			}
			combine(i, nullOr(a, i, math.Float64bits(v)))
		}
	case *array.Decimal128:
		for i := range hashes {
			n := a.Value(i)
			combine(i, nullOr(a, i, wyrand.Mix64(n.LowBits())^uint64(n.HighBits())))
		}
	default:
		return fmt.Errorf("type %s cannot be a key", col.DataType())
	}
	return nil
}

func nullOr(a arrow.Array, i int, v uint64) uint64 {
	if a.IsNull(i) {
		return nullHash
	}
	return wyrand.Mix64(v)
}

// KeyGroup maps a row hash to one of k key groups.
func KeyGroup(hash uint64, k int) int { return int(hash % uint64(k)) }
