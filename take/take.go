// Package take selects rows of Arrow record batches: the take behind filters, keyed
// exchanges and joins, working on the value buffers directly, a run of consecutive rows at
// a time where it can.
package take

import (
	"fmt"
	"math/bits"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// Selection lists the rows to keep, in ascending order, both one by one (for bitmaps) and
// as maximal runs of consecutive rows (for values, copied a run at a time). It is computed
// once per batch and shared by every column.
type Selection struct {
	rows []int32
	runs [][2]int32 // [first, last+1) of each run of consecutive rows
}

// Len is the number of rows selected.
func (s *Selection) Len() int { return len(s.rows) }

// Select selects the given rows, which must ascend strictly.
func Select(rows []int32) (*Selection, error) {
	s := &Selection{rows: rows}
	for i, r := range rows {
		if i > 0 && r <= rows[i-1] {
			return nil, fmt.Errorf("take: selected rows must ascend: row %d after %d", r, rows[i-1])
		}
		if k := len(s.runs) - 1; k >= 0 && s.runs[k][1] == r {
			s.runs[k][1] = r + 1
		} else {
			s.runs = append(s.runs, [2]int32{r, r + 1})
		}
	}
	return s, nil
}

// Bits selects the rows whose bit is set in words (bit i of words[i/64]) among the first n
// rows; count is how many are set.
func Bits(words []uint64, n, count int) *Selection {
	s := &Selection{rows: make([]int32, 0, count)}
	for w, x := range words {
		base := int32(w * 64)
		if r := n - w*64; r < 64 {
			x &= 1<<uint(r) - 1
		}
		for x != 0 {
			start := int32(bits.TrailingZeros64(x))
			length := int32(bits.TrailingZeros64(^(x >> uint(start))))
			lo, hi := base+start, base+start+length
			if k := len(s.runs) - 1; k >= 0 && s.runs[k][1] == lo {
				s.runs[k][1] = hi
			} else {
				s.runs = append(s.runs, [2]int32{lo, hi})
			}
			if length == 64 {
				break
			}
			x &^= (1<<uint(length) - 1) << uint(start)
		}
	}
	for _, r := range s.runs {
		for i := r[0]; i < r[1]; i++ {
			s.rows = append(s.rows, i)
		}
	}
	return s
}

// Batch returns a new batch of the selected rows of rec; when every row is selected it
// returns rec itself, retained. The caller releases the result.
func Batch(rec arrow.RecordBatch, s *Selection) (arrow.RecordBatch, error) {
	if s.Len() == int(rec.NumRows()) {
		rec.Retain()
		return rec, nil
	}
	cols := make([]arrow.Array, rec.NumCols())
	release := func() {
		for _, c := range cols {
			if c != nil {
				c.Release()
			}
		}
	}
	for i := range cols {
		c, err := Array(rec.Column(i), s)
		if err != nil {
			release()
			return nil, fmt.Errorf("column %q: %w", rec.ColumnName(i), err)
		}
		cols[i] = c
	}
	out := array.NewRecordBatch(rec.Schema(), cols, int64(s.Len()))
	release()
	return out, nil
}

// Rows is Batch of the rows listed, which must ascend strictly.
func Rows(rec arrow.RecordBatch, rows []int32) (arrow.RecordBatch, error) {
	s, err := Select(rows)
	if err != nil {
		return nil, err
	}
	return Batch(rec, s)
}

// Array returns the selected rows of a as a new array.
func Array(a arrow.Array, s *Selection) (arrow.Array, error) {
	rows := s.Len()
	switch a := a.(type) {
	case *array.Null:
		return array.NewNull(rows), nil
	case *array.Dictionary:
		// Select the indices and keep the dictionary as it is.
		idx, err := Array(a.Indices(), s)
		if err != nil {
			return nil, err
		}
		defer idx.Release()
		return array.NewDictionaryArray(a.DataType(), idx, a.Dictionary()), nil
	}
	d := a.Data()
	off := d.Offset()
	var validBuf *memory.Buffer
	nulls := 0
	if a.NullN() > 0 {
		valid := takeBits(a.NullBitmapBytes(), off, s.rows)
		nulls = rows - countBits(valid, rows)
		if nulls > 0 {
			validBuf = memory.NewBufferBytes(arrow.Uint64Traits.CastToBytes(valid))
		}
	}
	var bufs []*memory.Buffer
	switch a := a.(type) {
	case *array.Struct:
		children := make([]arrow.ArrayData, a.NumField())
		for i := range children {
			c, err := Array(a.Field(i), s)
			if err != nil {
				for _, done := range children[:i] {
					done.Release()
				}
				return nil, fmt.Errorf("field %d: %w", i, err)
			}
			children[i] = c.Data()
			children[i].Retain()
			c.Release()
		}
		out := array.NewData(a.DataType(), rows, []*memory.Buffer{validBuf}, children, nulls, 0)
		for _, c := range children {
			c.Release()
		}
		defer out.Release()
		return array.MakeFromData(out), nil
	case *array.Boolean:
		vals := takeBits(d.Buffers()[1].Bytes(), off, s.rows)
		bufs = []*memory.Buffer{validBuf, memory.NewBufferBytes(arrow.Uint64Traits.CastToBytes(vals))}
	case *array.String:
		offs, data := takeVarlen(a.ValueOffsets(), d.Buffers()[2], s)
		bufs = []*memory.Buffer{validBuf, memory.NewBufferBytes(arrow.Int32Traits.CastToBytes(offs)), memory.NewBufferBytes(data)}
	case *array.Binary:
		offs, data := takeVarlen(a.ValueOffsets(), d.Buffers()[2], s)
		bufs = []*memory.Buffer{validBuf, memory.NewBufferBytes(arrow.Int32Traits.CastToBytes(offs)), memory.NewBufferBytes(data)}
	default:
		fw, ok := a.DataType().(arrow.FixedWidthDataType)
		if !ok || fw.BitWidth()%8 != 0 || len(d.Buffers()) != 2 {
			return nil, fmt.Errorf("type %s is not supported", a.DataType())
		}
		width := fw.BitWidth() / 8
		src := d.Buffers()[1].Bytes()[off*width:]
		var vals []byte
		switch width {
		case 4:
			vals = arrow.Int32Traits.CastToBytes(gather(arrow.Int32Traits.CastFromBytes(src), s.rows))
		case 8:
			vals = arrow.Int64Traits.CastToBytes(gather(arrow.Int64Traits.CastFromBytes(src), s.rows))
		case 16:
			vals = arrow.Decimal128Traits.CastToBytes(gather(arrow.Decimal128Traits.CastFromBytes(src), s.rows))
		default:
			vals = make([]byte, rows*width)
			pos := 0
			for _, r := range s.runs {
				pos += copy(vals[pos:], src[int(r[0])*width:int(r[1])*width])
			}
		}
		bufs = []*memory.Buffer{validBuf, memory.NewBufferBytes(vals)}
	}
	out := array.NewData(a.DataType(), rows, bufs, nil, nulls, 0)
	defer out.Release()
	return array.MakeFromData(out), nil
}

// gather returns src[rows[0]], src[rows[1]], ...; for values of 4 to 16 bytes a typed copy
// per row beats a memmove per run of rows.
func gather[T any](src []T, rows []int32) []T {
	out := make([]T, len(rows))
	for k, i := range rows {
		out[k] = src[i]
	}
	return out
}

// takeBits gathers the bits rows of an Arrow bitmap that starts at bit off.
func takeBits(src []byte, off int, rows []int32) []uint64 {
	out := make([]uint64, (len(rows)+63)/64)
	for k, i := range rows {
		j := off + int(i)
		out[k>>6] |= uint64(src[j>>3]>>(uint(j)&7)&1) << (uint(k) & 63)
	}
	return out
}

// countBits counts the set bits among the first n.
func countBits(words []uint64, n int) int {
	c := 0
	for w, x := range words {
		if r := n - w*64; r < 64 {
			x &= 1<<uint(r) - 1
		}
		c += bits.OnesCount64(x)
	}
	return c
}

// takeVarlen gathers variable-length values into new offsets and data, a run at a time.
func takeVarlen(offs []int32, dataBuf *memory.Buffer, s *Selection) ([]int32, []byte) {
	var data []byte
	if dataBuf != nil {
		data = dataBuf.Bytes()
	}
	size := 0
	for _, r := range s.runs {
		size += int(offs[r[1]] - offs[r[0]])
	}
	outOffs := make([]int32, len(s.rows)+1)
	out := make([]byte, size)
	pos, k := int32(0), 1
	for _, r := range s.runs {
		lo, hi := offs[r[0]], offs[r[1]]
		shift := pos - lo
		for _, o := range offs[r[0]+1 : r[1]+1] {
			outOffs[k] = o + shift
			k++
		}
		pos += int32(copy(out[pos:], data[lo:hi]))
	}
	return outOffs, out
}
