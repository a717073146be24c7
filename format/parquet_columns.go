package format

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	pqschema "github.com/apache/arrow-go/v18/parquet/schema"

	"millrace/dictcode"
)

// columnReader reads one column of one row group, batch by batch.
type columnReader interface {
	// next reads the next n values as one array.
	next(n int, mem memory.Allocator) (arrow.Array, error)
	// release returns the reader's buffers to the allocator; the reader is not used again.
	release()
}

// columnReader returns the reader of column c in row group r.rowGroup: a flatReader when the
// column can be read flat, otherwise one through pqarrow.
func (r *parquetReader) columnReader(c parquetColumn) (columnReader, error) {
	sf := &r.fr.Manifest.Fields[c.field0]
	if c.flat != flatNone {
		rg := r.pf.RowGroup(r.rowGroup)
		maxDef := r.pf.MetaData().Schema.Column(sf.ColIndex).MaxDefinitionLevel()
		if cc, err := rg.MetaData().ColumnChunk(sf.ColIndex); err == nil && c.flat == flatBytes && pagesDecodable(cc) {
			pages, err := rg.GetColumnPageReader(sf.ColIndex)
			if err != nil {
				return nil, err
			}
			return &flatReader{kind: c.flat, typ: sf.Field.Type, pages: &bytePages{pages: pages, maxDef: maxDef}, maxDef: maxDef}, nil
		}
		ccr, err := rg.Column(sf.ColIndex)
		if err != nil {
			return nil, err
		}
		return &flatReader{kind: c.flat, typ: sf.Field.Type, rd: ccr, maxDef: maxDef}, nil
	}
	cr, err := r.fr.GetFieldReader(context.Background(), c.field0, c.leaves, []int{r.rowGroup})
	if err != nil {
		return nil, err
	}
	return pqarrowReader{cr}, nil
}

// pqarrowReader reads any column through pqarrow: nested ones, and those whose Arrow type is
// not a plain copy of the stored values.
type pqarrowReader struct{ cr *pqarrow.ColumnReader }

// next reads n values, concatenating them when pqarrow returns them in several chunks.
func (p pqarrowReader) next(n int, mem memory.Allocator) (arrow.Array, error) {
	ch, err := p.cr.NextBatch(int64(n))
	if err != nil {
		return nil, err
	}
	defer ch.Release()
	if ch.Len() != n {
		return nil, fmt.Errorf("read %d values, want %d", ch.Len(), n)
	}
	if len(ch.Chunks()) == 1 {
		a := ch.Chunk(0)
		a.Retain()
		return a, nil
	}
	return array.Concatenate(ch.Chunks(), mem)
}

// release returns the reader's buffers to the allocator.
func (p pqarrowReader) release() { p.cr.Release() }

// flatKind says how a flat column (not nested, not repeated) is read straight into the buffers
// of its Arrow array, skipping pqarrow's builders: for these the Arrow layout is a plain copy
// of the values the Parquet decoder yields.
type flatKind uint8

const (
	flatNone      flatKind = iota
	flatBytes              // BYTE_ARRAY as string or binary
	flatInt32              // INT32 as int32 or date32
	flatInt64              // INT64 as int64 or a timestamp of the stored unit
	flatFloat32            // FLOAT as float32
	flatFloat64            // DOUBLE as float64
	flatBool               // BOOLEAN as bool
	flatDecimal32          // INT32 DECIMAL(P,S) as decimal128(P,S)
	flatDecimal64          // INT64 DECIMAL(P,S) as decimal128(P,S)
)

