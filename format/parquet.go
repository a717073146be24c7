package format

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"math/big"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	pqschema "github.com/apache/arrow-go/v18/parquet/schema"
)

// Parquet files go through arrow-go: pqarrow writes them and maps their schema to Arrow. The
// writer stores the Arrow schema in the footer (key ARROW:schema), so a file millrace wrote
// reads back with exactly the types it was written with and every column takes the reader's
// pass-through path; the flat columns of such a file are decoded by flatReader, straight from
// the page decoders into Arrow buffers. Files from other tools may need the per-value
// conversions of convertFor, at the end of this file.

const (
	// parquetWriteBuffer is the buffer between the page writer and the caller's io.Writer: the
	// page writer makes many small writes (headers, then bodies).
	parquetWriteBuffer = 1 << 20
	// parquetReadBuffer is the read buffer of each column chunk stream. The reader streams
	// column chunks through buffers of this size instead of loading whole chunks, so memory
	// stays bounded however large the row groups of a file are.
	parquetReadBuffer = 256 << 10
)

// NewParquetWriter returns a writer that encodes batches of schema s as one Parquet file on w.
//
// Pages are compressed with opts.Compression (zstd unless set) and dictionary-encoded while the
// dictionary stays small. Row groups hold opts.RowGroupRows rows, the last one fewer, however the
// rows arrive: rows are buffered across Write calls (encoded and compressed, one row group at a
// time) and cut at the row group size. Decimals of precision up to 18 are stored as integers
// (INT64, or INT32 up to precision 9) annotated DECIMAL(P,S), wider ones as fixed-length byte
// arrays. The Arrow schema is stored in the footer, so Arrow readers get timestamp[ms, tz=UTC]
// and the decimal types back exactly. The same batches always give the same bytes: nothing in
// the file depends on the time or the host. (Batches split differently may cut pages
// differently, which changes the bytes but not the rows.)
//
// Close writes the footer and flushes, but does not close w. A writer that failed keeps
// returning its first error.
func NewParquetWriter(w io.Writer, s *arrow.Schema, opts WriteOptions) (Writer, error) {
	opts = opts.withDefaults()
	var codec compress.Compression
	switch opts.Compression {
	case Zstd:
		codec = compress.Codecs.Zstd
	case Snappy:
		codec = compress.Codecs.Snappy
	case Uncompressed:
		codec = compress.Codecs.Uncompressed
	default:
		return nil, fmt.Errorf("parquet writer: unknown compression %q (want %s, %s or %s)",
			opts.Compression, Zstd, Snappy, Uncompressed)
	}
	props := parquet.NewWriterProperties(
		parquet.WithCompression(codec),
		parquet.WithDictionaryDefault(true),
		parquet.WithStoreDecimalAsInteger(true),
		parquet.WithMaxRowGroupLength(opts.RowGroupRows),
		// The default names the library and its version only; set it explicitly so that no
		// future default can bring a time or a host into the footer.
		parquet.WithCreatedBy(parquet.DefaultCreatedBy),
	)
	bw := bufio.NewWriterSize(w, parquetWriteBuffer)
	// pqarrow closes its sink when it implements io.Closer; *bufio.Writer does not, so w stays
	// open as documented.
	fw, err := pqarrow.NewFileWriter(s, bw, props, pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
	if err != nil {
		return nil, fmt.Errorf("parquet writer: schema %s: %w", s, err)
	}
	return &parquetWriter{fw: fw, bw: bw, schema: s, groupRows: opts.RowGroupRows}, nil
}

// parquetWriter cuts the rows it is given into row groups of groupRows rows.
type parquetWriter struct {
	fw        *pqarrow.FileWriter
	bw        *bufio.Writer
	schema    *arrow.Schema
	groupRows int64
	inGroup   int64 // rows in the open row group
	open      bool  // a row group is open
	err       error
	closed    bool
}

// Write appends the rows of rec to the open row group, starting new row groups as they fill.
func (p *parquetWriter) Write(rec arrow.RecordBatch) error {
	if p.err != nil {
		return p.err
	}
	if p.closed {
		return errors.New("parquet writer: write after close")
	}
	if !rec.Schema().Equal(p.schema) {
		return fmt.Errorf("parquet writer: batch schema %s differs from the writer's %s", rec.Schema(), p.schema)
	}
	rows := rec.NumRows()
	for off := int64(0); off < rows; {
		if p.open && p.inGroup == p.groupRows {
			if err := p.fw.NewBufferedRowGroupChecked(); err != nil {
				return p.fail(fmt.Errorf("parquet writer: start row group: %w", err))
			}
			p.inGroup = 0
		}
		n := min(rows-off, p.groupRows-p.inGroup)
		part := rec
		if off != 0 || n != rows {
			part = rec.NewSlice(off, off+n)
		}
		// WriteBuffered opens the first row group itself and never splits part, which fits.
		err := p.fw.WriteBuffered(part)
		if part != rec {
			part.Release()
		}
		if err != nil {
			return p.fail(fmt.Errorf("parquet writer: %w", err))
		}
		p.open = true
		p.inGroup += n
		off += n
	}
	return nil
}

// Close writes the last row group and the footer and flushes the buffer into w.
func (p *parquetWriter) Close() error {
	if p.closed {
		return p.err
	}
	p.closed = true
	if err := p.fw.Close(); err != nil && p.err == nil {
		p.err = fmt.Errorf("parquet writer: close: %w", err)
	}
	if err := p.bw.Flush(); err != nil && p.err == nil {
		p.err = fmt.Errorf("parquet writer: flush: %w", err)
	}
	return p.err
}

func (p *parquetWriter) fail(err error) error {
	p.err = err
	return err
}

// OpenParquet opens the Parquet file at path for reading batches of schema s.
//
// The file is read one row group at a time and each column chunk is streamed through a bounded
// buffer, so memory stays bounded whatever the size of the file. A batch holds at most
// opts.BatchRows rows and never spans two row groups.
//
// Columns are matched by name: file columns that s does not name are not read; a column of s
// the file lacks reads as nulls if it is nullable, and fails the open if it is required. A
// column whose type in the file is the type in s is passed through unconverted: flat columns
// of the common types are decoded straight into the batch's buffers (see flatKindOf), others
// come as pqarrow decodes them. Otherwise each value is converted (see convertFor): integers of other widths, timestamps of
// any unit and zone (to UTC, sub-unit digits dropped toward the past), decimals of another
// precision or scale (only exactly), floats, and strings parsed into the schema's type. A
// value that cannot be converted, or a null in a required column, makes its row a DeadLetter
// (the row as a JSON object, its row group and row) and the row is left out of the batch.
//
// Every error names the file: `open parquet "data/tx.parquet": ...`.
func OpenParquet(path string, s *arrow.Schema, opts ReadOptions) (Reader, error) {
	opts = opts.withDefaults()
	f, err := os.Open(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("open parquet %q: %w", path, err)
	}
	r, err := newParquetReader(f, path, s, opts)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("open parquet %q: %w", path, err)
	}
	return r, nil
}

