package agg

import (
	"fmt"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// The state columns that Partial writes, MergePartial reads and checkpoints store:
//
//	count                   int64, the count so far
//	sum, avg                struct<sum T, count int64>: the exact running sum in T (int64,
//	                        decimal(38,S) or float64) and the number of non-null values added
//	min, max                the input type (utf8 for dictionary strings), null for a group
//	                        without values
//	approx_count_distinct   binary, null when empty: a group of at most 128 distinct values
//	                        is 0xF8 then the MetroHash64 (seed 1337) of each value, 8 bytes
//	                        little-endian; a larger one is its HyperLogLog sketch's
//	                        MarshalBinary (precision 14), which starts with 1 or 2
//	count_distinct          binary, null when empty: the group's distinct values in
//	                        ascending order (64-bit words as unsigned numbers, others
//	                        bytewise), each as its little-endian bytes for fixed-width
//	                        types and as a uvarint length then the bytes for strings
//	quantile_disc,          binary, null when empty: 0xE5 then the group's values in any
//	quantile_cont           order, little-endian: 8 bytes each for integers (int64), decimals
//	                        of up to 18 digits (the unscaled int64) and floats (float64
//	                        bits), 16 for wider decimals and uint64 (decimal128, low word
//	                        first)
//	approx_quantile         binary, null when empty: a group of at most 128 values is 0xFC
//	                        then each value's float64 bits, 8 bytes little-endian; a larger
//	                        one is its DDSketch's Encode without its index mapping (always
//	                        logarithmic, 1% relative accuracy)
//
// MergePartial reads both forms of a sketch column whatever form its own group is in, so
// states written before groups were kept exactly (always sketches) still restore.
//
// State columns have no other nulls. A state column is only meaningful to an accumulator of the
// same function and argument types, which MergePartial checks through the column's type.

// sumStateFields returns the fields of the struct<sum, count> state of sum and avg.
func sumStateFields(sum arrow.DataType) []arrow.Field {
	return []arrow.Field{
		{Name: "sum", Type: sum},
		{Name: "count", Type: arrow.PrimitiveTypes.Int64},
	}
}

// newSumState assembles a struct<sum, count> column from its children and releases them.
func newSumState(fields []arrow.Field, sums, counts arrow.Array) (arrow.Array, error) {
	defer sums.Release()
	defer counts.Release()
	s, err := array.NewStructArrayWithFields([]arrow.Array{sums, counts}, fields)
	if err != nil {
		return nil, fmt.Errorf("build sum state: %w", err)
	}
	return s, nil
}

// checkPartial verifies that partial has the state type of the accumulator and one row per
// group.
func checkPartial(fn string, partial arrow.Array, want arrow.DataType, groups int) error {
	if !arrow.TypeEqual(partial.DataType(), want) {
		return fmt.Errorf("%s: partial state is %s, want %s", fn, partial.DataType(), want)
	}
	if partial.Len() != groups {
		return fmt.Errorf("%s: partial state of %d rows for %d groups", fn, partial.Len(), groups)
	}
	return nil
}

// sumStateOf returns the children of a struct<sum, count> partial state after checking it.
func sumStateOf(fn string, partial arrow.Array, want arrow.DataType, groups int) (arrow.Array, []int64, error) {
	if err := checkPartial(fn, partial, want, groups); err != nil {
		return nil, nil, err
	}
	st := partial.(*array.Struct)
	sums, counts := st.Field(0), st.Field(1)
	if st.NullN() > 0 || sums.NullN() > 0 || counts.NullN() > 0 {
		return nil, nil, fmt.Errorf("%s: partial state has nulls, so Partial did not make it", fn)
	}
	return sums, values[int64](counts), nil
}

// appendCounts appends the counts of groups to b, 0 for groups beyond the states.
func appendCounts(b *array.Int64Builder, counts []int64, groups []uint32) {
	b.Reserve(len(groups))
	for _, g := range groups {
		var c int64
		if int(g) < len(counts) {
			c = counts[g]
		}
		b.UnsafeAppend(c)
	}
}

// growTo extends s with zero values to at least n entries. It grows the capacity as append
// does, doubling while small and by a quarter once large, so that a million groups' states
// do not carry up to a million empty slots.
func growTo[T any](s []T, n int) []T {
	if n <= len(s) {
		return s
	}
	old := len(s)
	s = slices.Grow(s, n-old)[:n]
	clear(s[old:])
	return s
}

// maxGroup returns the largest id in groups, or -1 when there are none.
func maxGroup(groups []uint32) int {
	m := -1
	for _, g := range groups {
		m = max(m, int(g))
	}
	return m
}
