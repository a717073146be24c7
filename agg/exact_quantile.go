package agg

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"math"
	"math/big"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
)

// exactQuantile is quantile_disc(x, q) and quantile_cont(x, q) (plain quantile is
// quantile_disc): each group keeps every value it was given, in T, and Final selects the
// values at DuckDB's positions (see fraction). T is int64 for integers up to int64
// and uint32 and for decimals of up to 18 digits (their unscaled value), float64 for floats,
// and decimal128.Num for wider decimals and uint64.
type exactQuantile[T int64 | float64 | decimal128.Num] struct {
	cfg   config
	label string
	in    arrow.DataType
	out   arrow.DataType // the result type
	cont  bool
	q     fraction
	cmp   func(a, b T) int
	// load converts a column of the input type to T, row for row, nulls included.
	load func(dst []T, arr arrow.Array) []T
	// disc appends a value to a builder of the input type; interp appends the value d of the
	// way from lo to hi to a builder of out.
	disc   func(b array.Builder, v T)
	interp func(b array.Builder, lo, hi T, d float64)
	// put and get write and read a value as little-endian bytes, width of them, in states.
	put func(dst []byte, v T) []byte
	get func(src []byte) T

	vals  [][]T
	bytes int64 // the capacity of the value lists, in bytes
	width int64 // bytes per value
	sel   selector

	scratch       []T
	counts, order []int32
	buf           []byte
}

// exactStateMark starts every exact quantile state, so that a state of another function (the
// sketches of approx_quantile start with 1, 2 or 0xFC) is refused rather than misread.
const exactStateMark = 0xE5

// newExactQuantile returns quantile_disc (cont false) or quantile_cont over in.
func newExactQuantile(fn string, in arrow.DataType, q fraction, cont bool, cfg config) (Accumulator, error) {
	label := fmt.Sprintf("%s(%s, %g)", fn, typeName(in), q.f)
	switch in.ID() {
	case arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64, arrow.UINT8, arrow.UINT16, arrow.UINT32:
		a := newExact(label, in, q, cont, cfg, cmp.Compare[int64], int64Codec)
		a.load = loadInts
		a.disc = appendInt
		a.out = in
		if cont {
			a.out = arrow.PrimitiveTypes.Float64
			a.interp = func(b array.Builder, lo, hi int64, d float64) {
				b.(*array.Float64Builder).Append(lerp(float64(lo), float64(hi), d))
			}
		}
		return a, nil
	case arrow.FLOAT32, arrow.FLOAT64:
		a := newExact(label, in, q, cont, cfg, cmpNaNLast, float64Codec)
		a.load = loadFloats
		a.disc = appendFloat
		a.out = in
		a.interp = func(b array.Builder, lo, hi float64, d float64) { appendFloat(b, lerp(lo, hi, d)) }
		return a, nil
	case arrow.UINT64:
		a := newExact(label, in, q, cont, cfg, decimal128.Num.Cmp, numCodec)
		a.load = loadUint64s
		a.disc = func(b array.Builder, v decimal128.Num) { b.(*array.Uint64Builder).Append(v.LowBits()) }
		a.out = in
		if cont {
			a.out = arrow.PrimitiveTypes.Float64
			a.interp = func(b array.Builder, lo, hi decimal128.Num, d float64) {
				b.(*array.Float64Builder).Append(lerp(float64(lo.LowBits()), float64(hi.LowBits()), d))
			}
		}
		return a, nil
	case arrow.DECIMAL128:
		dt := in.(*arrow.Decimal128Type)
		if dt.Precision <= 18 {
			a := newExact(label, in, q, cont, cfg, cmp.Compare[int64], int64Codec)
			a.load = loadNarrowDecimals
			a.disc = func(b array.Builder, v int64) { b.(*array.Decimal128Builder).Append(decimal128.FromI64(v)) }
			a.out = in
			a.interp = func(b array.Builder, lo, hi int64, d float64) {
				b.(*array.Decimal128Builder).Append(decimal128.FromI64(lo + int64(math.Floor(float64(hi-lo)*d))))
			}
			return a, nil
		}
		a := newExact(label, in, q, cont, cfg, decimal128.Num.Cmp, numCodec)
		a.load = func(dst []decimal128.Num, arr arrow.Array) []decimal128.Num {
			return append(dst, values[decimal128.Num](arr)...)
		}
		a.disc = func(b array.Builder, v decimal128.Num) { b.(*array.Decimal128Builder).Append(v) }
		a.out = in
		a.interp = func(b array.Builder, lo, hi decimal128.Num, d float64) {
			b.(*array.Decimal128Builder).Append(wideLerp(lo, hi, d))
		}
		return a, nil
	}
	return nil, undefined(fn, in, "it takes numbers and decimals")
}