// parquetReader reads one file row group by row group.
type parquetReader struct {
	path   string
	schema *arrow.Schema
	opts   ReadOptions
	f      *os.File
	pf     *file.Reader
	fr     *pqarrow.FileReader
	cols   []parquetColumn

	rowGroup  int            // the row group being read, or the next one
	row       int64          // next row within rowGroup
	groupRows int64          // rows in rowGroup, once it is open
	readers   []columnReader // per column of the schema; nil for columns the file lacks
	err       error
}

// parquetColumn is one column of the reader's schema and where it comes from.
type parquetColumn struct {
	field   arrow.Field
	field0  int          // index of the file's top-level field, -1 if the file lacks it
	leaves  map[int]bool // the file's leaf columns under that field
	flat    flatKind     // how a flat column is read straight into Arrow buffers, or flatNone
	convert parquetConvert
}

func newParquetReader(f *os.File, path string, s *arrow.Schema, opts ReadOptions) (*parquetReader, error) {
	if err := checkParquetMagic(f); err != nil {
		return nil, err
	}
	props := parquet.NewReaderProperties(opts.Mem)
	props.BufferedStreamEnabled = true
	props.BufferSize = parquetReadBuffer
	pf, err := file.NewParquetReader(f, file.WithReadProps(props))
	if err != nil {
		return nil, fmt.Errorf("read footer: %w", err)
	}
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: int64(opts.BatchRows)}, opts.Mem)
	if err != nil {
		return nil, fmt.Errorf("read schema: %w", err)
	}
	r := &parquetReader{path: path, schema: s, opts: opts, f: f, pf: pf, fr: fr}
	byName := make(map[string]int, len(fr.Manifest.Fields))
	for i, sf := range fr.Manifest.Fields {
		if _, dup := byName[sf.Field.Name]; !dup {
			byName[sf.Field.Name] = i
		}
	}
	for _, field := range s.Fields() {
		c := parquetColumn{field: field, field0: -1}
		i, ok := byName[field.Name]
		if !ok {
			if !field.Nullable {
				return nil, fmt.Errorf("required column %q (%s) is not in the file (it has %s)",
					field.Name, field.Type, fileColumnNames(fr))
			}
			r.cols = append(r.cols, c)
			continue
		}
		sf := &fr.Manifest.Fields[i]
		c.field0 = i
		c.leaves = map[int]bool{}
		collectLeaves(sf, c.leaves)
		c.flat = flatKindOf(sf, pf.MetaData().Schema)
		if c.convert, err = convertFor(field, sf.Field.Type); err != nil {
			return nil, fmt.Errorf("column %q: %w", field.Name, err)
		}
		r.cols = append(r.cols, c)
	}
	return r, nil
}

// checkParquetMagic tells a file that is not Parquet at all from a damaged one.
func checkParquetMagic(f *os.File) error {
	st, err := f.Stat()
	if err != nil {
		return err
	}
	var head, tail [4]byte
	if st.Size() >= 12 {
		if _, err := f.ReadAt(head[:], 0); err != nil {
			return err
		}
		if _, err := f.ReadAt(tail[:], st.Size()-4); err != nil {
			return err
		}
	}
	switch {
	case string(head[:]) == "PAR1" && string(tail[:]) == "PAR1":
		return nil
	case string(tail[:]) == "PARE":
		return errors.New("encrypted Parquet files are not supported")
	case string(head[:]) == "PAR1":
		return fmt.Errorf("not a complete Parquet file: no footer (%d bytes; truncated or still being written?)", st.Size())
	}
	return fmt.Errorf("not a Parquet file: it does not start and end with PAR1 (%d bytes)", st.Size())
}

func collectLeaves(sf *pqarrow.SchemaField, into map[int]bool) {
	if sf.IsLeaf() {
		into[sf.ColIndex] = true
	}
	for i := range sf.Children {
		collectLeaves(&sf.Children[i], into)
	}
}

