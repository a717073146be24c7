package expr

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// Filter returns the rows of rec for which the predicate e is TRUE; rows where it is FALSE or
// NULL are dropped, as in a SQL WHERE. When every row is kept it returns rec itself,
// retained; otherwise a new batch. The caller releases the result.
func (e *Expr) Filter(rec arrow.RecordBatch) (arrow.RecordBatch, error) {
	if e.t.k != kBool && e.t.k != kNull {
		return nil, fmt.Errorf("expr: filter %s: predicate is %s, not bool", e, e.t)
	}
	v, err := e.evalVec(rec)
	if err != nil {
		return nil, err
	}
	n := int(rec.NumRows())
	keep := newBitmap(n)
	if e.t.k == kBool {
		vals, valid := boolWords(v)
		for w := range keep {
			keep[w] = vals[w]
			if valid != nil {
				keep[w] &= valid[w]
			}
		}
	}
	return filterRows(rec, keep)
}

// FilterBatch returns the rows of rec where keep is TRUE (not FALSE, not NULL). keep must have
// rec's length.
func FilterBatch(rec arrow.RecordBatch, keep *array.Boolean) (arrow.RecordBatch, error) {
	n := int(rec.NumRows())
	if keep.Len() != n {
		return nil, fmt.Errorf("expr: filter mask has %d rows, batch has %d", keep.Len(), n)
	}
	v, err := loadColumn(keep)
	if err != nil {
		return nil, err
	}
	mask := andBitmaps(v.bits, v.valid)
	if mask == nil {
		mask = newBitmap(n)
	}
	return filterRows(rec, mask)
}

// filterRows keeps the rows whose bit is set in keep.
func filterRows(rec arrow.RecordBatch, keep bitmap) (arrow.RecordBatch, error) {
	n := int(rec.NumRows())
	count := keep.count(n)
	switch count {
	case n:
		rec.Retain()
		return rec, nil
	case 0:
		return rec.NewSlice(0, 0), nil
	}
	sel := selectionOf(keep, n, count)
	cols := make([]arrow.Array, rec.NumCols())
	release := func() {
		for _, c := range cols {
			if c != nil {
				c.Release()
			}
		}
	}
	for i := range cols {
		c, err := take(rec.Column(i), sel)
		if err != nil {
			release()
			return nil, fmt.Errorf("expr: filter column %q: %w", rec.ColumnName(i), err)
		}
		cols[i] = c
	}
	out := array.NewRecordBatch(rec.Schema(), cols, int64(count))
	release()
	return out, nil
}

// selection lists the rows a filter keeps, both one by one (for bitmaps) and as maximal runs
// of consecutive rows (for values, which are copied a run at a time). It is computed once per
// batch and shared by every column.
type selection struct {
	idx  []int32    // kept rows, ascending
	runs [][2]int32 // [first, last+1) of each run of consecutive kept rows
}

// selectionOf finds the runs of set bits word by word, without a branch per row.
func selectionOf(keep bitmap, n, count int) *selection {
	s := &selection{idx: make([]int32, 0, count)}
	for w, x := range keep {
		base := int32(w * 64)
		if r := n - w*64; r < 64 {
			x &= 1<<uint(r) - 1
		}
		for x != 0 {
			start := int32(trailing(x))
			length := int32(trailing(^(x >> uint(start))))
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
			s.idx = append(s.idx, i)
		}
	}
	return s
}

// take returns the selected rows of a as a new array.
func take(a arrow.Array, sel *selection) (arrow.Array, error) {
	rows := len(sel.idx)
	switch a := a.(type) {
	case *array.Null:
		return array.NewNull(rows), nil
	case *array.Dictionary:
		// Filter the indices and keep the dictionary as it is.
		idx, err := take(a.Indices(), sel)
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
		valid := takeBits(a.NullBitmapBytes(), off, sel.idx)
		nulls = rows - valid.count(rows)
		if nulls > 0 {
			validBuf = memory.NewBufferBytes(valid.bytes())
		}
	}
	var bufs []*memory.Buffer
	switch a := a.(type) {
	case *array.Boolean:
		vals := takeBits(d.Buffers()[1].Bytes(), off, sel.idx)
		bufs = []*memory.Buffer{validBuf, memory.NewBufferBytes(vals.bytes())}
	case *array.String:
		offs, data := takeStrings(a.ValueOffsets(), d.Buffers()[2], sel)
		bufs = []*memory.Buffer{validBuf, memory.NewBufferBytes(arrow.Int32Traits.CastToBytes(offs)), memory.NewBufferBytes(data)}
	case *array.Binary:
		offs, data := takeStrings(a.ValueOffsets(), d.Buffers()[2], sel)
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
			vals = arrow.Int32Traits.CastToBytes(gatherIdx(arrow.Int32Traits.CastFromBytes(src), sel.idx))
		case 8:
			vals = arrow.Int64Traits.CastToBytes(gatherIdx(arrow.Int64Traits.CastFromBytes(src), sel.idx))
		case 16:
			vals = arrow.Decimal128Traits.CastToBytes(gatherIdx(arrow.Decimal128Traits.CastFromBytes(src), sel.idx))
		default:
			vals = make([]byte, rows*width)
			pos := 0
			for _, r := range sel.runs {
				pos += copy(vals[pos:], src[int(r[0])*width:int(r[1])*width])
			}
		}
		bufs = []*memory.Buffer{validBuf, memory.NewBufferBytes(vals)}
	}
	out := array.NewData(a.DataType(), rows, bufs, nil, nulls, 0)
	defer out.Release()
	return array.MakeFromData(out), nil
}

// gatherIdx returns src[idx[0]], src[idx[1]], ...; for values of 4 to 16 bytes a typed
// copy per row beats a memmove per run of rows.
func gatherIdx[T any](src []T, idx []int32) []T {
	out := make([]T, len(idx))
	for k, i := range idx {
		out[k] = src[i]
	}
	return out
}

// takeBits gathers the bits idx of an Arrow bitmap that starts at bit off.
func takeBits(src []byte, off int, idx []int32) bitmap {
	out := newBitmap(len(idx))
	for k, i := range idx {
		j := off + int(i)
		out[k>>6] |= uint64(src[j>>3]>>(uint(j)&7)&1) << (uint(k) & 63)
	}
	return out
}

// takeStrings gathers variable-length values into new offsets and data, a run at a time.
func takeStrings(offs []int32, dataBuf *memory.Buffer, sel *selection) ([]int32, []byte) {
	var data []byte
	if dataBuf != nil {
		data = dataBuf.Bytes()
	}
	size := 0
	for _, r := range sel.runs {
		size += int(offs[r[1]] - offs[r[0]])
	}
	outOffs := make([]int32, len(sel.idx)+1)
	out := make([]byte, size)
	pos, k := int32(0), 1
	for _, r := range sel.runs {
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
