package agg

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/axiomhq/hyperloglog"
)

// hllRegisters is the number of registers of the precision-14 sketches: a sketch holding at
// most this many distinct keys is certainly still sparse.
const hllRegisters = 1 << 14

// distinct is approx_count_distinct(x): a HyperLogLog sketch per group over the raw bytes of
// the values. Sketches start sparse, so a group with a handful of values costs a few hundred
// bytes, and turn dense (16 KiB) past a few thousand distinct values.
type distinct struct {
	cfg      config
	in       arrow.DataType
	label    string
	width    int // bytes per value for fixed-width types; 0 for strings
	sketches []*hyperloglog.Sketch
	// added counts the keys each group's sketch was given, an upper bound on the distinct
	// keys it holds; 0 marks an empty group.
	added []int64
	sel   selector
	codes []int32
	buf   []byte

	// Scratch for ordering inputs by group.
	counts, order []int32
}

func newDistinct(in arrow.DataType, cfg config) (Accumulator, error) {
	d := &distinct{cfg: cfg, in: in, label: fmt.Sprintf("approx_count_distinct(%s)", typeName(in))}
	switch in.ID() {
	case arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64, arrow.UINT8, arrow.UINT16, arrow.UINT32,
		arrow.UINT64, arrow.FLOAT32, arrow.FLOAT64, arrow.DECIMAL128, arrow.TIMESTAMP, arrow.DATE32:
		d.width = in.(arrow.FixedWidthDataType).BitWidth() / 8
		return d, nil
	}
	if isUTF8(in) {
		return d, nil
	}
	return nil, undefined("approx_count_distinct", in, "it takes numbers, decimals, timestamps, dates and strings")
}

func (d *distinct) name() string { return d.label }

func (d *distinct) grow(n int) {
	d.sketches = growTo(d.sketches, n)
	d.added = growTo(d.added, n)
}

// sketch returns the sketch of group g, creating it on first use.
func (d *distinct) sketch(g uint32) *hyperloglog.Sketch {
	sk := d.sketches[g]
	if sk == nil {
		sk = hyperloglog.New14()
		d.sketches[g] = sk
	}
	return sk
}

func (d *distinct) Update(groups []uint32, args []arrow.Array, rows []int32) error {
	if err := wantArgs(d.name(), args, 1); err != nil {
		return err
	}
	arg := args[0]
	if !arrow.TypeEqual(arg.DataType(), d.in) {
		return wrongType(d.name(), arg.DataType(), d.in)
	}
	b, err := d.sel.prepare(d.name(), groups, rows, arg)
	if err != nil {
		return err
	}
	d.grow(b.need)
	d.counts, d.order = byGroup(b, d.counts, d.order)
	if d.width == 0 {
		s, codes, err := stringsOf(d.name(), arg, d.codes)
		d.codes = codes
		if err != nil {
			return err
		}
		var sk *hyperloglog.Sketch
		last := ^uint32(0)
		for _, i := range d.order {
			g := b.groups[i]
			if g != last {
				sk, last = d.sketch(g), g
			}
			r := i
			if b.rows != nil {
				r = b.rows[i]
			}
			sk.Insert(s.value(r))
			d.added[g]++
		}
		return nil
	}
	w := d.width
	var raw []byte
	if arg.Len() > 0 {
		off := arg.Data().Offset()
		raw = arg.Data().Buffers()[1].Bytes()[off*w : (off+arg.Len())*w]
	}
	var sk *hyperloglog.Sketch
	last := ^uint32(0)
	for _, i := range d.order {
		g := b.groups[i]
		if g != last {
			sk, last = d.sketch(g), g
		}
		r := int(i)
		if b.rows != nil {
			r = int(b.rows[i])
		}
		sk.Insert(raw[r*w : r*w+w])
		d.added[g]++
	}
	return nil
}

func (d *distinct) Partial(groups []uint32) (arrow.Array, error) {
	b := array.NewBinaryBuilder(d.cfg.mem, arrow.BinaryTypes.Binary)
	defer b.Release()
	b.Reserve(len(groups))
	for _, g := range groups {
		if int(g) >= len(d.added) || d.added[g] == 0 {
			b.AppendNull()
			continue
		}
		var err error
		d.buf, err = d.sketches[g].AppendBinary(d.buf[:0])
		if err != nil {
			return nil, fmt.Errorf("%s: encode the sketch of group %d: %w", d.name(), g, err)
		}
		b.Append(d.buf)
	}
	return b.NewArray(), nil
}

func (d *distinct) MergePartial(groups []uint32, partial arrow.Array) error {
	if err := checkPartial(d.name(), partial, arrow.BinaryTypes.Binary, len(groups)); err != nil {
		return err
	}
	d.grow(maxGroup(groups) + 1)
	bin := partial.(*array.Binary)
	for i, g := range groups {
		if bin.IsNull(i) {
			continue
		}
		enc := bin.Value(i)
		other := new(hyperloglog.Sketch)
		if err := other.UnmarshalBinary(enc); err != nil {
			return fmt.Errorf("%s: decode the partial sketch of group %d: %w", d.name(), g, err)
		}
		if d.sketches[g] == nil {
			d.sketches[g] = other
		} else if err := d.sketches[g].Merge(other); err != nil {
			return fmt.Errorf("%s: merge into group %d: %w", d.name(), g, err)
		}
		// A sketch holds at most one key per encoded byte.
		d.added[g] += int64(len(enc))
	}
	return nil
}

func (d *distinct) Final(groups []uint32) (arrow.Array, error) {
	counts := make([]int64, len(groups))
	for i, g := range groups {
		if int(g) < len(d.added) && d.added[g] > 0 {
			counts[i] = int64(d.sketches[g].Estimate())
		}
	}
	return fixedColumn(d.cfg.mem, arrow.PrimitiveTypes.Int64, counts, nil), nil
}

// Reset empties groups. A sketch that is certainly still sparse is cleared and kept for the
// group's next use; a dense one is dropped, because a reused dense sketch would estimate small
// counts differently from a fresh sparse one.
func (d *distinct) Reset(groups []uint32) {
	for _, g := range groups {
		if int(g) >= len(d.added) || d.added[g] == 0 {
			continue
		}
		if d.added[g] <= hllRegisters {
			d.sketches[g].Reset()
		} else {
			d.sketches[g] = nil
		}
		d.added[g] = 0
	}
}

func (d *distinct) StateType() arrow.DataType  { return arrow.BinaryTypes.Binary }
func (d *distinct) ResultType() arrow.DataType { return arrow.PrimitiveTypes.Int64 }

// SizeBytes estimates a sparse sketch at 8 bytes per key added and a dense one at its 16 KiB of
// registers. It costs a pass over the groups.
func (d *distinct) SizeBytes() int64 {
	const sketchOverhead = 160
	n := int64(cap(d.sketches))*8 + int64(cap(d.added))*8 + int64(cap(d.buf))
	for i, sk := range d.sketches {
		if sk != nil {
			n += sketchOverhead + min(8*d.added[i], hllRegisters)
		}
	}
	return n
}
