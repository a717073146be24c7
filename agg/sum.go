package agg

import (
	"fmt"
	"math/bits"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
)

// sumState is what the sum and avg accumulators share: a running sum of type T and a count of the
// non-null values added, per group, with the struct<sum, count> state column.
type sumState[T int64 | float64 | decimal128.Num] struct {
	cfg    config
	label  string // "sum(decimal(18,2))", for errors
	in     arrow.DataType
	sums   []T
	counts []int64
	fields []arrow.Field
	state  arrow.DataType // struct<sum, count>
	width  int64          // bytes per sum
	sel    selector

	// Scratch reused by Partial and Final.
	gotSums   []T
	gotCounts []int64
	valid     []bool
}

func newSums[T int64 | float64 | decimal128.Num](fn string, in, sumType arrow.DataType, cfg config) sumState[T] {
	label := fmt.Sprintf("%s(%s)", fn, typeName(in))
	fields := sumStateFields(sumType)
	return sumState[T]{
		cfg: cfg, label: label, in: in, fields: fields, state: arrow.StructOf(fields...),
		width: int64(sumType.(arrow.FixedWidthDataType).BitWidth() / 8),
	}
}

func (s *sumState[T]) name() string { return s.label }

func (s *sumState[T]) grow(n int) {
	s.sums = growTo(s.sums, n)
	s.counts = growTo(s.counts, n)
}

// prepare validates an Update call and grows the states for it.
func (s *sumState[T]) prepare(groups []uint32, args []arrow.Array, rows []int32) (batch, arrow.Array, error) {
	if err := wantArgs(s.name(), args, 1); err != nil {
		return batch{}, nil, err
	}
	if !arrow.TypeEqual(args[0].DataType(), s.in) {
		return batch{}, nil, wrongType(s.name(), args[0].DataType(), s.in)
	}
	b, err := s.sel.prepare(s.name(), groups, rows, args[0])
	if err != nil {
		return batch{}, nil, err
	}
	s.grow(b.need)
	return b, args[0], nil
}

// gatherStates fills the scratch sums and counts with the states of groups.
func (s *sumState[T]) gatherStates(groups []uint32) {
	s.gotSums = gather(s.gotSums[:0], s.sums, groups)
	s.gotCounts = gather(s.gotCounts[:0], s.counts, groups)
	s.valid = s.valid[:0]
	for _, c := range s.gotCounts {
		s.valid = append(s.valid, c > 0)
	}
}

func (s *sumState[T]) Partial(groups []uint32) (arrow.Array, error) {
	s.gatherStates(groups)
	return newSumState(s.fields,
		fixedColumn(s.cfg.mem, s.fields[0].Type, s.gotSums, nil),
		fixedColumn(s.cfg.mem, arrow.PrimitiveTypes.Int64, s.gotCounts, nil))
}

// mergeInto checks a partial state, grows the states for groups and returns the partial's
// sums and counts.
func (s *sumState[T]) mergeInto(groups []uint32, partial arrow.Array) ([]T, []int64, error) {
	sumArr, counts, err := sumStateOf(s.name(), partial, s.StateType(), len(groups))
	if err != nil {
		return nil, nil, err
	}
	s.grow(maxGroup(groups) + 1)
	return values[T](sumArr), counts, nil
}

func (s *sumState[T]) Reset(groups []uint32) {
	var zero T
	for _, g := range groups {
		if int(g) < len(s.sums) {
			s.sums[g], s.counts[g] = zero, 0
		}
	}
}

func (s *sumState[T]) StateType() arrow.DataType { return s.state }

func (s *sumState[T]) SizeBytes() int64 { return int64(cap(s.sums))*s.width + int64(cap(s.counts))*8 }

// intSum is sum and avg of integers: an int64 sum that fails on overflow, changing no state.
type intSum struct {
	sumState[int64]
	avg bool
}

func (s *intSum) Update(groups []uint32, args []arrow.Array, rows []int32) error {
	b, arg, err := s.prepare(groups, args, rows)
	if err != nil {
		return err
	}
	if at := s.apply(b, arg, false); at >= 0 {
		s.apply(prefix(b, at), arg, true)
		return &OverflowError{Row: rowOf(b, at), Reason: fmt.Sprintf("%s: group %d overflows int64", s.name(), b.groups[at])}
	}
	return nil
}

// Revert takes back an Update with the same arguments.
func (s *intSum) Revert(groups []uint32, args []arrow.Array, rows []int32) error {
	b, arg, err := s.prepare(groups, args, rows)
	if err != nil {
		return err
	}
	s.apply(b, arg, true)
	return nil
}

