package agg

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// Heap estimates of an exact distinct set of strings, from Go's map layout: a map costs
// about setBase bytes and each value setPerString bytes plus its length.
const (
	setBase      = 200
	setPerString = 52
)

// countDistinct is count_distinct(x), which count(DISTINCT x) also means: the exact number
// of distinct non-null values per group. Values are told apart by their bytes, as
// approx_count_distinct hashes them: the little-endian bytes of a number, timestamp, date or
// decimal128, the utf8 bytes of a string. Values of up to 8 bytes are kept as 64-bit words,
// wider ones (decimal128) and strings as strings, in one set per group: a wordSet for words,
// a map for strings.
type countDistinct struct {
	cfg   config
	in    arrow.DataType
	label string
	width int       // bytes per value for fixed-width types; 0 for strings
	words []wordSet // per group, values of up to 8 bytes
	// scratch is the room the word sets sort in, as long as the longest tail sorted yet.
	scratch []uint64
	// batch holds the words of one call, in order of group, before they go to their sets;
	// counts and order are byGroup's scratch.
	batch         []uint64
	counts, order []int32
	strs          []map[string]struct{} // per group, wider values and strings
	bytes         int64                 // the heap the sets hold, kept as they change
	sel           selector
	codes         []int32
}

func newCountDistinct(in arrow.DataType, cfg config) (Accumulator, error) {
	width, err := distinctWidth("count_distinct", in)
	if err != nil {
		return nil, err
	}
	return &countDistinct{cfg: cfg, in: in, width: width, label: fmt.Sprintf("count_distinct(%s)", typeName(in))}, nil
}

// wordWise reports whether values are kept as 64-bit words.
func (d *countDistinct) wordWise() bool { return d.width > 0 && d.width <= 8 }

func (d *countDistinct) grow(n int) {
	if d.wordWise() {
		d.words = growTo(d.words, n)
	} else {
		d.strs = growTo(d.strs, n)
	}
}

// settled returns the values of group g as words, ascending.
func (d *countDistinct) settled(g uint32) []uint64 {
	d.bytes += d.words[g].settle(&d.scratch)
	return d.words[g].sorted
}

// addBytes adds the value v to group g, copying it when it is new.
func (d *countDistinct) addBytes(g uint32, v []byte) {
	set := d.strs[g]
	if set == nil {
		set = map[string]struct{}{}
		d.strs[g] = set
		d.bytes += setBase
	}
	if _, ok := set[string(v)]; !ok { // the lookup does not allocate
		set[string(v)] = struct{}{}
		d.bytes += setPerString + int64(len(v))
	}
}

// wordAt reads value r of raw, little-endian values of w bytes each, as a word.
func wordAt(raw []byte, w, r int) uint64 {
	if w == 8 {
		return binary.LittleEndian.Uint64(raw[r*8:])
	}
	var buf [8]byte
	copy(buf[:], raw[r*w:r*w+w])
	return binary.LittleEndian.Uint64(buf[:])
}

func (d *countDistinct) Update(groups []uint32, args []arrow.Array, rows []int32) error {
	if err := wantArgs(d.label, args, 1); err != nil {
		return err
	}
	arg := args[0]
	if !arrow.TypeEqual(arg.DataType(), d.in) {
		return wrongType(d.label, arg.DataType(), d.in)
	}
	b, err := d.sel.prepare(d.label, groups, rows, arg)
	if err != nil {
		return err
	}
	d.grow(b.need)
	if d.width == 0 {
		s, codes, err := stringsOf(d.label, arg, d.codes)
		d.codes = codes
		if err != nil {
			return err
		}
		for i, g := range b.groups {
			d.addBytes(g, s.value(int32(rowOf(b, i))))
		}
		return nil
	}
	w := d.width
	var raw []byte
	if arg.Len() > 0 {
		off := arg.Data().Offset()
		raw = arg.Data().Buffers()[1].Bytes()[off*w : (off+arg.Len())*w]
	}
	if d.wordWise() {
		d.addByGroup(b, raw)
		return nil
	}
	for i, g := range b.groups {
		r := rowOf(b, i)
		d.addBytes(g, raw[r*w:r*w+w])
	}
	return nil
}

// Partial encodes a group's values sorted (words as numbers, strings bytewise), so that a
// state is the same bytes however its values arrived: fixed-width values as their width in
// bytes each, little-endian, strings each as a uvarint length and the bytes. An empty group
// is null.
func (d *countDistinct) Partial(groups []uint32) (arrow.Array, error) {
	b := array.NewBinaryBuilder(d.cfg.mem, arrow.BinaryTypes.Binary)
	defer b.Release()
	var buf []byte
	var ss []string
	for _, g := range groups {
		buf = buf[:0]
		switch {
		case d.wordWise() && int(g) < len(d.words) && len(d.settled(g)) > 0:
			for _, w := range d.words[g].sorted {
				buf = binary.LittleEndian.AppendUint64(buf, w)[:len(buf)+d.width]
			}
		case !d.wordWise() && int(g) < len(d.strs) && len(d.strs[g]) > 0:
			ss = ss[:0]
			for s := range d.strs[g] {
				ss = append(ss, s)
			}
			slices.Sort(ss)
			for _, s := range ss {
				if d.width == 0 {
					buf = binary.AppendUvarint(buf, uint64(len(s)))
				}
				buf = append(buf, s...)
			}
		default:
			b.AppendNull()
			continue
		}
		b.Append(buf)
	}
	return b.NewArray(), nil
}