// flatKindOf returns how the file's column sf can be read flat, or flatNone. The Arrow type is
// the one pqarrow would give the column (from the stored Arrow schema or the Parquet types), so
// both paths yield arrays of the same type.
func flatKindOf(sf *pqarrow.SchemaField, sc *pqschema.Schema) flatKind {
	if !sf.IsLeaf() || len(sf.Children) > 0 {
		return flatNone
	}
	col := sc.Column(sf.ColIndex)
	if col.MaxRepetitionLevel() != 0 || col.MaxDefinitionLevel() > 1 {
		return flatNone
	}
	phys, logical := col.PhysicalType(), col.LogicalType()
	switch t := sf.Field.Type.(type) {
	case *arrow.StringType, *arrow.BinaryType:
		if phys == parquet.Types.ByteArray {
			return flatBytes
		}
	case *arrow.Int32Type:
		if phys == parquet.Types.Int32 {
			return flatInt32
		}
	case *arrow.Date32Type:
		if _, ok := logical.(pqschema.DateLogicalType); ok && phys == parquet.Types.Int32 {
			return flatInt32
		}
	case *arrow.Int64Type:
		if phys == parquet.Types.Int64 {
			return flatInt64
		}
	case *arrow.TimestampType:
		lt, ok := logical.(pqschema.TimestampLogicalType)
		if !ok || phys != parquet.Types.Int64 {
			return flatNone
		}
		units := map[pqschema.TimeUnitType]arrow.TimeUnit{pqschema.TimeUnitMillis: arrow.Millisecond,
			pqschema.TimeUnitMicros: arrow.Microsecond, pqschema.TimeUnitNanos: arrow.Nanosecond}
		if u, ok := units[lt.TimeUnit()]; ok && u == t.Unit {
			return flatInt64
		}
	case *arrow.Float32Type:
		if phys == parquet.Types.Float {
			return flatFloat32
		}
	case *arrow.Float64Type:
		if phys == parquet.Types.Double {
			return flatFloat64
		}
	case *arrow.BooleanType:
		if phys == parquet.Types.Boolean {
			return flatBool
		}
	case *arrow.Decimal128Type:
		lt, ok := logical.(pqschema.DecimalLogicalType)
		if !ok || lt.Precision() != t.Precision || lt.Scale() != t.Scale {
			return flatNone
		}
		switch phys {
		case parquet.Types.Int32:
			return flatDecimal32
		case parquet.Types.Int64:
			return flatDecimal64
		}
	}
	return flatNone
}

// flatReader reads a flat column chunk into Arrow buffers allocated once per batch, at their
// final size where the size is known.
type flatReader struct {
	kind   flatKind
	typ    arrow.DataType
	rd     file.ColumnChunkReader // nil when pages reads the chunk
	pages  *bytePages
	maxDef int16

	defs    []int16             // definition levels of the batch (optional columns)
	bytes   []parquet.ByteArray // values of one page read through rd, pointing into the page or dictionary
	ints    []int64             // decimal values before widening
	int32s  []int32
	bools   []bool
	dataCap int // bytes the last batch of a BYTE_ARRAY column took, to size the next
}

// release closes the column chunk reader, which returns its page buffers to the allocator.
func (f *flatReader) release() {
	if f.pages != nil {
		// As below: the page reader only holds buffers of a file that is being read.
		_ = f.pages.pages.Close()
		return
	}
	if c, ok := f.rd.(io.Closer); ok {
		// Closing only returns page buffers of a file that is being read: nothing to lose.
		_ = c.Close()
	}
}