// apply adds the values of b to their groups, or takes them off when sub is set. Adding
// returns the index into b.groups of the first value that would overflow, having added the
// values before it, or -1.
func (s *intSum) apply(b batch, arg arrow.Array, sub bool) int {
	switch arg.DataType().ID() {
	case arrow.INT8:
		return addInts(s.sums, s.counts, b, values[int8](arg), sub)
	case arrow.INT16:
		return addInts(s.sums, s.counts, b, values[int16](arg), sub)
	case arrow.INT32:
		return addInts(s.sums, s.counts, b, values[int32](arg), sub)
	case arrow.INT64:
		return addInts(s.sums, s.counts, b, values[int64](arg), sub)
	case arrow.UINT8:
		return addInts(s.sums, s.counts, b, values[uint8](arg), sub)
	case arrow.UINT16:
		return addInts(s.sums, s.counts, b, values[uint16](arg), sub)
	case arrow.UINT32:
		return addInts(s.sums, s.counts, b, values[uint32](arg), sub)
	}
	return -1
}

// addInts adds the values of b to their groups' sums and counts. It returns the index into
// b.groups of the first value that would overflow int64, or -1. With sub it takes values
// added before off again instead, which cannot overflow.
func addInts[T int8 | int16 | int32 | int64 | uint8 | uint16 | uint32](sums, counts []int64, b batch, vals []T, sub bool) int {
	if sub {
		for i, g := range b.groups {
			if b.rows == nil {
				sums[g] -= int64(vals[i])
			} else {
				sums[g] -= int64(vals[b.rows[i]])
			}
			counts[g]--
		}
		return -1
	}
	if b.rows == nil {
		vals = vals[:len(b.groups)]
		for i, g := range b.groups {
			v, old := int64(vals[i]), sums[g]
			sum := old + v
			if (sum^old)&(sum^v) < 0 {
				return i
			}
			sums[g] = sum
			counts[g]++
		}
		return -1
	}
	rows := b.rows[:len(b.groups)]
	for i, g := range b.groups {
		v, old := int64(vals[rows[i]]), sums[g]
		sum := old + v
		if (sum^old)&(sum^v) < 0 {
			return i
		}
		sums[g] = sum
		counts[g]++
	}
	return -1
}

func (s *intSum) MergePartial(groups []uint32, partial arrow.Array) error {
	psums, pcounts, err := s.mergeInto(groups, partial)
	if err != nil {
		return err
	}
	for i, g := range groups {
		old, v := s.sums[g], psums[i]
		sum := old + v
		if (sum^old)&(sum^v) < 0 {
			subPartial(s.sums, s.counts, groups[:i], psums, pcounts)
			return &OverflowError{Row: i, Reason: fmt.Sprintf("%s: merging partial states, group %d overflows int64", s.name(), g)}
		}
		s.sums[g] = sum
		s.counts[g] += pcounts[i]
	}
	return nil
}

// RevertPartial takes back a MergePartial with the same arguments.
func (s *intSum) RevertPartial(groups []uint32, partial arrow.Array) error {
	psums, pcounts, err := s.mergeInto(groups, partial)
	if err != nil {
		return err
	}
	subPartial(s.sums, s.counts, groups, psums, pcounts)
	return nil
}

// subPartial takes partial sums and counts merged into groups off again.
func subPartial[T int64 | decimal128.Num](sums []T, counts []int64, groups []uint32, psums []T, pcounts []int64) {
	for i, g := range groups {
		sums[g] = minus(sums[g], psums[i])
		counts[g] -= pcounts[i]
	}
}

// minus is a - b, wrapping: it is used only to take back an addition that did not overflow.
func minus[T int64 | decimal128.Num](a, b T) T {
	switch x := any(a).(type) {
	case int64:
		return any(x - any(b).(int64)).(T)
	case decimal128.Num:
		y := any(b).(decimal128.Num)
		lo, borrow := bits.Sub64(x.LowBits(), y.LowBits(), 0)
		return any(decimal128.New(x.HighBits()-y.HighBits()-int64(borrow), lo)).(T)
	}
	return a
}