func fileColumnNames(fr *pqarrow.FileReader) string {
	names := make([]string, len(fr.Manifest.Fields))
	for i, sf := range fr.Manifest.Fields {
		names[i] = fmt.Sprintf("%q", sf.Field.Name)
	}
	if len(names) == 0 {
		return "no columns"
	}
	return strings.Join(names, ", ")
}

// Read returns the next batch of at most BatchRows rows of the current row group.
func (r *parquetReader) Read() (rec arrow.RecordBatch, dead []DeadLetter, err error) {
	if r.err != nil {
		return nil, nil, r.err
	}
	// The decoders below belong to arrow-go and may panic on a damaged file; a damaged file is
	// bad input, which must fail this read with an error, not the process.
	defer func() {
		if p := recover(); p != nil {
			r.closeRowGroup()
			rec, dead = nil, nil
			err = r.fail(fmt.Errorf("damaged file: %v", p))
		}
	}()
	for r.readers == nil {
		if r.rowGroup >= r.pf.NumRowGroups() {
			return nil, nil, io.EOF
		}
		if err := r.openRowGroup(); err != nil {
			return nil, nil, r.fail(err)
		}
	}
	n := min(int64(r.opts.BatchRows), r.groupRows-r.row)
	raw := make([]arrow.Array, len(r.cols))
	defer releaseAll(raw)
	for i, c := range r.cols {
		if c.field0 < 0 {
			continue
		}
		if raw[i], err = r.readers[i].next(int(n), r.opts.Mem); err != nil {
			return nil, nil, r.fail(fmt.Errorf("column %q: %w", c.field.Name, err))
		}
	}
	if rec, dead, err = r.assemble(raw, int(n)); err != nil {
		return nil, nil, r.fail(err)
	}
	r.row += n
	if r.row == r.groupRows {
		r.closeRowGroup()
		r.rowGroup++
		r.row = 0
	}
	return rec, dead, nil
}

func (r *parquetReader) fail(err error) error {
	r.err = fmt.Errorf("read parquet %q: row group %d, row %d: %w", r.path, r.rowGroup, r.row, err)
	return r.err
}

// openRowGroup makes column readers for the row group r.rowGroup; an empty row group is skipped.
func (r *parquetReader) openRowGroup() error {
	r.groupRows = r.pf.MetaData().RowGroup(r.rowGroup).NumRows()
	r.row = 0
	if r.groupRows == 0 {
		r.rowGroup++
		return nil
	}
	readers := make([]columnReader, len(r.cols))
	for i, c := range r.cols {
		if c.field0 < 0 {
			continue
		}
		cr, err := r.columnReader(c)
		if err != nil {
			for _, cr := range readers {
				if cr != nil {
					cr.release()
				}
			}
			return fmt.Errorf("column %q: %w", c.field.Name, err)
		}
		readers[i] = cr
	}
	r.readers = readers
	return nil
}

func (r *parquetReader) columnReader(c parquetColumn) (columnReader, error) {
	sf := &r.fr.Manifest.Fields[c.field0]
	if c.flat != flatNone {
		ccr, err := r.pf.RowGroup(r.rowGroup).Column(sf.ColIndex)
		if err != nil {
			return nil, err
		}
		return &flatReader{kind: c.flat, typ: sf.Field.Type, rd: ccr, maxDef: ccr.Descriptor().MaxDefinitionLevel()}, nil
	}
	cr, err := r.fr.GetFieldReader(context.Background(), c.field0, c.leaves, []int{r.rowGroup})
	if err != nil {
		return nil, err
	}
	return pqarrowReader{cr}, nil
}

func (r *parquetReader) closeRowGroup() {
	for _, cr := range r.readers {
		if cr != nil {
			cr.release()
		}
	}
	r.readers = nil
}

// columnReader reads one column of one row group, batch by batch.
type columnReader interface {
	// next reads the next n values as one array.
	next(n int, mem memory.Allocator) (arrow.Array, error)
	release()
}

// pqarrowReader reads any column through pqarrow: nested ones, and those whose Arrow type is
// not a plain copy of the stored values.
type pqarrowReader struct{ cr *pqarrow.ColumnReader }

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
	rd     file.ColumnChunkReader
	maxDef int16

	defs    []int16             // definition levels of the batch (optional columns)
	bytes   []parquet.ByteArray // values of one page read, pointing into the page or dictionary
	ints    []int64             // decimal values before widening
	int32s  []int32
	bools   []bool
	dataCap int // bytes the last batch of a BYTE_ARRAY column took, to size the next
}

// release closes the column chunk reader, which returns its page buffers to the allocator.
func (f *flatReader) release() {
	if c, ok := f.rd.(io.Closer); ok {
		// Closing only returns page buffers of a file that is being read: nothing to lose.
		_ = c.Close()
	}
}

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
		err     error
	)
	switch f.kind {
	case flatBytes:
		buffers, err = f.readBytes(n, defs, mem)
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
	data := array.NewData(f.typ, n, buffers, nil, nulls, 0)
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

// readBytes reads n BYTE_ARRAY values into one offsets and one data buffer. Values are copied
// page by page, while the decoder's slices into the page are still valid.
func (f *flatReader) readBytes(n int, defs []int16, mem memory.Allocator) ([]*memory.Buffer, error) {
	rd := f.rd.(*file.ByteArrayColumnChunkReader)
	if cap(f.bytes) < n {
		f.bytes = make([]parquet.ByteArray, n)
	}
	ob := memory.NewResizableBuffer(mem)
	ob.Resize((n + 1) * 4)
	offsets := arrow.Int32Traits.CastFromBytes(ob.Bytes())
	offsets[0] = 0
	db := memory.NewResizableBuffer(mem)
	db.Reserve(max(f.dataCap+f.dataCap/8, 64))
	data := db.Buf()
	used := 0
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
			ob.Release()
			db.Release()
			return nil, err
		}
		size := 0
		for _, b := range f.bytes[:v] {
			size += len(b)
		}
		if used+size > math.MaxInt32 {
			ob.Release()
			db.Release()
			return nil, fmt.Errorf("a batch of %d values holds more than 2 GiB of bytes; read smaller batches", n)
		}
		if used+size > len(data) {
			db.Reserve(min(max(2*len(data), used+size), math.MaxInt32))
			data = db.Buf()
		}
		j := 0
		for i := range int(l) {
			if d == nil || d[i] == f.maxDef {
				used += copy(data[used:], f.bytes[j])
				j++
			}
			offsets[levels+i+1] = int32(used)
		}
		levels += int(l)
	}
	db.ResizeNoShrink(used)
	f.dataCap = used
	var valid *memory.Buffer
	if defs != nil {
		valid = validityFromLevels(defs, f.maxDef, mem)
	}
	return []*memory.Buffer{valid, ob, db}, nil
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

