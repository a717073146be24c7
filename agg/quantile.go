package agg

import (
	"fmt"
	"math"

	"github.com/DataDog/sketches-go/ddsketch"
	"github.com/DataDog/sketches-go/ddsketch/mapping"
	"github.com/DataDog/sketches-go/ddsketch/store"
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
)

// quantileAccuracy is the relative accuracy of quantile's sketches: the result is within 1% of
// the true value at the requested rank.
const quantileAccuracy = 0.01

// quantile is quantile(x, q): a DDSketch per group with a logarithmic index mapping and
// unbounded paginated stores, so sketches merge by adding bin counts and never collapse bins.
type quantile struct {
	cfg      config
	in       arrow.DataType
	label    string
	q        float64
	mapping  mapping.IndexMapping // immutable, shared by every sketch
	sketches []*ddsketch.DDSketch
	// added counts the values (or encoded partial bytes) each group's sketch was given; 0
	// marks an empty group.
	added []int64
	sel   selector
	buf   []byte

	// Scratch for ordering inputs by group and converting decimals.
	counts, order []int32
	floats        []float64
}

func newQuantile(in arrow.DataType, q float64, cfg config) (Accumulator, error) {
	switch in.ID() {
	case arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64, arrow.UINT8, arrow.UINT16, arrow.UINT32,
		arrow.UINT64, arrow.FLOAT32, arrow.FLOAT64, arrow.DECIMAL128:
	default:
		return nil, undefined("quantile", in, "it takes numbers and decimals")
	}
	m, err := mapping.NewLogarithmicMapping(quantileAccuracy)
	if err != nil {
		return nil, fmt.Errorf("quantile: index mapping: %w", err)
	}
	label := fmt.Sprintf("quantile(%s, %g)", typeName(in), q)
	return &quantile{cfg: cfg, in: in, label: label, q: q, mapping: m}, nil
}

func (a *quantile) name() string { return a.label }

func (a *quantile) grow(n int) {
	a.sketches = growTo(a.sketches, n)
	a.added = growTo(a.added, n)
}

// sketch returns the sketch of group g, creating it on first use.
func (a *quantile) sketch(g uint32) *ddsketch.DDSketch {
	sk := a.sketches[g]
	if sk == nil {
		sk = ddsketch.NewDDSketch(a.mapping, store.NewBufferedPaginatedStore(), store.NewBufferedPaginatedStore())
		a.sketches[g] = sk
	}
	return sk
}

func (a *quantile) Update(groups []uint32, args []arrow.Array, rows []int32) error {
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
	a.grow(b.need)
	switch arg.DataType().ID() {
	case arrow.INT8:
		return addToSketches(a, b, values[int8](arg))
	case arrow.INT16:
		return addToSketches(a, b, values[int16](arg))
	case arrow.INT32:
		return addToSketches(a, b, values[int32](arg))
	case arrow.INT64:
		return addToSketches(a, b, values[int64](arg))
	case arrow.UINT8:
		return addToSketches(a, b, values[uint8](arg))
	case arrow.UINT16:
		return addToSketches(a, b, values[uint16](arg))
	case arrow.UINT32:
		return addToSketches(a, b, values[uint32](arg))
	case arrow.UINT64:
		return addToSketches(a, b, values[uint64](arg))
	case arrow.FLOAT32:
		return addToSketches(a, b, values[float32](arg))
	case arrow.FLOAT64:
		return addToSketches(a, b, values[float64](arg))
	}
	// Decimals are converted once per row of the batch, then go in like float64.
	scale := a.in.(*arrow.Decimal128Type).Scale
	pow10 := math.Pow10(int(scale))
	a.floats = a.floats[:0]
	for _, v := range values[decimal128.Num](arg) {
		a.floats = append(a.floats, decimalToFloat(v, pow10, scale))
	}
	return addToSketches(a, b, a.floats)
}

// addToSketches adds each input's value to its group's sketch, walking the inputs in group
// order.
func addToSketches[T int8 | int16 | int32 | int64 | uint8 | uint16 | uint32 | uint64 | float32 | float64](a *quantile, b batch, vals []T) error {
	a.counts, a.order = byGroup(b, a.counts, a.order)
	var sk *ddsketch.DDSketch
	last := ^uint32(0)
	for _, i := range a.order {
		g := b.groups[i]
		if g != last {
			sk, last = a.sketch(g), g
		}
		r := int(i)
		if b.rows != nil {
			r = int(b.rows[i])
		}
		if err := sk.Add(float64(vals[r])); err != nil {
			return a.addError(g, float64(vals[r]), err)
		}
		a.added[g]++
	}
	return nil
}

func (a *quantile) addError(g uint32, v float64, err error) error {
	return fmt.Errorf("%s: value %v of group %d: %w", a.name(), v, g, err)
}

func (a *quantile) Partial(groups []uint32) (arrow.Array, error) {
	b := array.NewBinaryBuilder(a.cfg.mem, arrow.BinaryTypes.Binary)
	defer b.Release()
	b.Reserve(len(groups))
	for _, g := range groups {
		if int(g) >= len(a.added) || a.added[g] == 0 {
			b.AppendNull()
			continue
		}
		a.buf = a.buf[:0]
		a.sketches[g].Encode(&a.buf, true)
		b.Append(a.buf)
	}
	return b.NewArray(), nil
}

func (a *quantile) MergePartial(groups []uint32, partial arrow.Array) error {
	if err := checkPartial(a.name(), partial, arrow.BinaryTypes.Binary, len(groups)); err != nil {
		return err
	}
	a.grow(maxGroup(groups) + 1)
	bin := partial.(*array.Binary)
	for i, g := range groups {
		if bin.IsNull(i) {
			continue
		}
		enc := bin.Value(i)
		if err := a.sketch(g).DecodeAndMergeWith(enc); err != nil {
			return fmt.Errorf("%s: merge the partial sketch of group %d: %w", a.name(), g, err)
		}
		a.added[g] += int64(len(enc))
	}
	return nil
}

func (a *quantile) Final(groups []uint32) (arrow.Array, error) {
	vals := make([]float64, len(groups))
	valid := make([]bool, len(groups))
	for i, g := range groups {
		if int(g) >= len(a.added) || a.added[g] == 0 {
			continue
		}
		v, err := a.sketches[g].GetValueAtQuantile(a.q)
		if err != nil {
			return nil, fmt.Errorf("%s: group %d: %w", a.name(), g, err)
		}
		vals[i], valid[i] = v, true
	}
	return fixedColumn(a.cfg.mem, arrow.PrimitiveTypes.Float64, vals, valid), nil
}

// Reset empties groups and keeps their sketches' memory for the groups' next use.
func (a *quantile) Reset(groups []uint32) {
	for _, g := range groups {
		if int(g) < len(a.added) && a.added[g] > 0 {
			a.sketches[g].Clear()
			a.added[g] = 0
		}
	}
}

func (a *quantile) StateType() arrow.DataType  { return arrow.BinaryTypes.Binary }
func (a *quantile) ResultType() arrow.DataType { return arrow.PrimitiveTypes.Float64 }

// SizeBytes estimates a sketch at 8 bytes per value added, up to the 8 KiB of bins that 1%
// accuracy needs over the range of money amounts. It costs a pass over the groups.
func (a *quantile) SizeBytes() int64 {
	const sketchOverhead = 256
	n := int64(cap(a.sketches))*8 + int64(cap(a.added))*8 + int64(cap(a.buf))
	for i, sk := range a.sketches {
		if sk != nil {
			n += sketchOverhead + min(8*a.added[i], 8192)
		}
	}
	return n
}
