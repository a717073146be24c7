package agg

import (
	"fmt"
	"math"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
)

// batch is one Update call's inputs as a kernel sees them: groups[i] receives row rows[i], or
// row i when rows is nil, and every such row is non-null.
type batch struct {
	groups []uint32
	rows   []int32
	need   int // one more than the largest group id in the call, null rows included
}

// selector validates an Update call and removes its null rows. It owns the slices the
// filtered inputs are written to, so that steady-state updates do not allocate.
type selector struct {
	groups []uint32
	rows   []int32
}

// sizeBytes is the memory of the selector's slices.
func (s *selector) sizeBytes() int64 { return int64(cap(s.groups)+cap(s.rows)) * 4 }

// prepare checks groups and rows against arr (nil for count(*)) and returns the non-null
// inputs. fn names the function in errors.
func (s *selector) prepare(fn string, groups []uint32, rows []int32, arr arrow.Array) (batch, error) {
	if rows != nil && len(rows) != len(groups) {
		return batch{}, fmt.Errorf("%s: %d groups for %d row indices", fn, len(groups), len(rows))
	}
	n := -1
	if arr != nil {
		n = arr.Len()
		if rows == nil && len(groups) != n {
			return batch{}, fmt.Errorf("%s: %d groups for an argument of %d rows", fn, len(groups), n)
		}
	}
	top, maxRow, minRow := uint32(0), int32(-1), int32(math.MaxInt32)
	for _, g := range groups {
		top = max(top, g)
	}
	for _, r := range rows {
		maxRow, minRow = max(maxRow, r), min(minRow, r)
	}
	if rows != nil && (minRow < 0 || (n >= 0 && int(maxRow) >= n)) {
		return batch{}, fmt.Errorf("%s: row index out of range [%d, %d] for an argument of %d rows", fn, minRow, maxRow, n)
	}
	b := batch{groups: groups, rows: rows}
	if len(groups) > 0 {
		b.need = int(top) + 1
	}
	if arr == nil {
		return b, nil
	}
	if d, ok := arr.(*array.Dictionary); ok && d.Dictionary().NullN() > 0 {
		return s.filterDictionary(b, d), nil
	}
	if arr.NullN() == 0 {
		return b, nil
	}
	bitmap, off := arr.NullBitmapBytes(), arr.Data().Offset()
	s.groups, s.rows = s.groups[:0], s.rows[:0]
	if rows == nil {
		for i, g := range groups {
			if bitutil.BitIsSet(bitmap, off+i) {
				s.groups = append(s.groups, g)
				s.rows = append(s.rows, int32(i))
			}
		}
	} else {
		for i, g := range groups {
			if r := rows[i]; bitutil.BitIsSet(bitmap, off+int(r)) {
				s.groups = append(s.groups, g)
				s.rows = append(s.rows, r)
			}
		}
	}
	b.groups, b.rows = s.groups, s.rows
	return b, nil
}

// filterDictionary removes the rows of a dictionary array that are null or point at a null
// dictionary value. Dictionaries with null values are rare; this path is not tuned.
func (s *selector) filterDictionary(b batch, d *array.Dictionary) batch {
	dict := d.Dictionary()
	s.groups, s.rows = s.groups[:0], s.rows[:0]
	for i, g := range b.groups {
		r := i
		if b.rows != nil {
			r = int(b.rows[i])
		}
		if d.IsValid(r) && dict.IsValid(d.GetValueIndex(r)) {
			s.groups = append(s.groups, g)
			s.rows = append(s.rows, int32(r))
		}
	}
	b.groups, b.rows = s.groups, s.rows
	return b
}

// values returns the typed values of a fixed-width array, offset applied: the int64 values of a
// timestamp, the decimal128.Num values of a decimal, and so on.
func values[T arrow.FixedWidthType](arr arrow.Array) []T {
	if arr.Len() == 0 {
		return nil
	}
	return arrow.GetValues[T](arr.Data(), 1)
}

// strs gives access to the bytes of a utf8 column, plain or dictionary-encoded, without copying.
type strs struct {
	offsets []int32 // absolute offsets into data, one more than the values
	data    []byte
	codes   []int32 // dictionary code of each row; nil for a plain column
}