// assemble converts the columns read from the file into a batch of the reader's schema; rows
// with a value that does not convert become dead letters instead.
func (r *parquetReader) assemble(raw []arrow.Array, n int) (arrow.RecordBatch, []DeadLetter, error) {
	out := make([]arrow.Array, len(r.cols))
	defer releaseAll(out)
	fl := rowFaults{mem: r.opts.Mem, rows: n}
	for i, c := range r.cols {
		fl.col = c.field.Name
		if c.field0 < 0 {
			out[i] = array.MakeArrayOfNull(r.opts.Mem, c.field.Type, n)
			continue
		}
		var err error
		if out[i], err = c.convert(raw[i], &fl); err != nil {
			return nil, nil, fmt.Errorf("column %q: %w", c.field.Name, err)
		}
	}
	if fl.reasons == nil {
		return array.NewRecordBatch(r.schema, out, int64(n)), nil, nil
	}
	var dead []DeadLetter
	var keep [][2]int // kept row ranges [from, to)
	var buf []byte
	for row, reason := range fl.reasons {
		if reason == "" {
			if len(keep) > 0 && keep[len(keep)-1][1] == row {
				keep[len(keep)-1][1]++
			} else {
				keep = append(keep, [2]int{row, row + 1})
			}
			continue
		}
		buf = r.appendRawRow(buf[:0], raw, row)
		dead = append(dead, DeadLetter{
			File:     r.path,
			RowGroup: r.rowGroup,
			Row:      r.row + int64(row),
			Raw:      bytes.Clone(buf),
			Reason:   reason,
		})
	}
	if len(keep) == 0 {
		return nil, dead, nil
	}
	kept := 0
	for _, k := range keep {
		kept += k[1] - k[0]
	}
	for i, a := range out {
		parts := make([]arrow.Array, len(keep))
		for j, k := range keep {
			parts[j] = array.NewSlice(a, int64(k[0]), int64(k[1]))
		}
		var err error
		out[i], err = array.Concatenate(parts, r.opts.Mem)
		releaseAll(parts)
		a.Release()
		if err != nil {
			return nil, nil, fmt.Errorf("column %q: drop dead rows: %w", r.cols[i].field.Name, err)
		}
	}
	return array.NewRecordBatch(r.schema, out, int64(kept)), dead, nil
}