// next reads the next n values into buffers of the batch's array, null slots included.
func (f *flatReader) next(n int, mem memory.Allocator) (arrow.Array, error) {
	var defs []int16
	if f.maxDef > 0 {
		if cap(f.defs) < n {
			f.defs = make([]int16, n)
		}
		defs = f.defs[:n]
	}
	var (
		buffers []*memory.Buffer
		codes   *memory.Buffer // dictionary codes of a string column (see dictcode)
		err     error
	)
	switch f.kind {
	case flatBytes:
		buffers, codes, err = f.readBytes(n, defs, mem)
	case flatInt32:
		buffers, err = readFixed[int32](f.rd.(*file.Int32ColumnChunkReader), n, defs, f.maxDef, mem)
	case flatInt64:
		buffers, err = readFixed[int64](f.rd.(*file.Int64ColumnChunkReader), n, defs, f.maxDef, mem)
	case flatFloat32:
		buffers, err = readFixed[float32](f.rd.(*file.Float32ColumnChunkReader), n, defs, f.maxDef, mem)
	case flatFloat64:
		buffers, err = readFixed[float64](f.rd.(*file.Float64ColumnChunkReader), n, defs, f.maxDef, mem)
	case flatBool:
		buffers, err = f.readBools(n, defs, mem)
	case flatDecimal32, flatDecimal64:
		buffers, err = f.readDecimals(n, defs, mem)
	default:
		err = fmt.Errorf("no flat reader for %s", f.typ)
	}
	if err != nil {
		return nil, err
	}
	nulls := 0
	if buffers[0] != nil {
		nulls = n - bitutil.CountSetBits(buffers[0].Bytes(), 0, n)
	}
	var data *array.Data
	if codes != nil {
		data = dictcode.NewData(f.typ, n, buffers, nulls, codes, f.pages.dictArray)
		codes.Release()
	} else {
		data = array.NewData(f.typ, n, buffers, nil, nulls, 0)
	}
	for _, b := range buffers {
		if b != nil {
			b.Release()
		}
	}
	defer data.Release()
	return array.MakeFromData(data), nil
}

// batchReader is the typed ReadBatch of the file package's column chunk readers: it reads up
// to n levels and the values of the non-null ones, packed at the front of values.
type batchReader[T any] interface {
	ReadBatch(n int64, values []T, defs, reps []int16) (levels int64, read int, err error)
}

// readLevels calls rd until n levels are read, and returns the number of values read.
func readLevels[T any](rd batchReader[T], n int, values []T, defs []int16) (int, error) {
	levels, read := 0, 0
	for levels < n {
		var d []int16
		if defs != nil {
			d = defs[levels:]
		}
		l, v, err := rd.ReadBatch(int64(n-levels), values[read:], d, nil)
		if err != nil {
			return 0, err
		}
		if l == 0 {
			return 0, fmt.Errorf("column chunk ends after %d of %d values", levels, n)
		}
		levels += int(l)
		read += v
	}
	return read, nil
}

// readFixed reads n values of a fixed-width type straight into a new Arrow value buffer and
// spreads them over their slots when some are null. It returns the validity and value buffers.
func readFixed[T int32 | int64 | float32 | float64](rd batchReader[T], n int, defs []int16, maxDef int16, mem memory.Allocator) ([]*memory.Buffer, error) {
	var zero T
	vb := memory.NewResizableBuffer(mem)
	vb.Resize(n * int(unsafe.Sizeof(zero)))
	vals := unsafe.Slice((*T)(unsafe.Pointer(unsafe.SliceData(vb.Bytes()))), n)
	read, err := readLevels(rd, n, vals, defs)
	if err != nil {
		vb.Release()
		return nil, err
	}
	if read == n {
		return []*memory.Buffer{nil, vb}, nil
	}
	// Spread the packed values from the back so that each moves at most once.
	valid := validityFromLevels(defs, maxDef, mem)
	j := read - 1
	for i := n - 1; i >= 0; i-- {
		if defs[i] == maxDef {
			vals[i] = vals[j]
			j--
		} else {
			vals[i] = zero
		}
	}
	return []*memory.Buffer{valid, vb}, nil
}

// validityFromLevels builds the validity bitmap of a flat column from its definition levels.
func validityFromLevels(defs []int16, maxDef int16, mem memory.Allocator) *memory.Buffer {
	b := memory.NewResizableBuffer(mem)
	b.Resize(int(bitutil.BytesForBits(int64(len(defs)))))
	bits := b.Bytes()
	clear(bits)
	for i, d := range defs {
		if d == maxDef {
			bitutil.SetBit(bits, i)
		}
	}
	return b
}

