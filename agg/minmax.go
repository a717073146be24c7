package agg

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
)

// ordered are the fixed-width types min and max compare with Go's operators: integers,
// timestamps and dates (as int64 and int32), and floats.
type ordered interface {
	int8 | int16 | int32 | int64 | uint8 | uint16 | uint32 | uint64 | float32 | float64
}

// less orders values with NaN above every number, so max is NaN when a NaN was seen and min
// is NaN only when nothing else was. For integers the NaN tests fold away.
func less[T ordered](a, b T) bool { return a < b || (b != b && a == a) }

// extreme is the state min and max share: the best value per group and whether there is one.
type extreme[T any] struct {
	cfg   config
	label string // "min(timestamp)", for errors
	isMax bool
	in    arrow.DataType
	vals  []T
	has   []bool
	sel   selector

	gotVals []T // scratch for Partial and Final
	gotHas  []bool
}

func newExtreme[T any](fn string, isMax bool, in arrow.DataType, cfg config) extreme[T] {
	return extreme[T]{cfg: cfg, label: fmt.Sprintf("%s(%s)", fn, typeName(in)), isMax: isMax, in: in}
}

func (e *extreme[T]) name() string { return e.label }

func (e *extreme[T]) grow(n int) {
	e.vals = growTo(e.vals, n)
	e.has = growTo(e.has, n)
}

func (e *extreme[T]) prepare(groups []uint32, args []arrow.Array, rows []int32) (batch, arrow.Array, error) {
	if err := wantArgs(e.name(), args, 1); err != nil {
		return batch{}, nil, err
	}
	if !arrow.TypeEqual(args[0].DataType(), e.in) {
		return batch{}, nil, wrongType(e.name(), args[0].DataType(), e.in)
	}
	b, err := e.sel.prepare(e.name(), groups, rows, args[0])
	if err != nil {
		return batch{}, nil, err
	}
	e.grow(b.need)
	return b, args[0], nil
}

func (e *extreme[T]) gatherStates(groups []uint32) {
	e.gotVals = gather(e.gotVals[:0], e.vals, groups)
	e.gotHas = gather(e.gotHas[:0], e.has, groups)
}

func (e *extreme[T]) Reset(groups []uint32) {
	var zero T
	for _, g := range groups {
		if int(g) < len(e.vals) {
			e.vals[g], e.has[g] = zero, false
		}
	}
}

func (e *extreme[T]) StateType() arrow.DataType  { return e.in }
func (e *extreme[T]) ResultType() arrow.DataType { return e.in }

// numExtreme is min or max of numbers, timestamps and dates.
type numExtreme[T ordered] struct{ extreme[T] }

func (e *numExtreme[T]) Update(groups []uint32, args []arrow.Array, rows []int32) error {
	b, arg, err := e.prepare(groups, args, rows)
	if err != nil {
		return err
	}
	foldOrdered(e.vals, e.has, b, values[T](arg), e.isMax)
	return nil
}

// foldOrdered folds each input value into its group: in[b.rows[i]] (in[i] when rows is nil)
// into b.groups[i].
func foldOrdered[T ordered](vals []T, has []bool, b batch, in []T, isMax bool) {
	if b.rows == nil {
		in = in[:len(b.groups)]
		for i, g := range b.groups {
			foldOne(vals, has, g, in[i], isMax)
		}
		return
	}
	rows := b.rows[:len(b.groups)]
	for i, g := range b.groups {
		foldOne(vals, has, g, in[rows[i]], isMax)
	}
}

func foldOne[T ordered](vals []T, has []bool, g uint32, v T, isMax bool) {
	if cur := vals[g]; !has[g] || (isMax && less(cur, v)) || (!isMax && less(v, cur)) {
		vals[g], has[g] = v, true
	}
}

func (e *numExtreme[T]) MergePartial(groups []uint32, partial arrow.Array) error {
	if err := checkPartial(e.name(), partial, e.in, len(groups)); err != nil {
		return err
	}
	e.grow(maxGroup(groups) + 1)
	b, err := e.sel.prepare(e.name(), groups, nil, partial)
	if err != nil {
		return err
	}
	foldOrdered(e.vals, e.has, b, values[T](partial), e.isMax)
	return nil
}

func (e *numExtreme[T]) Partial(groups []uint32) (arrow.Array, error) { return e.Final(groups) }

func (e *numExtreme[T]) Final(groups []uint32) (arrow.Array, error) {
	e.gatherStates(groups)
	return fixedColumn(e.cfg.mem, e.in, e.gotVals, e.gotHas), nil
}