// appendRawRow appends row of the columns as read from the file as one JSON object, with the
// file's values (before any conversion) under the schema's column names.
func (r *parquetReader) appendRawRow(dst []byte, raw []arrow.Array, row int) []byte {
	dst = append(dst, '{')
	first := true
	for i, c := range r.cols {
		if raw[i] == nil {
			continue
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = appendJSONString(dst, c.field.Name)
		dst = append(dst, ':')
		dst = appendRawJSON(dst, raw[i], row)
	}
	return append(dst, '}')
}

// Position is the row group and row of the next row Read decodes.
func (r *parquetReader) Position() Position {
	return Position{File: r.path, RowGroup: r.rowGroup, Row: r.row}
}

// Close releases the column readers and closes the file.
func (r *parquetReader) Close() error {
	r.closeRowGroup()
	if r.f == nil {
		return nil
	}
	err := r.f.Close()
	r.f = nil
	if r.err == nil {
		r.err = fmt.Errorf("read parquet %q: reader is closed", r.path)
	}
	if err != nil {
		return fmt.Errorf("close parquet %q: %w", r.path, err)
	}
	return nil
}

func releaseAll(arrs []arrow.Array) {
	for i, a := range arrs {
		if a != nil {
			a.Release()
			arrs[i] = nil
		}
	}
}

// decimalInRange reports the rows of a decimal128 array whose value needs more digits than the
// type's precision: pqarrow does not check that a file's values fit its declared precision.
func decimalInRange(a *array.Decimal128, fl *rowFaults) {
	t := a.DataType().(*arrow.Decimal128Type)
	if t.Precision >= 38 {
		return
	}
	hi := decimal128.GetMaxValue(t.Precision)
	lo := hi.Negate()
	vals := a.Values()
	for i, v := range vals {
		if (v.Greater(hi) || v.Less(lo)) && a.IsValid(i) {
			fl.add(i, "%s overflows %s", v.ToString(t.Scale), t)
		}
	}
}

// parquetConvert converts one column of a batch, as read from a file, into the schema's type. It
// returns a new reference to an array of the same length. A value it cannot convert is reported
// to fl and its slot left null; the row is dropped from the batch afterwards.
type parquetConvert func(src arrow.Array, fl *rowFaults) (arrow.Array, error)

// rowFaults collects why rows of one batch are refused.
type rowFaults struct {
	mem     memory.Allocator
	rows    int
	col     string   // the column being converted
	reasons []string // per row, "" for a good row; nil while every row is good
}

// add refuses row, saying why in the terms of the current column: `amount: 1.234 has ...`.
func (f *rowFaults) add(row int, format string, args ...any) {
	if f.reasons == nil {
		f.reasons = make([]string, f.rows)
	}
	msg := f.col + ": " + fmt.Sprintf(format, args...)
	if f.reasons[row] != "" {
		msg = f.reasons[row] + "; " + msg
	}
	f.reasons[row] = msg
}

// convertFor returns the conversion of a file column of type from into field. Equal types pass
// through (checking for nulls in a required column and, for decimals, values wider than the
// precision). Otherwise the conversion goes value by value:
//
//   - to integers: from integers, decimals and floats whose value is a whole number in range,
//     and from strings;
//   - to float64: from floats, integers and decimals (rounded to the nearest float), strings;
//   - to decimal(P,S): from integers and decimals of any width, precision and scale when the
//     value is exact at scale S and fits P digits, from floats (their shortest decimal form)
//     and strings; nothing is ever rounded;
//   - to timestamps: from timestamps of any unit and zone (the instant is kept; digits below
//     the target unit are dropped toward the past), from dates (midnight UTC), and from strings
//     (RFC 3339 or epoch milliseconds);
//   - to date32: from date64 and strings (YYYY-MM-DD);
//   - to string: from strings, string views and binary that is valid UTF-8;
//   - to bool: from strings (true, false, 1, 0, t, f).
//
// Dictionary-encoded columns convert as their values do. Any other pair is an error.
func convertFor(field arrow.Field, from arrow.DataType) (parquetConvert, error) {
	to, required := field.Type, !field.Nullable
	if arrow.TypeEqual(from, to) {
		return func(src arrow.Array, fl *rowFaults) (arrow.Array, error) {
			if required && src.NullN() > 0 {
				for i := range src.Len() {
					if src.IsNull(i) {
						fl.add(i, "null in a required column")
					}
				}
			}
			if d, ok := src.(*array.Decimal128); ok {
				decimalInRange(d, fl)
			}
			src.Retain()
			return src, nil
		}, nil
	}
	if dt, ok := from.(*arrow.DictionaryType); ok {
		inner, err := convertFor(field, dt.ValueType)
		if err != nil {
			return nil, err
		}
		return func(src arrow.Array, fl *rowFaults) (arrow.Array, error) {
			d := src.(*array.Dictionary)
			dense, err := compute.TakeArray(compute.WithAllocator(context.Background(), fl.mem), d.Dictionary(), d.Indices())
			if err != nil {
				return nil, fmt.Errorf("decode dictionary: %w", err)
			}
			defer dense.Release()
			return inner(dense, fl)
		}, nil
	}
	conv := valueConverter(from, to)
	if conv == nil {
		return nil, fmt.Errorf("the file's %s cannot be read as %s", from, to)
	}
	return func(src arrow.Array, fl *rowFaults) (arrow.Array, error) {
		b := array.NewBuilder(fl.mem, to)
		defer b.Release()
		b.Reserve(src.Len())
		for i := range src.Len() {
			if src.IsNull(i) {
				if required {
					fl.add(i, "null in a required column")
				}
				b.AppendNull()
				continue
			}
			if why := conv(src, i, b); why != "" {
				fl.add(i, "%s", why)
				b.AppendNull()
			}
		}
		return b.NewArray(), nil
	}, nil
}

// valueConv converts value i (not null) of src and appends it to b. It returns "" or, having
// appended nothing, why the value does not convert.
type valueConv func(src arrow.Array, i int, b array.Builder) string

// valueConverter returns the conversion of single values of type from to type to, or nil.
func valueConverter(from, to arrow.DataType) valueConv {
	exact, float, text := exactReader(from), floatReader(from), textReader(from)
	switch to := to.(type) {
	case *arrow.Int8Type, *arrow.Int16Type, *arrow.Int32Type, *arrow.Int64Type:
		return intConverter(to, exact, float, text)
	case *arrow.Float64Type:
		put := func(b array.Builder, v float64) { b.(*array.Float64Builder).Append(v) }
		switch {
		case float != nil:
			return func(a arrow.Array, i int, b array.Builder) string { put(b, float(a, i)); return "" }
		case exact != nil:
			return func(a arrow.Array, i int, b array.Builder) string {
				e := exact(a, i)
				if e.big == nil && e.scale == 0 {
					put(b, float64(e.v))
					return ""
				}
				v, err := strconv.ParseFloat(e.String(), 64)
				if err != nil {
					return fmt.Sprintf("%s is out of the range of %s", e, to)
				}
				put(b, v)
				return ""
			}
		case text != nil:
			return func(a arrow.Array, i int, b array.Builder) string {
				v, err := strconv.ParseFloat(strings.TrimSpace(text(a, i)), 64)
				if err != nil {
					return fmt.Sprintf("%q is not a number", text(a, i))
				}
				put(b, v)
				return ""
			}
		}
	case *arrow.Decimal128Type:
		return decimalConverter(to, exact, float, text)
	case *arrow.TimestampType:
		return timestampConverter(from, to, text)
	case *arrow.Date32Type:
		switch {
		case from.ID() == arrow.DATE64:
			return func(a arrow.Array, i int, b array.Builder) string {
				days := floorDiv(int64(a.(*array.Date64).Value(i)), 86_400_000)
				if days < math.MinInt32 || days > math.MaxInt32 {
					return fmt.Sprintf("%d days overflow date32", days)
				}
				b.(*array.Date32Builder).Append(arrow.Date32(days))
				return ""
			}
		case text != nil:
			return func(a arrow.Array, i int, b array.Builder) string {
				d, err := parseDate([]byte(strings.TrimSpace(text(a, i))))
				if err != nil {
					return err.Error()
				}
				b.(*array.Date32Builder).Append(arrow.Date32(d))
				return ""
			}
		}
	case *arrow.StringType:
		if text != nil {
			return func(a arrow.Array, i int, b array.Builder) string {
				s := text(a, i)
				if !utf8.ValidString(s) {
					return fmt.Sprintf("%q is not valid UTF-8", s)
				}
				b.(*array.StringBuilder).Append(s)
				return ""
			}
		}
	case *arrow.BooleanType:
		if text != nil {
			return func(a arrow.Array, i int, b array.Builder) string {
				v, err := strconv.ParseBool(strings.TrimSpace(text(a, i)))
				if err != nil {
					return fmt.Sprintf("%q is not a boolean", text(a, i))
				}
				b.(*array.BooleanBuilder).Append(v)
				return ""
			}
		}
	}
	return nil
}

func intConverter(to arrow.DataType, exact func(arrow.Array, int) exactNumber, float func(arrow.Array, int) float64, text func(arrow.Array, int) string) valueConv {
	width := to.(arrow.FixedWidthDataType).BitWidth()
	lo, hi := int64(-1)<<(width-1), int64(1)<<(width-1)-1
	if width == 64 {
		lo, hi = math.MinInt64, math.MaxInt64
	}
	put := func(b array.Builder, v int64) {
		switch b := b.(type) {
		case *array.Int8Builder:
			b.Append(int8(v))
		case *array.Int16Builder:
			b.Append(int16(v))
		case *array.Int32Builder:
			b.Append(int32(v))
		case *array.Int64Builder:
			b.Append(v)
		}
	}
	switch {
	case exact != nil:
		return func(a arrow.Array, i int, b array.Builder) string {
			e := exact(a, i)
			w, ok := e.rescale(0)
			if !ok {
				return fmt.Sprintf("%s is not a whole number", e)
			}
			if w.big != nil || w.v < lo || w.v > hi {
				return fmt.Sprintf("%s overflows %s", e, to)
			}
			put(b, w.v)
			return ""
		}
	case float != nil:
		return func(a arrow.Array, i int, b array.Builder) string {
			v := float(a, i)
			if v != math.Trunc(v) {
				return fmt.Sprintf("%v is not a whole number", v)
			}
			// float64(hi) rounds up to 2^(width-1), which is already out of range.
			if v < float64(lo) || v >= float64(hi) {
				return fmt.Sprintf("%v overflows %s", v, to)
			}
			put(b, int64(v))
			return ""
		}
	case text != nil:
		return func(a arrow.Array, i int, b array.Builder) string {
			v, err := strconv.ParseInt(strings.TrimSpace(text(a, i)), 10, width)
			if err != nil {
				if errors.Is(err, strconv.ErrRange) {
					return fmt.Sprintf("%q overflows %s", text(a, i), to)
				}
				return fmt.Sprintf("%q is not an integer", text(a, i))
			}
			put(b, v)
			return ""
		}
	}
	return nil
}

func decimalConverter(to *arrow.Decimal128Type, exact func(arrow.Array, int) exactNumber, float func(arrow.Array, int) float64, text func(arrow.Array, int) string) valueConv {
	put := func(b array.Builder, v decimal128.Num) { b.(*array.Decimal128Builder).Append(v) }
	parse := func(b array.Builder, s string) string {
		v, err := parseDecimal([]byte(s), to.Precision, to.Scale)
		if err != nil {
			return err.Error()
		}
		put(b, v)
		return ""
	}
	switch {
	case exact != nil:
		return func(a arrow.Array, i int, b array.Builder) string {
			e := exact(a, i)
			w, ok := e.rescale(to.Scale)
			if !ok {
				return fmt.Sprintf("%s has more decimal places than %s holds", e, to)
			}
			if !w.fits(to.Precision) {
				return fmt.Sprintf("%s overflows %s", e, to)
			}
			put(b, w.decimal128())
			return ""
		}
	case float != nil:
		return func(a arrow.Array, i int, b array.Builder) string {
			v := float(a, i)
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Sprintf("%v is not a decimal", v)
			}
			return parse(b, strconv.FormatFloat(v, 'f', -1, 64))
		}
	case text != nil:
		return func(a arrow.Array, i int, b array.Builder) string {
			return parse(b, strings.TrimSpace(text(a, i)))
		}
	}
	return nil
}

