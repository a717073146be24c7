package agg

import (
	"fmt"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/axiomhq/hyperloglog"
	metro "github.com/dgryski/go-metro"
)

// hllSeed is the seed of the MetroHash64 that the HyperLogLog sketches hash values with
// (hyperloglog's Insert): exact hash lists use it too, so a list turned into a sketch, or
// merged into one restored from a checkpoint, counts each value once.
const hllSeed = 1337

// Heap estimates of a HyperLogLog sketch, from benchmarks: a sparse sketch costs
// hllSparseBase and about hllPerKey bytes a key until its dense registers (hllDenseBytes)
// are cheaper.
const (
	hllSparseBase = 200
	hllPerKey     = 4
	hllDenseBytes = 16<<10 + 200
)

// distinct is approx_count_distinct(x). A group keeps the distinct 64-bit hashes of its
// values exactly, and counts them exactly, until it holds more than compactLimit; then it
// turns to a HyperLogLog sketch of precision 14 (sparse at first, 16 KiB of registers past
// a few thousand keys) fed the same hashes.
type distinct struct {
	cfg    config
	in     arrow.DataType
	label  string
	width  int        // bytes per value for fixed-width types; 0 for strings
	hashes [][]uint64 // per group: its distinct hashes, until it has a sketch
	// sketches holds per group its sketch, once past compactLimit, and the keys (or encoded
	// bytes) it was given, an upper bound on the keys it holds, for its size.
	sketches []*sketched[*hyperloglog.Sketch]
	// bytes is the heap the hash lists and sketches hold, kept up to date as they change.
	bytes int64
	sel   selector
	codes []int32
	buf   []byte

	// Scratch for ordering inputs by group.
	counts, order []int32
}

func newDistinct(in arrow.DataType, cfg config) (Accumulator, error) {
	width, err := distinctWidth("approx_count_distinct", in)
	if err != nil {
		return nil, err
	}
	return &distinct{cfg: cfg, in: in, width: width, label: fmt.Sprintf("approx_count_distinct(%s)", typeName(in))}, nil
}

// distinctWidth gives the bytes of a value of type in that the distinct counts take: its
// width for numbers, decimals, timestamps and dates, 0 for strings. Other types are refused,
// fn naming the aggregate.
func distinctWidth(fn string, in arrow.DataType) (int, error) {
	switch in.ID() {
	case arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64, arrow.UINT8, arrow.UINT16, arrow.UINT32,
		arrow.UINT64, arrow.FLOAT32, arrow.FLOAT64, arrow.DECIMAL128, arrow.TIMESTAMP, arrow.DATE32:
		return in.(arrow.FixedWidthDataType).BitWidth() / 8, nil
	}
	if isUTF8(in) {
		return 0, nil
	}
	return 0, undefined(fn, in, "it takes numbers, decimals, timestamps, dates and strings")
}

func (d *distinct) name() string { return d.label }

func (d *distinct) grow(n int) {
	d.hashes = growTo(d.hashes, n)
	d.sketches = growTo(d.sketches, n)
}

// hllBytes estimates the heap of a sketch given added keys.
func hllBytes(added int64) int64 { return min(hllSparseBase+hllPerKey*added, hllDenseBytes) }

// insert adds hash h to group g.
func (d *distinct) insert(g uint32, h uint64) {
	if s := d.sketches[g]; s != nil {
		s.sk.InsertHash(h)
		d.addedTo(s, 1)
		return
	}
	hs := d.hashes[g]
	if slices.Contains(hs, h) {
		return
	}
	if len(hs) == compactLimit {
		d.promote(g, hyperloglog.New14())
		d.sketches[g].sk.InsertHash(h)
		d.addedTo(d.sketches[g], 1)
		return
	}
	c := cap(hs)
	d.hashes[g] = append(hs, h)
	d.bytes += sliceBytes(cap(d.hashes[g])) - sliceBytes(c)
}

// addedTo counts n more keys given to the sketch s.
func (d *distinct) addedTo(s *sketched[*hyperloglog.Sketch], n int64) {
	d.bytes += hllBytes(s.added+n) - hllBytes(s.added)
	s.added += n
}