// value returns the bytes of row r. They alias the batch and must be copied to be kept.
func (s *strs) value(r int32) []byte {
	if s.codes != nil {
		r = s.codes[r]
	}
	return s.data[s.offsets[r]:s.offsets[r+1]]
}

// strsOfData gives access to the bytes of the utf8 array data d.
func strsOfData(d arrow.ArrayData) strs {
	s := strs{offsets: arrow.GetOffsets[int32](d, 1)}
	if buf := d.Buffers()[2]; buf != nil {
		s.data = buf.Bytes()
	}
	return s
}

// stringsOf reads a utf8 or dictionary-of-utf8 array. Dictionary codes are widened into
// codes, which the caller reuses across batches.
func stringsOf(fn string, arr arrow.Array, codes []int32) (strs, []int32, error) {
	values := arr
	d, isDict := arr.(*array.Dictionary)
	if isDict {
		values = d.Dictionary()
	}
	if values.DataType().ID() != arrow.STRING {
		return strs{}, codes, fmt.Errorf("%s: argument is %s, want string", fn, typeName(arr.DataType()))
	}
	s := strsOfData(values.Data())
	if !isDict {
		return s, codes, nil
	}
	codes = widenCodes(d.Indices(), codes[:0])
	s.codes = codes
	return s, codes, nil
}

// widenCodes appends the dictionary indices of idx as int32. Null slots hold whatever the
// buffer holds; they are filtered out before use.
func widenCodes(idx arrow.Array, dst []int32) []int32 {
	switch idx.DataType().ID() {
	case arrow.INT8:
		return widen(dst, values[int8](idx))
	case arrow.UINT8:
		return widen(dst, values[uint8](idx))
	case arrow.INT16:
		return widen(dst, values[int16](idx))
	case arrow.UINT16:
		return widen(dst, values[uint16](idx))
	case arrow.INT32:
		return append(dst, values[int32](idx)...)
	case arrow.UINT32:
		return widen(dst, values[uint32](idx))
	case arrow.INT64:
		return widen(dst, values[int64](idx))
	default:
		return widen(dst, values[uint64](idx))
	}
}

func widen[T int8 | uint8 | int16 | uint16 | uint32 | int64 | uint64](dst []int32, src []T) []int32 {
	for _, v := range src {
		dst = append(dst, int32(v))
	}
	return dst
}

// wantArgs checks that Update got the n column arguments the function reads.
func wantArgs(fn string, args []arrow.Array, n int) error {
	if len(args) < n {
		return fmt.Errorf("%s: Update got %d arguments, want %d", fn, len(args), n)
	}
	for i := range n {
		if args[i] == nil {
			return fmt.Errorf("%s: Update got no array for argument %d", fn, i+1)
		}
	}
	return nil
}

// byGroup returns the indices of b's inputs ordered by group, stable within a group, in
// scratch. Kernels that keep a pointer-heavy state per group (sketches) walk their inputs in
// this order, so each group's sketch is fetched once per batch and stays in cache while its
// values go in, instead of one cache miss per row. counts is scratch of at least b.need.
func byGroup(b batch, counts []int32, scratch []int32) ([]int32, []int32) {
	counts = growTo(counts[:0], b.need)
	for _, g := range b.groups {
		counts[g]++
	}
	sum := int32(0)
	for g, c := range counts {
		counts[g] = sum
		sum += c
	}
	scratch = growTo(scratch[:0], len(b.groups))
	for i, g := range b.groups {
		scratch[counts[g]] = int32(i)
		counts[g]++
	}
	return counts, scratch
}

// wrongType is the error for an argument whose type is not the one the accumulator was made
// for. When both print alike (dictionaries with different index types), Arrow's full type names
// tell them apart.
func wrongType(fn string, got, want arrow.DataType) error {
	g, w := typeName(got), typeName(want)
	if g == w {
		g, w = got.String(), want.String()
	}
	return fmt.Errorf("%s: argument is %s, want %s", fn, g, w)
}