func timestampConverter(from arrow.DataType, to *arrow.TimestampType, text func(arrow.Array, int) string) valueConv {
	put := func(b array.Builder, v int64, unit arrow.TimeUnit, what func() string) string {
		w, ok := convertTimeUnit(v, unit, to.Unit)
		if !ok {
			return fmt.Sprintf("%s overflows %s", what(), to)
		}
		b.(*array.TimestampBuilder).Append(arrow.Timestamp(w))
		return ""
	}
	switch from := from.(type) {
	case *arrow.TimestampType:
		// A timestamp with a zone holds the UTC instant; one without is read as UTC.
		return func(a arrow.Array, i int, b array.Builder) string {
			v := int64(a.(*array.Timestamp).Value(i))
			return put(b, v, from.Unit, func() string { return fmt.Sprintf("%d%s", v, from.Unit) })
		}
	case *arrow.Date32Type:
		return func(a arrow.Array, i int, b array.Builder) string {
			d := int64(a.(*array.Date32).Value(i))
			return put(b, d*86_400, arrow.Second, func() string { return fmt.Sprintf("date %d", d) })
		}
	case *arrow.Date64Type:
		return func(a arrow.Array, i int, b array.Builder) string {
			ms := int64(a.(*array.Date64).Value(i))
			return put(b, ms, arrow.Millisecond, func() string { return fmt.Sprintf("date %dms", ms) })
		}
	}
	if text == nil {
		return nil
	}
	return func(a arrow.Array, i int, b array.Builder) string {
		s := strings.TrimSpace(text(a, i))
		ms, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			if ms, err = parseTimestamp([]byte(s)); err != nil {
				return fmt.Sprintf("%q is neither an RFC 3339 timestamp nor epoch milliseconds", s)
			}
		}
		return put(b, ms, arrow.Millisecond, func() string { return strconv.Quote(s) })
	}
}

