package agg

import (
	"fmt"
	"math"
	"slices"

	"github.com/DataDog/sketches-go/ddsketch"
	"github.com/DataDog/sketches-go/ddsketch/mapping"
	"github.com/DataDog/sketches-go/ddsketch/store"
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
)

// quantileAccuracy is the relative accuracy of approx_quantile's sketches: the result is within 1% of
// the true value at the requested rank.
const quantileAccuracy = 0.01

// Heap estimates of a DDSketch with buffered paginated stores, from benchmarks: ddBase
// before its first value and about ddPerValue bytes a value up to ddMaxBytes, the bins that
// 1% accuracy needs over the range of money amounts.
const (
	ddBase     = 320
	ddPerValue = 3
	ddMaxBytes = 8 << 10
)

// approxQuantile is approx_quantile(x, q). A group keeps its values exactly until it holds more than
// compactLimit, and answers from them exactly as the sketch would (the value of the bin the
// value at the rank falls in); then it turns to a DDSketch with a logarithmic index mapping
// and unbounded paginated stores, so sketches merge by adding bin counts and never collapse
// bins.
type approxQuantile struct {
	cfg     config
	in      arrow.DataType
	label   string
	q       float64
	mapping mapping.IndexMapping // immutable, shared by every sketch
	vals    [][]float64          // per group: its values, until it has a sketch
	// sketches holds per group its sketch, once past compactLimit, and the values (or
	// encoded partial bytes) it was given, for its size.
	sketches []*sketched[*ddsketch.DDSketch]
	// bytes is the heap the value lists and sketches hold, kept up to date as they change.
	bytes int64
	sel   selector
	buf   []byte
	words []uint64

	// Scratch for ordering inputs by group, converting decimals and sorting a group.
	counts, order []int32
	floats        []float64
	sorted        []float64
}

func newApproxQuantile(in arrow.DataType, q float64, cfg config) (Accumulator, error) {
	switch in.ID() {
	case arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64, arrow.UINT8, arrow.UINT16, arrow.UINT32,
		arrow.UINT64, arrow.FLOAT32, arrow.FLOAT64, arrow.DECIMAL128:
	default:
		return nil, undefined("approx_quantile", in, "it takes numbers and decimals")
	}
	m, err := mapping.NewLogarithmicMapping(quantileAccuracy)
	if err != nil {
		return nil, fmt.Errorf("approx_quantile: index mapping: %w", err)
	}
	label := fmt.Sprintf("approx_quantile(%s, %g)", typeName(in), q)
	return &approxQuantile{cfg: cfg, in: in, label: label, q: q, mapping: m}, nil
}

func (a *approxQuantile) name() string { return a.label }

func (a *approxQuantile) grow(n int) {
	a.vals = growTo(a.vals, n)
	a.sketches = growTo(a.sketches, n)
}

// newSketch returns an empty sketch.
func (a *approxQuantile) newSketch() *ddsketch.DDSketch {
	return ddsketch.NewDDSketch(a.mapping, store.NewBufferedPaginatedStore(), store.NewBufferedPaginatedStore())
}

// ddBytes estimates the heap of a sketch given added values.
func ddBytes(added int64) int64 { return min(ddBase+ddPerValue*added, ddMaxBytes) }

// check refuses the values a sketch cannot hold, with the sketch's own errors, so that a
// group refuses the same values whether it is exact or a sketch.
func (a *approxQuantile) check(v float64) error {
	switch max := a.mapping.MaxIndexableValue(); {
	case v > max:
		return ddsketch.ErrUntrackableTooHigh
	case v < -max:
		return ddsketch.ErrUntrackableTooLow
	case math.IsNaN(v):
		return ddsketch.ErrUntrackableNaN
	}
	return nil
}

// add adds v to group g.
func (a *approxQuantile) add(g uint32, v float64) error {
	if err := a.check(v); err != nil {
		return a.addError(g, v, err)
	}
	if s := a.sketches[g]; s != nil {
		if err := s.sk.Add(v); err != nil {
			return a.addError(g, v, err)
		}
		a.addedTo(s, 1)
		return nil
	}
	vs := a.vals[g]
	if len(vs) == compactLimit {
		if err := a.promote(g, a.newSketch()); err != nil {
			return err
		}
		return a.add(g, v)
	}
	c := cap(vs)
	a.vals[g] = append(vs, v)
	a.bytes += sliceBytes(cap(a.vals[g])) - sliceBytes(c)
	return nil
}

// addedTo counts n more values given to the sketch s.
func (a *approxQuantile) addedTo(s *sketched[*ddsketch.DDSketch], n int64) {
	a.bytes += ddBytes(s.added+n) - ddBytes(s.added)
	s.added += n
}

// promote makes sk, holding what it holds, the sketch of g, and moves g's values into it.
func (a *approxQuantile) promote(g uint32, sk *ddsketch.DDSketch) error {
	vs := a.vals[g]
	for _, v := range vs {
		if err := sk.Add(v); err != nil {
			return a.addError(g, v, err)
		}
	}
	a.bytes -= sliceBytes(cap(vs))
	a.vals[g] = nil
	a.sketches[g] = &sketched[*ddsketch.DDSketch]{sk: sk}
	a.addedTo(a.sketches[g], int64(len(vs)))
	return nil
}