func (d *countDistinct) MergePartial(groups []uint32, partial arrow.Array) error {
	if err := checkPartial(d.label, partial, arrow.BinaryTypes.Binary, len(groups)); err != nil {
		return err
	}
	d.grow(maxGroup(groups) + 1)
	bins := partial.(*array.Binary)
	for i, g := range groups {
		if bins.IsNull(i) {
			continue
		}
		if err := d.mergeValues(g, bins.Value(i)); err != nil {
			return fmt.Errorf("%s: state of group %d: %w", d.label, g, err)
		}
	}
	return nil
}

// addByGroup adds the words of b's rows of raw to their groups, a group's words together, so
// that each group's set is fetched once per batch, not once per row.
func (d *countDistinct) addByGroup(b batch, raw []byte) {
	d.counts, d.order = byGroup(b, d.counts, d.order)
	d.batch = d.batch[:0]
	for _, i := range d.order {
		d.batch = append(d.batch, wordAt(raw, d.width, rowOf(b, int(i))))
	}
	start := int32(0)
	for g, end := range d.counts {
		if end > start {
			d.bytes += d.words[g].add(d.batch[start:end], &d.scratch)
		}
		start = end
	}
}

// mergeValues adds the values of one encoded state to group g.
func (d *countDistinct) mergeValues(g uint32, enc []byte) error {
	if w := d.width; w > 0 {
		if len(enc)%w != 0 {
			return fmt.Errorf("%d bytes, not a multiple of the values' %d", len(enc), w)
		}
		if d.wordWise() {
			d.batch = d.batch[:0]
			for r := range len(enc) / w {
				d.batch = append(d.batch, wordAt(enc, w, r))
			}
			d.bytes += d.words[g].add(d.batch, &d.scratch)
			return nil
		}
		for i := 0; i < len(enc); i += w {
			d.addBytes(g, enc[i:i+w])
		}
		return nil
	}
	for r := bytes.NewReader(enc); r.Len() > 0; {
		n, err := binary.ReadUvarint(r)
		if err != nil || n > uint64(r.Len()) {
			return fmt.Errorf("a string's length at byte %d runs past the state's %d bytes", len(enc)-r.Len(), len(enc))
		}
		at := len(enc) - r.Len()
		d.addBytes(g, enc[at:at+int(n)])
		if _, err := r.Seek(int64(n), 1); err != nil {
			return err
		}
	}
	return nil
}

func (d *countDistinct) Final(groups []uint32) (arrow.Array, error) {
	counts := make([]int64, len(groups))
	for i, g := range groups {
		switch {
		case d.wordWise() && int(g) < len(d.words):
			counts[i] = int64(len(d.settled(g)))
		case !d.wordWise() && int(g) < len(d.strs):
			counts[i] = int64(len(d.strs[g]))
		}
	}
	return fixedColumn(d.cfg.mem, arrow.PrimitiveTypes.Int64, counts, nil), nil
}

// keptSet is the most values a set may hold (or a word set have room for) for Reset to empty
// it and keep it for the group's next use, as the partial phase resets its groups after every
// batch; larger sets are dropped, so their memory goes back to the heap.
const keptSet = 64

// Reset empties the sets of groups, keeping small ones for reuse.
func (d *countDistinct) Reset(groups []uint32) {
	for _, g := range groups {
		switch {
		case d.wordWise() && int(g) < len(d.words):
			set := &d.words[g]
			d.bytes -= set.bytes()
			set.reset(keptSet)
			d.bytes += set.bytes()
		case !d.wordWise() && int(g) < len(d.strs) && d.strs[g] != nil:
			set := d.strs[g]
			for s := range set {
				d.bytes -= setPerString + int64(len(s))
			}
			if len(set) > keptSet {
				d.bytes -= setBase
				d.strs[g] = nil
				continue
			}
			clear(set)
		}
	}
}

func (d *countDistinct) StateType() arrow.DataType  { return arrow.BinaryTypes.Binary }
func (d *countDistinct) ResultType() arrow.DataType { return arrow.PrimitiveTypes.Int64 }

// SizeBytes counts the per-group slots and an estimate of each set's memory; it is kept as
// sets change, so it costs nothing to ask.
func (d *countDistinct) SizeBytes() int64 {
	slots := int64(cap(d.words))*int64(unsafe.Sizeof(wordSet{})) + int64(cap(d.strs))*8
	scratch := d.sel.sizeBytes() + int64(cap(d.codes)+cap(d.counts)+cap(d.order))*4 + int64(cap(d.scratch)+cap(d.batch))*8
	return slots + d.bytes + scratch
}