// convertTimeUnit converts a time in unit from to unit to, dropping digits below the new unit
// toward the past; ok is false on overflow.
func convertTimeUnit(v int64, from, to arrow.TimeUnit) (int64, bool) {
	if from == to {
		return v, true
	}
	// Units are 0 (s) to 3 (ns), each 1000 times the one before.
	if from > to {
		return floorDiv(v, exactPow10[3*(from-to)]), true
	}
	m := exactPow10[3*(to-from)]
	if v > math.MaxInt64/m || v < math.MinInt64/m {
		return 0, false
	}
	return v * m, true
}

// exactPow10 holds the powers of ten an int64 holds.
var exactPow10 = [19]int64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12,
	1e13, 1e14, 1e15, 1e16, 1e17, 1e18}

// exactNumber is an integer or decimal value read exactly: v (or big, when the value does not
// fit an int64) times 10^-scale.
type exactNumber struct {
	v     int64
	big   *big.Int
	scale int32
}

func bigPow10(n int32) *big.Int {
	return new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(n)), nil)
}

func (e exactNumber) bigInt() *big.Int {
	if e.big != nil {
		return new(big.Int).Set(e.big)
	}
	return big.NewInt(e.v)
}

func exactFromBig(b *big.Int, scale int32) exactNumber {
	if b.IsInt64() {
		return exactNumber{v: b.Int64(), scale: scale}
	}
	return exactNumber{big: b, scale: scale}
}

// rescale returns the value at another scale; ok is false if that would drop non-zero digits.
func (e exactNumber) rescale(scale int32) (exactNumber, bool) {
	d := scale - e.scale
	switch {
	case d == 0:
		return e, true
	case e.big == nil && d > 0 && d < 19:
		if m := exactPow10[d]; e.v <= math.MaxInt64/m && e.v >= math.MinInt64/m {
			return exactNumber{v: e.v * m, scale: scale}, true
		}
	case e.big == nil && d < 0 && d > -19:
		m := exactPow10[-d]
		return exactNumber{v: e.v / m, scale: scale}, e.v%m == 0
	}
	b := e.bigInt()
	if d > 0 {
		return exactFromBig(b.Mul(b, bigPow10(d)), scale), true
	}
	q, r := b.QuoRem(b, bigPow10(-d), new(big.Int))
	return exactFromBig(q, scale), r.Sign() == 0
}

// fits reports whether the value has at most prec digits.
func (e exactNumber) fits(prec int32) bool {
	if e.big == nil {
		return prec >= 19 || (e.v > -exactPow10[prec] && e.v < exactPow10[prec])
	}
	return e.big.CmpAbs(bigPow10(prec)) < 0
}

func (e exactNumber) decimal128() decimal128.Num {
	if e.big == nil {
		return decimal128.FromI64(e.v)
	}
	return decimal128.FromBigInt(e.big)
}

// String writes the value with every digit: `-12.345`.
func (e exactNumber) String() string {
	var digits string
	if e.big != nil {
		digits = e.big.String()
	} else {
		digits = strconv.FormatInt(e.v, 10)
	}
	sign := ""
	if digits[0] == '-' {
		sign, digits = "-", digits[1:]
	}
	if e.scale <= 0 {
		return sign + digits + strings.Repeat("0", int(-e.scale))
	}
	if pad := int(e.scale) + 1 - len(digits); pad > 0 {
		digits = strings.Repeat("0", pad) + digits
	}
	cut := len(digits) - int(e.scale)
	return sign + digits[:cut] + "." + digits[cut:]
}

