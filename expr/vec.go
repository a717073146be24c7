package expr

import (
	"fmt"
	"math/bits"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"millrace/civil"
)

// bitmap is a bit per row, row i at bit i%64 of word i/64, the layout of an Arrow bitmap at
// offset zero read as little-endian words. Bits past the last row are unspecified.
type bitmap []uint64

func newBitmap(n int) bitmap { return make(bitmap, (n+63)/64) }

func (b bitmap) get(i int) bool { return b[i>>6]>>(uint(i)&63)&1 != 0 }
func (b bitmap) set(i int)      { b[i>>6] |= 1 << (uint(i) & 63) }

// trailing returns the index of the lowest set bit of x.
func trailing(x uint64) int { return bits.TrailingZeros64(x) }

// bytes views the bitmap as the bytes of an Arrow buffer.
func (b bitmap) bytes() []byte { return arrow.Uint64Traits.CastToBytes(b) }

// onesBitmap returns a bitmap with the first n bits set.
func onesBitmap(n int) bitmap {
	b := newBitmap(n)
	for i := range b {
		b[i] = ^uint64(0)
	}
	return b
}

// count counts the set bits among the first n.
func (b bitmap) count(n int) int {
	c := 0
	full := n / 64
	for _, w := range b[:full] {
		c += bits.OnesCount64(w)
	}
	if r := n % 64; r != 0 {
		c += bits.OnesCount64(b[full] & (1<<r - 1))
	}
	return c
}

// bitmapFrom copies n bits starting at bit off of an Arrow bitmap.
func bitmapFrom(buf []byte, off, n int) bitmap {
	b := newBitmap(n)
	if n > 0 {
		bitutil.CopyBitmap(buf, off, n, b.bytes(), 0)
	}
	return b
}

// andBitmaps returns a & b, where nil stands for all bits set. The result may be one of the
// arguments; like every bitmap here it must not be modified.
func andBitmaps(a, b bitmap) bitmap {
	switch {
	case a == nil:
		return b
	case b == nil:
		return a
	}
	out := make(bitmap, len(a))
	for i := range out {
		out[i] = a[i] & b[i]
	}
	return out
}

// vec is one column of values during evaluation: the whole batch, or a single constant that
// stands for every row. Exactly one of the value slices is used, chosen by the static type of
// the expression that produced it. A vec is not modified once built, so vecs share slices
// freely; the one exception is a scratch vec, whose single consumer may overwrite its values.
// Values that alias an input column are marked borrowed and copied before they leave Eval
// inside a new array.
type vec struct {
	n     int    // rows in the batch
	konst bool   // the slices hold one value that stands for every row
	valid bitmap // validity per row (bit 0 for a constant); nil when there is no NULL

	i32  []int32 // int32, date
	i64  []int64 // int64, timestamp, interval
	f64  []float64
	dec  []num
	bits bitmap  // bool values
	offs []int32 // string offsets: value i is data[offs[i]:offs[i+1]]
	data []byte

	borrowed bool        // value slices alias input memory
	src      arrow.Array // when set, the vec is exactly this input array
	// scratch marks values that only the consumer of this vec sees, so an arithmetic
	// kernel may write its result over them instead of allocating.
	scratch bool
}

// null reports whether row i is NULL.
func (v *vec) null(i int) bool {
	if v.valid == nil {
		return false
	}
	if v.konst {
		return !v.valid.get(0)
	}
	return !v.valid.get(i)
}

// isNullConst reports whether v is the constant NULL.
func (v *vec) isNullConst() bool { return v.konst && v.valid != nil && !v.valid.get(0) }

// str returns string value i (i is 0 for a constant).
func (v *vec) str(i int) []byte { return v.data[v.offs[i]:v.offs[i+1]] }

// validity returns v's validity for every row of its batch, a constant's expanded; nil when
// no row is NULL.
func (v *vec) validity() bitmap {
	if !v.konst || v.valid == nil {
		return v.valid
	}
	if v.valid.get(0) {
		return nil
	}
	return newBitmap(v.n)
}