func (a *approxQuantile) Update(groups []uint32, args []arrow.Array, rows []int32) error {
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
func addToSketches[T int8 | int16 | int32 | int64 | uint8 | uint16 | uint32 | uint64 | float32 | float64](a *approxQuantile, b batch, vals []T) error {
	a.counts, a.order = byGroup(b, a.counts, a.order)
	for _, i := range a.order {
		r := int(i)
		if b.rows != nil {
			r = int(b.rows[i])
		}
		if err := a.add(b.groups[i], float64(vals[r])); err != nil {
			return err
		}
	}
	return nil
}

func (a *approxQuantile) addError(g uint32, v float64, err error) error {
	return fmt.Errorf("%s: value %v of group %d: %w", a.name(), v, g, err)
}

// Partial encodes a group with a sketch as the sketch's Encode without the index mapping,
// and a group still exact as its values in compact form.
func (a *approxQuantile) Partial(groups []uint32) (arrow.Array, error) {
	b := array.NewBinaryBuilder(a.cfg.mem, arrow.BinaryTypes.Binary)
	defer b.Release()
	b.Reserve(len(groups))
	for _, g := range groups {
		switch {
		case int(g) >= len(a.vals):
			b.AppendNull()
		case a.sketches[g] != nil:
			a.buf = a.buf[:0]
			a.sketches[g].sk.Encode(&a.buf, true)
			b.Append(a.buf)
		case len(a.vals[g]) > 0:
			a.words = floatWords(a.words, a.vals[g])
			a.buf = appendCompact(a.buf[:0], compactFloats, a.words)
			b.Append(a.buf)
		default:
			b.AppendNull()
		}
	}
	return b.NewArray(), nil
}

func (a *approxQuantile) MergePartial(groups []uint32, partial arrow.Array) error {
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
		if isCompact(enc, compactFloats) {
			err := compactWords(enc, func(w uint64) error { return a.add(g, math.Float64frombits(w)) })
			if err != nil {
				return fmt.Errorf("%s: merge the partial state of group %d: %w", a.name(), g, err)
			}
			continue
		}
		if a.sketches[g] == nil {
			if err := a.promote(g, a.newSketch()); err != nil {
				return err
			}
		}
		if err := a.sketches[g].sk.DecodeAndMergeWith(enc); err != nil {
			return fmt.Errorf("%s: merge the partial sketch of group %d: %w", a.name(), g, err)
		}
		a.addedTo(a.sketches[g], int64(len(enc)))
	}
	return nil
}

func (a *approxQuantile) Final(groups []uint32) (arrow.Array, error) {
	vals := make([]float64, len(groups))
	valid := make([]bool, len(groups))
	for i, g := range groups {
		switch {
		case int(g) >= len(a.vals):
		case a.sketches[g] != nil:
			v, err := a.sketches[g].sk.GetValueAtQuantile(a.q)
			if err != nil {
				return nil, fmt.Errorf("%s: group %d: %w", a.name(), g, err)
			}
			vals[i], valid[i] = v, true
		case len(a.vals[g]) > 0:
			vals[i], valid[i] = a.exact(a.vals[g]), true
		}
	}
	return fixedColumn(a.cfg.mem, arrow.PrimitiveTypes.Float64, vals, valid), nil
}

// exact answers for the values vs as a sketch holding them would: it finds the value at the
// sketch's rank, q*(n-1), among the negative values, the values too close to 0 to index
// (which a sketch counts as 0) or the positive values, and returns the value of its bin.
func (a *approxQuantile) exact(vs []float64) float64 {
	s := append(a.sorted[:0], vs...)
	slices.Sort(s)
	a.sorted = s
	tiny := a.mapping.MinIndexableValue()
	neg, _ := slices.BinarySearchFunc(s, -tiny, func(v, t float64) int {
		if v < t {
			return -1
		}
		return 1
	})
	zeros, _ := slices.BinarySearchFunc(s[neg:], tiny, func(v, t float64) int {
		if v <= t {
			return -1
		}
		return 1
	})
	pos := len(s) - neg - zeros
	count := float64(len(s))
	rank := float64(a.q * (count - 1)) // as the sketch computes it, without a fused multiply-add
	nNeg, nZero := float64(neg), float64(zeros)
	at := func(r float64, n int) int { // the position a store's KeyAtRank(r) lands on among n
		if r < 0 {
			r = 0
		}
		return min(int(r), n-1)
	}
	switch {
	case rank < nNeg:
		j := at(nNeg-1-rank, neg) // by absolute value, ascending
		return -a.mapping.Value(a.mapping.Index(-s[neg-1-j]))
	case rank < nZero+nNeg:
		return 0
	}
	j := at(rank-nZero-nNeg, pos)
	return a.mapping.Value(a.mapping.Index(s[neg+zeros+j]))
}

// Reset empties groups. Sketches are dropped, so a reused group starts exact again; short
// value lists keep their memory for the group's next use.
func (a *approxQuantile) Reset(groups []uint32) {
	for _, g := range groups {
		if int(g) >= len(a.vals) {
			continue
		}
		if s := a.sketches[g]; s != nil {
			a.bytes -= ddBytes(s.added)
			a.sketches[g] = nil
		}
		vs := a.vals[g]
		if cap(vs) > keptOnReset {
			a.bytes -= sliceBytes(cap(vs))
			vs = nil
		}
		a.vals[g] = vs[:0]
	}
}

func (a *approxQuantile) StateType() arrow.DataType  { return arrow.BinaryTypes.Binary }
func (a *approxQuantile) ResultType() arrow.DataType { return arrow.PrimitiveTypes.Float64 }

// SizeBytes counts the per-group slots, the value lists' memory and an estimate of each
// sketch's; it is kept as states change, so it costs nothing to ask.
func (a *approxQuantile) SizeBytes() int64 {
	slots := int64(cap(a.vals))*24 + int64(cap(a.sketches))*8
	scratch := a.sel.sizeBytes() + int64(cap(a.counts)+cap(a.order))*4
	return slots + scratch + a.bytes + int64(cap(a.buf)) + int64(cap(a.words)+cap(a.sorted)+cap(a.floats))*8
}