func (e *numExtreme[T]) SizeBytes() int64 {
	width := int64(e.in.(arrow.FixedWidthDataType).BitWidth() / 8)
	return int64(cap(e.vals))*width + int64(cap(e.has))
}

// decimalExtreme is min or max of decimals.
type decimalExtreme struct{ extreme[decimal128.Num] }

func (e *decimalExtreme) Update(groups []uint32, args []arrow.Array, rows []int32) error {
	b, arg, err := e.prepare(groups, args, rows)
	if err != nil {
		return err
	}
	foldDecimals(e.vals, e.has, b, values[decimal128.Num](arg), e.isMax)
	return nil
}

// foldDecimals is foldOrdered for decimals.
func foldDecimals(vals []decimal128.Num, has []bool, b batch, in []decimal128.Num, isMax bool) {
	if b.rows == nil {
		in = in[:len(b.groups)]
		for i, g := range b.groups {
			foldDecimal(vals, has, g, in[i], isMax)
		}
		return
	}
	rows := b.rows[:len(b.groups)]
	for i, g := range b.groups {
		foldDecimal(vals, has, g, in[rows[i]], isMax)
	}
}

func foldDecimal(vals []decimal128.Num, has []bool, g uint32, v decimal128.Num, isMax bool) {
	if cur := vals[g]; !has[g] || (isMax && cur.Less(v)) || (!isMax && v.Less(cur)) {
		vals[g], has[g] = v, true
	}
}

func (e *decimalExtreme) MergePartial(groups []uint32, partial arrow.Array) error {
	if err := checkPartial(e.name(), partial, e.in, len(groups)); err != nil {
		return err
	}
	e.grow(maxGroup(groups) + 1)
	b, err := e.sel.prepare(e.name(), groups, nil, partial)
	if err != nil {
		return err
	}
	foldDecimals(e.vals, e.has, b, values[decimal128.Num](partial), e.isMax)
	return nil
}

func (e *decimalExtreme) Partial(groups []uint32) (arrow.Array, error) { return e.Final(groups) }

func (e *decimalExtreme) Final(groups []uint32) (arrow.Array, error) {
	e.gatherStates(groups)
	return fixedColumn(e.cfg.mem, e.in, e.gotVals, e.gotHas), nil
}

func (e *decimalExtreme) SizeBytes() int64 { return int64(cap(e.vals))*16 + int64(cap(e.has)) }

// newMinMax returns min (isMax false) or max of type in.
func newMinMax(in arrow.DataType, isMax bool, cfg config) (Accumulator, error) {
	fn := "min"
	if isMax {
		fn = "max"
	}
	switch in.ID() {
	case arrow.INT8:
		return &numExtreme[int8]{newExtreme[int8](fn, isMax, in, cfg)}, nil
	case arrow.INT16:
		return &numExtreme[int16]{newExtreme[int16](fn, isMax, in, cfg)}, nil
	case arrow.INT32, arrow.DATE32:
		return &numExtreme[int32]{newExtreme[int32](fn, isMax, in, cfg)}, nil
	case arrow.INT64, arrow.TIMESTAMP:
		return &numExtreme[int64]{newExtreme[int64](fn, isMax, in, cfg)}, nil
	case arrow.UINT8:
		return &numExtreme[uint8]{newExtreme[uint8](fn, isMax, in, cfg)}, nil
	case arrow.UINT16:
		return &numExtreme[uint16]{newExtreme[uint16](fn, isMax, in, cfg)}, nil
	case arrow.UINT32:
		return &numExtreme[uint32]{newExtreme[uint32](fn, isMax, in, cfg)}, nil
	case arrow.UINT64:
		return &numExtreme[uint64]{newExtreme[uint64](fn, isMax, in, cfg)}, nil
	case arrow.FLOAT32:
		return &numExtreme[float32]{newExtreme[float32](fn, isMax, in, cfg)}, nil
	case arrow.FLOAT64:
		return &numExtreme[float64]{newExtreme[float64](fn, isMax, in, cfg)}, nil
	case arrow.DECIMAL128:
		return &decimalExtreme{newExtreme[decimal128.Num](fn, isMax, in, cfg)}, nil
	}
	if isUTF8(in) {
		return newStringExtreme(in, fn, isMax, cfg), nil
	}
	return nil, undefined(fn, in, "it takes numbers, decimals, timestamps, dates and strings")
}

// isUTF8 reports whether t is utf8, plain or dictionary-encoded.
func isUTF8(t arrow.DataType) bool {
	if d, ok := t.(*arrow.DictionaryType); ok {
		t = d.ValueType
	}
	return t.ID() == arrow.STRING
}