func (s *intSum) Final(groups []uint32) (arrow.Array, error) {
	s.gatherStates(groups)
	if !s.avg {
		return fixedColumn(s.cfg.mem, arrow.PrimitiveTypes.Int64, s.gotSums, s.valid), nil
	}
	avgs := make([]float64, len(groups))
	for i, c := range s.gotCounts {
		if c > 0 {
			avgs[i] = float64(s.gotSums[i]) / float64(c)
		}
	}
	return fixedColumn(s.cfg.mem, arrow.PrimitiveTypes.Float64, avgs, s.valid), nil
}

func (s *intSum) ResultType() arrow.DataType {
	if s.avg {
		return arrow.PrimitiveTypes.Float64
	}
	return arrow.PrimitiveTypes.Int64
}

// floatSum is sum and avg of floats, added in float64. The result depends on the order of
// additions in its last bits, so two-phase results may differ from one-phase ones there.
type floatSum struct {
	sumState[float64]
	avg bool
}

func (s *floatSum) Update(groups []uint32, args []arrow.Array, rows []int32) error {
	b, arg, err := s.prepare(groups, args, rows)
	if err != nil {
		return err
	}
	if arg.DataType().ID() == arrow.FLOAT32 {
		addFloats(s.sums, s.counts, b, values[float32](arg))
	} else {
		addFloats(s.sums, s.counts, b, values[float64](arg))
	}
	return nil
}

func addFloats[T float32 | float64](sums []float64, counts []int64, b batch, vals []T) {
	if b.rows == nil {
		vals = vals[:len(b.groups)]
		for i, g := range b.groups {
			sums[g] += float64(vals[i])
			counts[g]++
		}
		return
	}
	rows := b.rows[:len(b.groups)]
	for i, g := range b.groups {
		sums[g] += float64(vals[rows[i]])
		counts[g]++
	}
}

func (s *floatSum) MergePartial(groups []uint32, partial arrow.Array) error {
	psums, pcounts, err := s.mergeInto(groups, partial)
	if err != nil {
		return err
	}
	for i, g := range groups {
		s.sums[g] += psums[i]
		s.counts[g] += pcounts[i]
	}
	return nil
}

func (s *floatSum) Final(groups []uint32) (arrow.Array, error) {
	s.gatherStates(groups)
	if s.avg {
		for i, c := range s.gotCounts {
			if c > 0 {
				s.gotSums[i] /= float64(c)
			}
		}
	}
	return fixedColumn(s.cfg.mem, arrow.PrimitiveTypes.Float64, s.gotSums, s.valid), nil
}

func (s *floatSum) ResultType() arrow.DataType { return arrow.PrimitiveTypes.Float64 }

// decimalSum is sum and avg of decimal(P,S): an exact decimal(38,S) sum that fails when it
// needs more than 38 digits.
type decimalSum struct {
	sumState[decimal128.Num]
	avg    bool
	result *arrow.Decimal128Type
}

func (s *decimalSum) Update(groups []uint32, args []arrow.Array, rows []int32) error {
	b, arg, err := s.prepare(groups, args, rows)
	if err != nil {
		return err
	}
	vals := values[decimal128.Num](arg)
	if at := addDecimals(s.sums, s.counts, b, vals); at >= 0 {
		subDecimals(s.sums, s.counts, prefix(b, at), vals)
		return &OverflowError{Row: rowOf(b, at), Reason: fmt.Sprintf("%s: group %d overflows decimal(38,%d)", s.name(), b.groups[at], s.scale())}
	}
	return nil
}

// Revert takes back an Update with the same arguments.
func (s *decimalSum) Revert(groups []uint32, args []arrow.Array, rows []int32) error {
	b, arg, err := s.prepare(groups, args, rows)
	if err != nil {
		return err
	}
	subDecimals(s.sums, s.counts, b, values[decimal128.Num](arg))
	return nil
}

// subDecimals takes the values of b, added before, off their groups' sums and counts.
func subDecimals(sums []decimal128.Num, counts []int64, b batch, vals []decimal128.Num) {
	for i, g := range b.groups {
		v := vals[i]
		if b.rows != nil {
			v = vals[b.rows[i]]
		}
		sums[g] = minus(sums[g], v)
		counts[g]--
	}
}

func (s *decimalSum) scale() int32 { return s.fields[0].Type.(*arrow.Decimal128Type).Scale }