// codec writes and reads values of T in states: width little-endian bytes each.
type codec[T any] struct {
	width int
	put   func(dst []byte, v T) []byte
	get   func(src []byte) T
}

var (
	int64Codec = codec[int64]{8,
		func(dst []byte, v int64) []byte { return binary.LittleEndian.AppendUint64(dst, uint64(v)) },
		func(src []byte) int64 { return int64(binary.LittleEndian.Uint64(src)) }}
	float64Codec = codec[float64]{8,
		func(dst []byte, v float64) []byte { return binary.LittleEndian.AppendUint64(dst, math.Float64bits(v)) },
		func(src []byte) float64 { return math.Float64frombits(binary.LittleEndian.Uint64(src)) }}
	numCodec = codec[decimal128.Num]{16,
		func(dst []byte, v decimal128.Num) []byte {
			dst = binary.LittleEndian.AppendUint64(dst, v.LowBits())
			return binary.LittleEndian.AppendUint64(dst, uint64(v.HighBits()))
		},
		func(src []byte) decimal128.Num {
			return decimal128.New(int64(binary.LittleEndian.Uint64(src[8:])), binary.LittleEndian.Uint64(src))
		}}
)

func newExact[T int64 | float64 | decimal128.Num](label string, in arrow.DataType, q fraction, cont bool, cfg config, cmp func(a, b T) int, c codec[T]) *exactQuantile[T] {
	return &exactQuantile[T]{
		cfg: cfg, label: label, in: in, cont: cont, q: q, cmp: cmp,
		put: c.put, get: c.get, width: int64(c.width),
	}
}

// lerp is DuckDB's interpolation of floats, d of the way from lo to hi, computed as it
// does, lo*(1-d) + hi*d, so that every bit agrees; lo itself when d is 0, so that an
// infinite value read at its own rank stays itself.
func lerp(lo, hi, d float64) float64 {
	if d == 0 {
		return lo
	}
	return lo*(1-d) + hi*d
}

// wideLerp is quantile_cont between two decimals of more than 18 digits as DuckDB computes
// it: lo*(1-d) + hi*d in float64, truncated toward zero to the column's scale, so only about
// 16 significant digits are exact; lo itself when d is 0.
func wideLerp(lo, hi decimal128.Num, d float64) decimal128.Num {
	if d == 0 {
		return lo
	}
	v, _ := big.NewFloat(lerp(lo.ToFloat64(0), hi.ToFloat64(0), d)).Int(nil) // toward zero
	return decimal128.FromBigInt(v)
}

// cmpNaNLast orders floats with NaN above every number, as DuckDB sorts them.
func cmpNaNLast(a, b float64) int {
	switch an, bn := math.IsNaN(a), math.IsNaN(b); {
	case an && bn:
		return 0
	case an:
		return 1
	case bn:
		return -1
	}
	return cmp.Compare(a, b)
}