// promote makes sk, holding what it holds, the sketch of g, and moves g's hashes into it.
func (d *distinct) promote(g uint32, sk *hyperloglog.Sketch) {
	hs := d.hashes[g]
	for _, h := range hs {
		sk.InsertHash(h)
	}
	d.bytes -= sliceBytes(cap(hs))
	d.hashes[g] = nil
	d.sketches[g] = &sketched[*hyperloglog.Sketch]{sk: sk}
	d.addedTo(d.sketches[g], int64(len(hs)))
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
		for _, i := range d.order {
			r := i
			if b.rows != nil {
				r = b.rows[i]
			}
			d.insert(b.groups[i], metro.Hash64(s.value(r), hllSeed))
		}
		return nil
	}
	w := d.width
	var raw []byte
	if arg.Len() > 0 {
		off := arg.Data().Offset()
		raw = arg.Data().Buffers()[1].Bytes()[off*w : (off+arg.Len())*w]
	}
	for _, i := range d.order {
		r := int(i)
		if b.rows != nil {
			r = int(b.rows[i])
		}
		d.insert(b.groups[i], metro.Hash64(raw[r*w:r*w+w], hllSeed))
	}
	return nil
}

// Partial encodes a group with a sketch as the sketch's AppendBinary, and a group still
// exact as its hashes in compact form.
func (d *distinct) Partial(groups []uint32) (arrow.Array, error) {
	b := array.NewBinaryBuilder(d.cfg.mem, arrow.BinaryTypes.Binary)
	defer b.Release()
	b.Reserve(len(groups))
	for _, g := range groups {
		switch {
		case int(g) >= len(d.hashes):
			b.AppendNull()
		case d.sketches[g] != nil:
			var err error
			d.buf, err = d.sketches[g].sk.AppendBinary(d.buf[:0])
			if err != nil {
				return nil, fmt.Errorf("%s: encode the sketch of group %d: %w", d.name(), g, err)
			}
			b.Append(d.buf)
		case len(d.hashes[g]) > 0:
			d.buf = appendCompact(d.buf[:0], compactHashes, d.hashes[g])
			b.Append(d.buf)
		default:
			b.AppendNull()
		}
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
		if isCompact(enc, compactHashes) {
			err := compactWords(enc, func(h uint64) error { d.insert(g, h); return nil })
			if err != nil {
				return fmt.Errorf("%s: decode the partial state of group %d: %w", d.name(), g, err)
			}
			continue
		}
		other := new(hyperloglog.Sketch)
		if err := other.UnmarshalBinary(enc); err != nil {
			return fmt.Errorf("%s: decode the partial sketch of group %d: %w", d.name(), g, err)
		}
		if d.sketches[g] == nil {
			d.promote(g, other)
		} else if err := d.sketches[g].sk.Merge(other); err != nil {
			return fmt.Errorf("%s: merge into group %d: %w", d.name(), g, err)
		}
		// A sketch holds at most one key per encoded byte.
		d.addedTo(d.sketches[g], int64(len(enc)))
	}
	return nil
}

func (d *distinct) Final(groups []uint32) (arrow.Array, error) {
	counts := make([]int64, len(groups))
	for i, g := range groups {
		switch {
		case int(g) >= len(d.hashes):
		case d.sketches[g] != nil:
			counts[i] = int64(d.sketches[g].sk.Estimate())
		default:
			counts[i] = int64(len(d.hashes[g]))
		}
	}
	return fixedColumn(d.cfg.mem, arrow.PrimitiveTypes.Int64, counts, nil), nil
}

// Reset empties groups. Sketches are dropped, so a reused group starts exact again; short
// hash lists keep their memory for the group's next use.
func (d *distinct) Reset(groups []uint32) {
	for _, g := range groups {
		if int(g) >= len(d.hashes) {
			continue
		}
		if s := d.sketches[g]; s != nil {
			d.bytes -= hllBytes(s.added)
			d.sketches[g] = nil
		}
		hs := d.hashes[g]
		if cap(hs) > keptOnReset {
			d.bytes -= sliceBytes(cap(hs))
			hs = nil
		}
		d.hashes[g] = hs[:0]
	}
}

func (d *distinct) StateType() arrow.DataType  { return arrow.BinaryTypes.Binary }
func (d *distinct) ResultType() arrow.DataType { return arrow.PrimitiveTypes.Int64 }

// SizeBytes counts the per-group slots, the hash lists' memory and an estimate of each
// sketch's; it is kept as states change, so it costs nothing to ask.
func (d *distinct) SizeBytes() int64 {
	slots := int64(cap(d.hashes))*24 + int64(cap(d.sketches))*8
	scratch := d.sel.sizeBytes() + int64(cap(d.counts)+cap(d.order))*4
	return slots + scratch + d.bytes + int64(cap(d.buf))
}