// readBytes reads n BYTE_ARRAY values into one offsets and one data buffer, through
// f.pages when it decodes the chunk, otherwise through the column reader, whose values are
// copied page by page while its slices into the page are still valid. When f.pages read
// every value of a string column from its dictionary, it also returns the values'
// dictionary codes (see dictcode); otherwise codes is nil.
func (f *flatReader) readBytes(n int, defs []int16, mem memory.Allocator) (buffers []*memory.Buffer, codes *memory.Buffer, err error) {
	b := newBytesBuilder(n, f.dataCap+f.dataCap/8, mem)
	if f.pages != nil {
		codes = memory.NewResizableBuffer(mem)
		codes.Resize(n * 4)
		var coded bool
		coded, err = f.pages.read(n, defs, b, arrow.Int32Traits.CastFromBytes(codes.Bytes()))
		if !coded || f.typ.ID() != arrow.STRING {
			codes.Release()
			codes = nil
		}
	} else {
		err = f.readByteArrays(n, defs, b)
	}
	if err != nil {
		b.release()
		return nil, nil, err
	}
	f.dataCap = b.used
	var valid *memory.Buffer
	if defs != nil {
		valid = validityFromLevels(defs, f.maxDef, mem)
	}
	ob, db := b.finish()
	return []*memory.Buffer{valid, ob, db}, codes, nil
}

// readByteArrays reads n values through the column reader into b.
func (f *flatReader) readByteArrays(n int, defs []int16, b *bytesBuilder) error {
	rd := f.rd.(*file.ByteArrayColumnChunkReader)
	if cap(f.bytes) < n {
		f.bytes = make([]parquet.ByteArray, n)
	}
	for levels := 0; levels < n; {
		var d []int16
		if defs != nil {
			d = defs[levels:]
		}
		l, v, err := rd.ReadBatchInPage(int64(n-levels), f.bytes[:n-levels], d, nil)
		if err == nil && l == 0 {
			err = fmt.Errorf("column chunk ends after %d of %d values", levels, n)
		}
		if err != nil {
			return err
		}
		size := 0
		for _, val := range f.bytes[:v] {
			size += len(val)
		}
		if err := b.reserve(size); err != nil {
			return err
		}
		j := 0
		for i := range int(l) {
			if d == nil || d[i] == f.maxDef {
				b.appendReserved(f.bytes[j], 0, len(f.bytes[j]))
				j++
			}
			b.endValue()
		}
		levels += int(l)
	}
	return nil
}

// bytesBuilder fills the offsets and data buffers of one batch of a string or binary column,
// value by value.
type bytesBuilder struct {
	ob, db  *memory.Buffer
	offsets []int32
	data    []byte // db's bytes, up to its capacity
	used    int    // bytes of data taken
	values  int    // values ended
}

// newBytesBuilder makes the buffers of n values, reserving dataHint bytes for them.
func newBytesBuilder(n, dataHint int, mem memory.Allocator) *bytesBuilder {
	b := &bytesBuilder{ob: memory.NewResizableBuffer(mem), db: memory.NewResizableBuffer(mem)}
	b.ob.Resize((n + 1) * 4)
	b.offsets = arrow.Int32Traits.CastFromBytes(b.ob.Bytes())
	b.offsets[0] = 0
	b.db.Reserve(max(dataHint, 64))
	b.data = b.db.Buf()
	return b
}

// wordSlack is the room that reserve keeps past the bytes it makes room for, so that a short
// value is stored as two whole words instead of through a call to copy.
const wordSlack = 16

// reserve makes room for size more bytes. A batch holds at most 2 GiB of bytes.
func (b *bytesBuilder) reserve(size int) error {
	if b.used+size > math.MaxInt32 {
		return fmt.Errorf("a batch of %d values holds more than 2 GiB of bytes; read smaller batches", len(b.offsets)-1)
	}
	if need := b.used + size + wordSlack; need > len(b.data) {
		b.db.Reserve(max(2*len(b.data), need))
		b.data = b.db.Buf()
	}
	return nil
}