func loadInts(dst []int64, arr arrow.Array) []int64 {
	switch arr.DataType().ID() {
	case arrow.INT8:
		return widenInts(dst, values[int8](arr))
	case arrow.INT16:
		return widenInts(dst, values[int16](arr))
	case arrow.INT32:
		return widenInts(dst, values[int32](arr))
	case arrow.UINT8:
		return widenInts(dst, values[uint8](arr))
	case arrow.UINT16:
		return widenInts(dst, values[uint16](arr))
	case arrow.UINT32:
		return widenInts(dst, values[uint32](arr))
	}
	return append(dst, values[int64](arr)...)
}

func widenInts[S int8 | int16 | int32 | uint8 | uint16 | uint32](dst []int64, src []S) []int64 {
	for _, v := range src {
		dst = append(dst, int64(v))
	}
	return dst
}

func loadFloats(dst []float64, arr arrow.Array) []float64 {
	if arr.DataType().ID() == arrow.FLOAT32 {
		for _, v := range values[float32](arr) {
			dst = append(dst, float64(v))
		}
		return dst
	}
	return append(dst, values[float64](arr)...)
}

func loadUint64s(dst []decimal128.Num, arr arrow.Array) []decimal128.Num {
	for _, v := range values[uint64](arr) {
		dst = append(dst, decimal128.FromU64(v))
	}
	return dst
}

// loadNarrowDecimals reads decimals of up to 18 digits as their unscaled int64 values.
func loadNarrowDecimals(dst []int64, arr arrow.Array) []int64 {
	for _, v := range values[decimal128.Num](arr) {
		dst = append(dst, int64(v.LowBits()))
	}
	return dst
}

func appendInt(b array.Builder, v int64) {
	switch b := b.(type) {
	case *array.Int8Builder:
		b.Append(int8(v))
	case *array.Int16Builder:
		b.Append(int16(v))
	case *array.Int32Builder:
		b.Append(int32(v))
	case *array.Int64Builder:
		b.Append(v)
	case *array.Uint8Builder:
		b.Append(uint8(v))
	case *array.Uint16Builder:
		b.Append(uint16(v))
	case *array.Uint32Builder:
		b.Append(uint32(v))
	}
}

func appendFloat(b array.Builder, v float64) {
	switch b := b.(type) {
	case *array.Float32Builder:
		b.Append(float32(v))
	case *array.Float64Builder:
		b.Append(v)
	}
}

func (a *exactQuantile[T]) name() string { return a.label }

func (a *exactQuantile[T]) Update(groups []uint32, args []arrow.Array, rows []int32) error {
	if err := wantArgs(a.name(), args, 1); err != nil {
		return err
	}
	arg := args[0]
	if !arrow.TypeEqual(arg.DataType(), a.in) {
		return wrongType(a.name(), arg.DataType(), a.in)
	}
	b, err := a.sel.prepare(a.name(), groups, rows, arg)
	if err != nil {
		return err
	}
	a.vals = growTo(a.vals, b.need)
	a.scratch = a.load(a.scratch[:0], arg)
	// Walk the inputs in group order, so that each list grows once, by its group's run.
	a.counts, a.order = byGroup(b, a.counts, a.order)
	for k := 0; k < len(a.order); {
		g := b.groups[a.order[k]]
		end := int(a.counts[g]) // byGroup leaves each group's count at the end of its run
		vs := a.grow(g, end-k)
		for _, i := range a.order[k:end] {
			r := int(i)
			if b.rows != nil {
				r = int(b.rows[i])
			}
			vs = append(vs, a.scratch[r])
		}
		a.vals[g], k = vs, end
	}
	return nil
}

// grow makes room in group g's list for n more values at once and returns the list, to
// which the caller appends them.
func (a *exactQuantile[T]) grow(g uint32, n int) []T {
	vs := a.vals[g]
	c := cap(vs)
	vs = slices.Grow(vs, n)
	a.vals[g] = vs
	a.bytes += int64(cap(vs)-c) * a.width
	return vs
}