// andValidity combines the validity of several inputs: a row is valid when it is valid in all.
func andValidity(vs ...*vec) bitmap {
	var out bitmap
	owned := false
	for _, v := range vs {
		w := v.validity()
		switch {
		case w == nil:
		case out == nil:
			out = w
		default:
			if !owned {
				out = append(bitmap(nil), out...)
				owned = true
			}
			for i := range out {
				out[i] &= w[i]
			}
		}
	}
	return out
}

// withRows returns the constant v standing for a batch of n rows.
func (v *vec) withRows(n int) *vec {
	c := *v
	c.n = n
	return &c
}

// nullVec is the constant NULL for n rows of any type.
func nullVec(n int) *vec {
	return &vec{n: n, konst: true, valid: bitmap{0}, i32: []int32{0}, i64: []int64{0},
		f64: []float64{0}, dec: []num{{}}, bits: bitmap{0}, offs: []int32{0, 0}}
}

// expand turns a constant into a full column; other vecs are returned as they are.
func (v *vec) expand(t typ) *vec {
	if !v.konst {
		return v
	}
	n := v.n
	out := &vec{n: n}
	if v.valid != nil && !v.valid.get(0) {
		out.valid = newBitmap(n)
	}
	switch t.k {
	case kInt32, kDate:
		out.i32 = fill(make([]int32, n), v.i32[0])
	case kInt64, kTimestamp, kInterval:
		out.i64 = fill(make([]int64, n), v.i64[0])
	case kFloat64:
		out.f64 = fill(make([]float64, n), v.f64[0])
	case kDecimal:
		out.dec = fill(make([]num, n), v.dec[0])
	case kBool:
		out.bits = newBitmap(n)
		if v.bits[0]&1 != 0 {
			out.bits = onesBitmap(n)
		}
	case kString:
		s := v.str(0)
		offs, data := make([]int32, n+1), make([]byte, n*len(s))
		for i := 0; i < n; i++ {
			copy(data[i*len(s):], s)
			offs[i+1] = int32((i + 1) * len(s))
		}
		out.offs, out.data = offs, data
	case kNull:
		out.valid = newBitmap(n)
	}
	return out
}

func fill[T any](s []T, v T) []T {
	for i := range s {
		s[i] = v
	}
	return s
}

// loadColumn wraps an input column as a vec without copying its values. Bitmaps are copied
// to offset zero; timestamps and durations in other units are converted to milliseconds.
func loadColumn(a arrow.Array) (*vec, error) {
	n := a.Len()
	v := &vec{n: n, borrowed: true, src: a}
	if a.NullN() > 0 {
		v.valid = bitmapFrom(a.NullBitmapBytes(), a.Data().Offset(), n)
	}
	switch a := a.(type) {
	case *array.Boolean:
		v.bits = newBitmap(n)
		if n > 0 {
			v.bits = bitmapFrom(a.Data().Buffers()[1].Bytes(), a.Data().Offset(), n)
		}
		v.borrowed = false
	case *array.Int32:
		v.i32 = a.Int32Values()
	case *array.Int64:
		v.i64 = a.Int64Values()
	case *array.Float64:
		v.f64 = a.Float64Values()
	case *array.Decimal128:
		v.dec = a.Values()
	case *array.Date32:
		v.i32 = arrow.Int32Traits.CastFromBytes(arrow.Date32Traits.CastToBytes(a.Date32Values()))
	case *array.String:
		v.offs = a.ValueOffsets()
		if b := a.Data().Buffers()[2]; b != nil {
			v.data = b.Bytes()
		}
	case *array.Timestamp:
		v.i64 = toMillis(arrow.Int64Traits.CastFromBytes(arrow.TimestampTraits.CastToBytes(a.TimestampValues())),
			a.DataType().(*arrow.TimestampType).Unit, v)
	case *array.Duration:
		v.i64 = toMillis(arrow.Int64Traits.CastFromBytes(arrow.DurationTraits.CastToBytes(a.DurationValues())),
			a.DataType().(*arrow.DurationType).Unit, v)
	case *array.Null:
		v.valid = newBitmap(n)
	case *array.Dictionary:
		v.offs, v.data = decodeDictionary(a)
		v.borrowed, v.src = false, nil
	default:
		return nil, fmt.Errorf("column type %s is not supported", a.DataType())
	}
	return v, nil
}