// exactReader returns a reader of the values of integer and decimal arrays of type t, or nil.
func exactReader(t arrow.DataType) func(a arrow.Array, i int) exactNumber {
	switch t := t.(type) {
	case *arrow.Int8Type:
		return func(a arrow.Array, i int) exactNumber { return exactNumber{v: int64(a.(*array.Int8).Value(i))} }
	case *arrow.Int16Type:
		return func(a arrow.Array, i int) exactNumber { return exactNumber{v: int64(a.(*array.Int16).Value(i))} }
	case *arrow.Int32Type:
		return func(a arrow.Array, i int) exactNumber { return exactNumber{v: int64(a.(*array.Int32).Value(i))} }
	case *arrow.Int64Type:
		return func(a arrow.Array, i int) exactNumber { return exactNumber{v: a.(*array.Int64).Value(i)} }
	case *arrow.Uint8Type:
		return func(a arrow.Array, i int) exactNumber { return exactNumber{v: int64(a.(*array.Uint8).Value(i))} }
	case *arrow.Uint16Type:
		return func(a arrow.Array, i int) exactNumber { return exactNumber{v: int64(a.(*array.Uint16).Value(i))} }
	case *arrow.Uint32Type:
		return func(a arrow.Array, i int) exactNumber { return exactNumber{v: int64(a.(*array.Uint32).Value(i))} }
	case *arrow.Uint64Type:
		return func(a arrow.Array, i int) exactNumber {
			return exactFromBig(new(big.Int).SetUint64(a.(*array.Uint64).Value(i)), 0)
		}
	case *arrow.Decimal32Type:
		return func(a arrow.Array, i int) exactNumber {
			return exactNumber{v: int64(a.(*array.Decimal32).Value(i)), scale: t.Scale}
		}
	case *arrow.Decimal64Type:
		return func(a arrow.Array, i int) exactNumber {
			return exactNumber{v: int64(a.(*array.Decimal64).Value(i)), scale: t.Scale}
		}
	case *arrow.Decimal128Type:
		return func(a arrow.Array, i int) exactNumber {
			n := a.(*array.Decimal128).Value(i)
			if hi, lo := n.HighBits(), n.LowBits(); hi == int64(lo)>>63 {
				return exactNumber{v: int64(lo), scale: t.Scale}
			}
			return exactFromBig(n.BigInt(), t.Scale)
		}
	case *arrow.Decimal256Type:
		return func(a arrow.Array, i int) exactNumber {
			return exactFromBig(a.(*array.Decimal256).Value(i).BigInt(), t.Scale)
		}
	}
	return nil
}

// floatReader returns a reader of the values of float arrays of type t, or nil.
func floatReader(t arrow.DataType) func(a arrow.Array, i int) float64 {
	switch t.ID() {
	case arrow.FLOAT16:
		return func(a arrow.Array, i int) float64 { return float64(a.(*array.Float16).Value(i).Float32()) }
	case arrow.FLOAT32:
		return func(a arrow.Array, i int) float64 { return float64(a.(*array.Float32).Value(i)) }
	case arrow.FLOAT64:
		return func(a arrow.Array, i int) float64 { return a.(*array.Float64).Value(i) }
	}
	return nil
}

// textReader returns a reader of the values of string and binary arrays of type t, or nil.
func textReader(t arrow.DataType) func(a arrow.Array, i int) string {
	switch t.ID() {
	case arrow.STRING:
		return func(a arrow.Array, i int) string { return a.(*array.String).Value(i) }
	case arrow.LARGE_STRING:
		return func(a arrow.Array, i int) string { return a.(*array.LargeString).Value(i) }
	case arrow.STRING_VIEW:
		return func(a arrow.Array, i int) string { return a.(*array.StringView).Value(i) }
	case arrow.BINARY:
		return func(a arrow.Array, i int) string { return string(a.(*array.Binary).Value(i)) }
	case arrow.LARGE_BINARY:
		return func(a arrow.Array, i int) string { return string(a.(*array.LargeBinary).Value(i)) }
	case arrow.BINARY_VIEW:
		return func(a arrow.Array, i int) string { return string(a.(*array.BinaryView).Value(i)) }
	}
	return nil
}

// appendRawJSON appends value i of a, as the file holds it, as a JSON value: numbers with every
// digit, timestamps as RFC 3339 UTC with the file's precision, binary as base64.
func appendRawJSON(dst []byte, a arrow.Array, i int) []byte {
	if a.IsNull(i) {
		return append(dst, "null"...)
	}
	if ex := exactReader(a.DataType()); ex != nil {
		return append(dst, ex(a, i).String()...)
	}
	if fl := floatReader(a.DataType()); fl != nil {
		v := fl(a, i)
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return appendJSONString(dst, nonFinite(v))
		}
		return strconv.AppendFloat(dst, v, 'g', -1, 64)
	}
	switch a := a.(type) {
	case *array.String, *array.LargeString, *array.StringView:
		return appendJSONString(dst, textReader(a.DataType())(a, i))
	case *array.Binary, *array.LargeBinary, *array.BinaryView:
		return appendJSONString(dst, base64.StdEncoding.EncodeToString([]byte(textReader(a.DataType())(a, i))))
	case *array.Boolean:
		return strconv.AppendBool(dst, a.Value(i))
	case *array.Timestamp:
		v := int64(a.Value(i))
		var t time.Time
		switch a.DataType().(*arrow.TimestampType).Unit {
		case arrow.Second:
			t = time.Unix(v, 0)
		case arrow.Millisecond:
			t = time.UnixMilli(v)
		case arrow.Microsecond:
			t = time.UnixMicro(v)
		default:
			t = time.Unix(0, v)
		}
		return appendJSONString(dst, t.UTC().Format("2006-01-02T15:04:05.999999999Z07:00"))
	case *array.Date32:
		return appendJSONString(dst, time.Unix(int64(a.Value(i))*86_400, 0).UTC().Format(time.DateOnly))
	case *array.Date64:
		return appendJSONString(dst, time.UnixMilli(int64(a.Value(i))).UTC().Format(time.DateOnly))
	case *array.Dictionary:
		return appendRawJSON(dst, a.Dictionary(), a.GetValueIndex(i))
	}
	if b, err := json.Marshal(a.GetOneForMarshal(i)); err == nil {
		return append(dst, b...)
	}
	return appendJSONString(dst, a.ValueStr(i))
}