// Partial encodes a group as exactStateMark then its values, null when it has none.
func (a *exactQuantile[T]) Partial(groups []uint32) (arrow.Array, error) {
	b := array.NewBinaryBuilder(a.cfg.mem, arrow.BinaryTypes.Binary)
	defer b.Release()
	b.Reserve(len(groups))
	size := 0 // the bytes of every state, reserved at once rather than grown value by value
	for _, g := range groups {
		if int(g) < len(a.vals) && len(a.vals[g]) > 0 {
			size += 1 + len(a.vals[g])*int(a.width)
		}
	}
	b.ReserveData(size)
	for _, g := range groups {
		if int(g) >= len(a.vals) || len(a.vals[g]) == 0 {
			b.AppendNull()
			continue
		}
		a.buf = append(a.buf[:0], exactStateMark)
		for _, v := range a.vals[g] {
			a.buf = a.put(a.buf, v)
		}
		b.Append(a.buf)
	}
	return b.NewArray(), nil
}

func (a *exactQuantile[T]) MergePartial(groups []uint32, partial arrow.Array) error {
	if err := checkPartial(a.name(), partial, arrow.BinaryTypes.Binary, len(groups)); err != nil {
		return err
	}
	a.vals = growTo(a.vals, maxGroup(groups)+1)
	bin := partial.(*array.Binary)
	w := int(a.width)
	for i, g := range groups {
		if bin.IsNull(i) {
			continue
		}
		enc := bin.Value(i)
		if len(enc) == 0 || enc[0] != exactStateMark || (len(enc)-1)%w != 0 {
			return fmt.Errorf("%s: the partial state of group %d is not a list of %d-byte values", a.name(), g, w)
		}
		vs := a.grow(g, (len(enc)-1)/w)
		for v := enc[1:]; len(v) > 0; v = v[w:] {
			vs = append(vs, a.get(v))
		}
		a.vals[g] = vs
	}
	return nil
}

// Final selects each group's values at its answer's ranks and reads it; a group without values is null.
func (a *exactQuantile[T]) Final(groups []uint32) (arrow.Array, error) {
	b := array.NewBuilder(a.cfg.mem, a.ResultType())
	defer b.Release()
	b.Reserve(len(groups))
	for _, g := range groups {
		if int(g) >= len(a.vals) || len(a.vals[g]) == 0 {
			b.AppendNull()
			continue
		}
		vs := a.vals[g]
		if !a.cont {
			k := a.q.discIndex(len(vs))
			nth(vs, k, a.cmp)
			a.disc(b, vs[k])
			continue
		}
		lo, hi, d := a.q.contPosition(len(vs))
		nth(vs, lo, a.cmp)
		next := vs[lo]
		if hi > lo { // the least of the values after lo
			next = slices.MinFunc(vs[lo+1:], a.cmp)
		}
		a.interp(b, vs[lo], next, d)
	}
	return b.NewArray(), nil
}

// Reset empties groups; short value lists keep their memory for the group's next use.
func (a *exactQuantile[T]) Reset(groups []uint32) {
	for _, g := range groups {
		if int(g) >= len(a.vals) {
			continue
		}
		vs := a.vals[g]
		if cap(vs) > keptOnReset {
			a.bytes -= int64(cap(vs)) * a.width
			vs = nil
		}
		a.vals[g] = vs[:0]
	}
}

func (a *exactQuantile[T]) StateType() arrow.DataType { return arrow.BinaryTypes.Binary }

func (a *exactQuantile[T]) ResultType() arrow.DataType { return a.out }

// SizeBytes counts the per-group slots and the value lists' memory, kept as they change.
func (a *exactQuantile[T]) SizeBytes() int64 {
	scratch := a.sel.sizeBytes() + int64(cap(a.counts)+cap(a.order))*4 + int64(cap(a.scratch))*a.width
	return int64(cap(a.vals))*24 + a.bytes + scratch + int64(cap(a.buf))
}
