package nexmark

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// int64Column is a fixed-width column of n 8-byte values (int64 or timestamp) being filled.
type int64Column struct {
	buf *memory.Buffer
	v   []int64
}

func newInt64Column(mem memory.Allocator, n int) int64Column {
	b := memory.NewResizableBuffer(mem)
	b.Resize(arrow.Int64Traits.BytesRequired(n))
	return int64Column{buf: b, v: arrow.Int64Traits.CastFromBytes(b.Bytes())}
}

// finish returns the column as an array of type t and gives up the column's reference.
func (c *int64Column) finish(t arrow.DataType, n int) arrow.Array {
	d := array.NewData(t, n, []*memory.Buffer{nil, c.buf}, nil, 0, 0)
	c.buf.Release()
	defer d.Release()
	return array.MakeFromData(d)
}

// stringColumn is a string column of n values without nulls being filled in order.
type stringColumn struct {
	offBuf, dataBuf *memory.Buffer
	off             []int32
	data            []byte
	pos             int32
}

// columnSlack is how many bytes a string column keeps beyond its content's bound, so that
// fixed-size copies of slots (see addSlot) may write past the string they append.
const columnSlack = urlSlot

// newStringColumn allocates a column of n strings of at most maxBytes bytes together.
func newStringColumn(mem memory.Allocator, n, maxBytes int) stringColumn {
	c := stringColumn{offBuf: memory.NewResizableBuffer(mem), dataBuf: memory.NewResizableBuffer(mem)}
	c.offBuf.Resize(arrow.Int32Traits.BytesRequired(n + 1))
	c.dataBuf.Resize(maxBytes + columnSlack)
	c.off = arrow.Int32Traits.CastFromBytes(c.offBuf.Bytes())
	c.data = c.dataBuf.Bytes()
	c.off[0] = 0
	return c
}

// add sets string i, the next one.
func (c *stringColumn) add(i int, s []byte) {
	c.pos += int32(copy(c.data[c.pos:], s))
	c.off[i+1] = c.pos
}

// addName sets string i, the next one, to the first n bytes of a name slot: a whole-slot
// copy (a few vector moves, no call) whose excess the next string overwrites or finish
// trims.
func (c *stringColumn) addName(i int, s *[nameSlot]byte, n uint8) {
	*(*[nameSlot]byte)(c.data[c.pos:]) = *s
	c.pos += int32(n)
	c.off[i+1] = c.pos
}

// addURL is addName for URL slots. It copies 16 bytes at a time, which compiles to
// vector moves where a whole-slot copy would call memmove.
func (c *stringColumn) addURL(i int, s *[urlSlot]byte, n uint8) {
	d := (*[urlSlot]byte)(c.data[c.pos:])
	for k := 0; k < urlSlot; k += 16 {
		*(*[16]byte)(d[k:]) = *(*[16]byte)(s[k:])
	}
	c.pos += int32(n)
	c.off[i+1] = c.pos
}

// skip sets string i, the next one, to the empty string.
func (c *stringColumn) skip(i int) { c.off[i+1] = c.pos }

// finish returns the column as a string array, trimmed to the bytes written, and gives up
// the column's references.
func (c *stringColumn) finish(n int) arrow.Array {
	c.dataBuf.ResizeNoShrink(int(c.pos))
	d := array.NewData(arrow.BinaryTypes.String, n, []*memory.Buffer{nil, c.offBuf, c.dataBuf}, nil, 0, 0)
	c.offBuf.Release()
	c.dataBuf.Release()
	defer d.Release()
	return array.MakeFromData(d)
}

// batch assembles columns into a record batch of sch and releases the caller's references
// to them.
func batch(sch *arrow.Schema, n int, cols []arrow.Array) arrow.RecordBatch {
	rec := array.NewRecordBatch(sch, cols, int64(n))
	for _, c := range cols {
		c.Release()
	}
	return rec
}