// appendReserved copies src[start:end] into the current value, in room reserve made. A value
// of at most wordSlack bytes with that many bytes of src from start moves as two words; the
// bytes stored past its end are overwritten by the next value, or lie past the data's length.
func (b *bytesBuilder) appendReserved(src []byte, start, end int) {
	if end-start <= wordSlack && start+wordSlack <= len(src) {
		from, to := src[start:start+wordSlack], b.data[b.used:b.used+wordSlack]
		binary.LittleEndian.PutUint64(to, binary.LittleEndian.Uint64(from))
		binary.LittleEndian.PutUint64(to[8:], binary.LittleEndian.Uint64(from[8:]))
		b.used += end - start
		return
	}
	b.used += copy(b.data[b.used:], src[start:end])
}

// endValue ends the current value (an empty one, or a null slot, when nothing was appended).
func (b *bytesBuilder) endValue() {
	b.values++
	b.offsets[b.values] = int32(b.used)
}

// finish returns the offsets and data buffers, the data cut to the bytes taken.
func (b *bytesBuilder) finish() (*memory.Buffer, *memory.Buffer) {
	b.db.ResizeNoShrink(b.used)
	return b.ob, b.db
}

// release returns the buffers of a batch given up.
func (b *bytesBuilder) release() {
	b.ob.Release()
	b.db.Release()
}

// readBools reads n BOOLEAN values into a bitmap.
func (f *flatReader) readBools(n int, defs []int16, mem memory.Allocator) ([]*memory.Buffer, error) {
	if cap(f.bools) < n {
		f.bools = make([]bool, n)
	}
	read, err := readLevels(f.rd.(*file.BooleanColumnChunkReader), n, f.bools[:n], defs)
	if err != nil {
		return nil, err
	}
	vb := memory.NewResizableBuffer(mem)
	vb.Resize(int(bitutil.BytesForBits(int64(n))))
	bits := vb.Bytes()
	clear(bits)
	var valid *memory.Buffer
	if read < n {
		valid = validityFromLevels(defs, f.maxDef, mem)
	}
	j := 0
	for i := range n {
		if valid == nil || defs[i] == f.maxDef {
			if f.bools[j] {
				bitutil.SetBit(bits, i)
			}
			j++
		}
	}
	return []*memory.Buffer{valid, vb}, nil
}

// readDecimals reads n INT32 or INT64 decimals and widens them to decimal128.
func (f *flatReader) readDecimals(n int, defs []int16, mem memory.Allocator) ([]*memory.Buffer, error) {
	if cap(f.ints) < n {
		f.ints = make([]int64, n)
	}
	ints := f.ints[:n]
	var (
		read int
		err  error
	)
	if f.kind == flatDecimal32 {
		if cap(f.int32s) < n {
			f.int32s = make([]int32, n)
		}
		read, err = readLevels(f.rd.(*file.Int32ColumnChunkReader), n, f.int32s[:n], defs)
		for i, v := range f.int32s[:read] {
			ints[i] = int64(v)
		}
	} else {
		read, err = readLevels(f.rd.(*file.Int64ColumnChunkReader), n, ints, defs)
	}
	if err != nil {
		return nil, err
	}
	vb := memory.NewResizableBuffer(mem)
	vb.Resize(n * arrow.Decimal128SizeBytes)
	vals := arrow.Decimal128Traits.CastFromBytes(vb.Bytes())
	var valid *memory.Buffer
	if read < n {
		valid = validityFromLevels(defs, f.maxDef, mem)
	}
	j := 0
	for i := range vals {
		if valid == nil || defs[i] == f.maxDef {
			v := ints[j]
			vals[i] = decimal128.New(v>>63, uint64(v))
			j++
		} else {
			vals[i] = decimal128.Num{}
		}
	}
	return []*memory.Buffer{valid, vb}, nil
}