// addDecimals adds the values of b to their groups' sums and counts. It returns the index into
// b.groups of the first value whose sum would leave decimal(38,S), or -1.
func addDecimals(sums []decimal128.Num, counts []int64, b batch, vals []decimal128.Num) int {
	// addDecimal is spelled out in the loops: it is too big for the inliner and a call per row
	// costs a third of the time.
	if b.rows == nil {
		vals = vals[:len(b.groups)]
		for i, g := range b.groups {
			s, v := sums[g], vals[i]
			lo, carry := bits.Add64(s.LowBits(), v.LowBits(), 0)
			shi, vhi := s.HighBits(), v.HighBits()
			hi := shi + vhi + int64(carry)
			if (shi^hi)&(vhi^hi) < 0 || ((hi <= min38Hi || hi >= max38Hi) && !fits38(hi, lo)) {
				return i
			}
			sums[g] = decimal128.New(hi, lo)
			counts[g]++
		}
		return -1
	}
	rows := b.rows[:len(b.groups)]
	for i, g := range b.groups {
		s, v := sums[g], vals[rows[i]]
		lo, carry := bits.Add64(s.LowBits(), v.LowBits(), 0)
		shi, vhi := s.HighBits(), v.HighBits()
		hi := shi + vhi + int64(carry)
		if (shi^hi)&(vhi^hi) < 0 || ((hi <= min38Hi || hi >= max38Hi) && !fits38(hi, lo)) {
			return i
		}
		sums[g] = decimal128.New(hi, lo)
		counts[g]++
	}
	return -1
}

func (s *decimalSum) MergePartial(groups []uint32, partial arrow.Array) error {
	psums, pcounts, err := s.mergeInto(groups, partial)
	if err != nil {
		return err
	}
	for i, g := range groups {
		sum, ok := addDecimal(s.sums[g], psums[i])
		if !ok {
			subPartial(s.sums, s.counts, groups[:i], psums, pcounts)
			return &OverflowError{Row: i, Reason: fmt.Sprintf("%s: merging partial states, group %d overflows decimal(38,%d)", s.name(), g, s.scale())}
		}
		s.sums[g] = sum
		s.counts[g] += pcounts[i]
	}
	return nil
}

// RevertPartial takes back a MergePartial with the same arguments.
func (s *decimalSum) RevertPartial(groups []uint32, partial arrow.Array) error {
	psums, pcounts, err := s.mergeInto(groups, partial)
	if err != nil {
		return err
	}
	subPartial(s.sums, s.counts, groups, psums, pcounts)
	return nil
}

func (s *decimalSum) Final(groups []uint32) (arrow.Array, error) {
	s.gatherStates(groups)
	if s.avg {
		shift := s.result.Scale - s.scale()
		for i, c := range s.gotCounts {
			if c > 0 {
				s.gotSums[i] = avgDecimal(s.gotSums[i], c, shift)
			}
		}
	}
	return fixedColumn(s.cfg.mem, s.result, s.gotSums, s.valid), nil
}

func (s *decimalSum) ResultType() arrow.DataType { return s.result }

// newSum returns sum (avg false) or avg (avg true) of the numeric type in.
func newSum(in arrow.DataType, avg bool, cfg config) (Accumulator, error) {
	fn := "sum"
	if avg {
		fn = "avg"
	}
	switch in.ID() {
	case arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64, arrow.UINT8, arrow.UINT16, arrow.UINT32:
		return &intSum{sumState: newSums[int64](fn, in, arrow.PrimitiveTypes.Int64, cfg), avg: avg}, nil
	case arrow.FLOAT32, arrow.FLOAT64:
		return &floatSum{sumState: newSums[float64](fn, in, arrow.PrimitiveTypes.Float64, cfg), avg: avg}, nil
	case arrow.DECIMAL128:
		d := in.(*arrow.Decimal128Type)
		sumType := &arrow.Decimal128Type{Precision: 38, Scale: d.Scale}
		result := sumType
		if avg {
			result = avgDecimalType(d)
		}
		return &decimalSum{sumState: newSums[decimal128.Num](fn, in, sumType, cfg), avg: avg, result: result}, nil
	}
	return nil, undefined(fn, in, "it takes integers, floats, decimals and booleans")
}

// avgDecimalType is the result type of avg over decimal(P,S): up to four more digits after the
// point, as many as fit in 38, so decimal(18,2) averages to decimal(22,6).
func avgDecimalType(in *arrow.Decimal128Type) *arrow.Decimal128Type {
	extra := min(4, 38-in.Precision)
	return &arrow.Decimal128Type{Precision: in.Precision + extra, Scale: in.Scale + extra}
}

var (
	_ Accumulator = (*intSum)(nil)
	_ Accumulator = (*floatSum)(nil)
	_ Accumulator = (*decimalSum)(nil)
	_ Accumulator = (*counter)(nil)
)