// decodeDictionary expands dictionary-encoded strings into offsets and data. Rows that are
// NULL come out empty.
func decodeDictionary(a *array.Dictionary) ([]int32, []byte) {
	dict := a.Dictionary().(*array.String)
	n := a.Len()
	offs := make([]int32, n+1)
	data := make([]byte, 0, n*8)
	for i := 0; i < n; i++ {
		if a.IsValid(i) {
			data = append(data, dict.Value(a.GetValueIndex(i))...)
		}
		offs[i+1] = int32(len(data))
	}
	return offs, data
}

// toMillis converts times in unit to milliseconds, rounding toward the past; values already
// in milliseconds are returned as they are.
func toMillis(vals []int64, unit arrow.TimeUnit, v *vec) []int64 {
	var mul, div int64 = 1, 1
	switch unit {
	case arrow.Millisecond:
		return vals
	case arrow.Second:
		mul = msPerSecond
	case arrow.Microsecond:
		div = 1000
	case arrow.Nanosecond:
		div = 1000_000
	}
	out := make([]int64, len(vals))
	for i, x := range vals {
		out[i] = civil.FloorDiv(x, div) * mul
	}
	v.borrowed, v.src = false, nil
	return out
}

// toArray builds the Arrow array of type t that holds v's n rows. A vec that is exactly an
// input column of the same type is returned as that column, retained.
func toArray(v *vec, t typ) arrow.Array {
	dt := t.arrowType()
	if v.src != nil && !v.konst && arrow.TypeEqual(v.src.DataType(), dt) {
		v.src.Retain()
		return v.src
	}
	n := v.n
	if t.k == kNull {
		return array.NewNull(n)
	}
	v = v.expand(t)
	var validBuf *memory.Buffer
	nulls := 0
	if v.valid != nil {
		nulls = n - v.valid.count(n)
		if nulls > 0 {
			validBuf = memory.NewBufferBytes(v.valid.bytes())
		}
	}
	var bufs []*memory.Buffer
	switch t.k {
	case kBool:
		bufs = []*memory.Buffer{validBuf, memory.NewBufferBytes(v.bits.bytes())}
	case kInt32, kDate:
		bufs = []*memory.Buffer{validBuf, memory.NewBufferBytes(arrow.Int32Traits.CastToBytes(owned(v.i32, v.borrowed)))}
	case kInt64, kTimestamp, kInterval:
		bufs = []*memory.Buffer{validBuf, memory.NewBufferBytes(arrow.Int64Traits.CastToBytes(owned(v.i64, v.borrowed)))}
	case kFloat64:
		bufs = []*memory.Buffer{validBuf, memory.NewBufferBytes(arrow.Float64Traits.CastToBytes(owned(v.f64, v.borrowed)))}
	case kDecimal:
		bufs = []*memory.Buffer{validBuf, memory.NewBufferBytes(arrow.Decimal128Traits.CastToBytes(owned(v.dec, v.borrowed)))}
	case kString:
		offs, data := v.offs, v.data
		if v.borrowed {
			offs, data = compactStrings(v)
		}
		bufs = []*memory.Buffer{validBuf, memory.NewBufferBytes(arrow.Int32Traits.CastToBytes(offs)), memory.NewBufferBytes(data)}
	}
	d := array.NewData(dt, n, bufs, nil, nulls, 0)
	defer d.Release()
	return array.MakeFromData(d)
}

// owned returns s, or a copy of it when it aliases input memory.
func owned[T any](s []T, borrowed bool) []T {
	if !borrowed {
		return s
	}
	return append([]T(nil), s...)
}

// compactStrings copies the strings of v into new offsets and data starting at zero.
func compactStrings(v *vec) ([]int32, []byte) {
	offs := make([]int32, v.n+1)
	data := make([]byte, 0, v.offs[v.n]-v.offs[0])
	for i := 0; i < v.n; i++ {
		data = append(data, v.str(i)...)
		offs[i+1] = int32(len(data))
	}
	return offs, data
}
