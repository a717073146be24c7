package format

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"runtime"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/metadata"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"golang.org/x/sync/errgroup"
)

// parquetWriteBuffer is the buffer between the page writer and the caller's io.Writer: the page
// writer makes many small writes (headers, then bodies).
const parquetWriteBuffer = 1 << 20

// NewParquetWriter returns a writer that encodes batches of schema s as one Parquet file on w.
//
// Pages are compressed with opts.Compression (zstd unless set) and dictionary-encoded while the
// dictionary stays small. Row groups hold opts.RowGroupRows rows, the last one fewer, however the
// rows arrive: rows are buffered across Write calls, encoded and compressed into the open row
// group's memory as they come (every column of a batch on its own goroutine), and the row group
// is written out when it is full; only one row group is held at a time. Decimals of precision
// up to 18 are stored as integers (INT64, or INT32 up to precision 9) annotated DECIMAL(P,S),
// wider ones as fixed-length byte arrays. The Arrow schema is stored in the footer, so Arrow
// readers get timestamp[ms, tz=UTC] and the decimal types back exactly. The same batches always
// give the same bytes: nothing in the file depends on the time, the host or the order in which
// the columns' goroutines ran. (Batches split differently may cut pages differently, which
// changes the bytes but not the rows.)
//
// Close writes the footer and flushes, but does not close w. A writer that failed keeps
// returning its first error.
func NewParquetWriter(w io.Writer, s *arrow.Schema, opts WriteOptions) (Writer, error) {
	opts = opts.withDefaults()
	props, err := parquetProperties(opts)
	if err != nil {
		return nil, err
	}
	for _, f := range s.Fields() {
		if _, nested := f.Type.(arrow.NestedType); nested {
			return nil, fmt.Errorf("parquet writer: column %q: nested type %s is not supported", f.Name, f.Type)
		}
	}
	bw := bufio.NewWriterSize(w, parquetWriteBuffer)
	arrowProps := pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema())
	pqSchema, err := pqarrow.ToParquet(s, props, arrowProps)
	if err != nil {
		return nil, fmt.Errorf("parquet writer: schema %s: %w", s, err)
	}
	meta, err := parquetFileMetadata(s)
	if err != nil {
		return nil, err
	}
	// file.Writer closes its sink when it implements io.Closer; *bufio.Writer does not, so w
	// stays open as documented.
	fw, err := file.NewParquetWriterWithError(bw, pqSchema.Root(),
		file.WithWriterProps(props), file.WithWriteMetadata(meta))
	if err != nil {
		return nil, fmt.Errorf("parquet writer: start file: %w", err)
	}
	columns := make([]columnEncoder, s.NumFields())
	for i, f := range s.Fields() {
		columns[i] = columnEncoder{
			ctx:      pqarrow.NewArrowWriteContext(context.Background(), &arrowProps),
			nullable: f.Nullable,
		}
	}
	return &parquetWriter{fw: fw, bw: bw, schema: s, groupRows: opts.RowGroupRows, columns: columns}, nil
}

// parquetProperties are the writer properties for opts, whose defaults are set: the codec,
// dictionaries, decimals as integers, the row group size and a created_by without a time or host.
func parquetProperties(opts WriteOptions) (*parquet.WriterProperties, error) {
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
	return parquet.NewWriterProperties(
		parquet.WithCompression(codec),
		parquet.WithDictionaryDefault(true),
		parquet.WithStoreDecimalAsInteger(true),
		parquet.WithMaxRowGroupLength(opts.RowGroupRows),
		// The default names the library and its version only; set it explicitly so that no
		// future default can bring a time or a host into the footer.
		parquet.WithCreatedBy(parquet.DefaultCreatedBy),
	), nil
}

// parquetFileMetadata is the footer's key-value metadata: the schema's own, then the Arrow
// schema serialized as Arrow IPC in base64 under ARROW:schema, where Arrow readers look for it.
// Only flat schemas are written, so the Arrow schema needs none of the renaming that nested
// columns get in Parquet.
func parquetFileMetadata(s *arrow.Schema) (metadata.KeyValueMetadata, error) {
	meta := metadata.KeyValueMetadata{}
	for i, k := range s.Metadata().Keys() {
		if err := meta.Append(k, s.Metadata().Values()[i]); err != nil {
			return nil, fmt.Errorf("parquet writer: schema metadata %q: %w", k, err)
		}
	}
	var ipcSchema bytes.Buffer
	iw := ipc.NewWriter(&ipcSchema, ipc.WithSchema(s))
	if err := iw.Close(); err != nil {
		return nil, fmt.Errorf("parquet writer: serialize schema %s: %w", s, err)
	}
	if err := meta.Append("ARROW:schema", base64.StdEncoding.EncodeToString(ipcSchema.Bytes())); err != nil {
		return nil, fmt.Errorf("parquet writer: store schema: %w", err)
	}
	return meta, nil
}

// parquetWriter cuts the rows it is given into row groups of groupRows rows. The open row
// group is buffered in memory, each column chunk in its own page buffers, so the columns of a
// batch are encoded and compressed at the same time on their own goroutines; the row group is
// written out when it is full. Only one row group is ever held.
type parquetWriter struct {
	fw        *file.Writer
	bw        *bufio.Writer
	schema    *arrow.Schema
	groupRows int64
	columns   []columnEncoder
	group     file.BufferedRowGroupWriter // the open row group, nil before the first row
	inGroup   int64                       // rows in the open row group
	err       error
	closed    bool
}

// columnEncoder is what one column's goroutine owns while it encodes: pqarrow's write context
// (its scratch buffer) and the definition levels of a nullable column.
type columnEncoder struct {
	ctx       context.Context
	nullable  bool
	defLevels []int16
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
		if p.group == nil || p.inGroup == p.groupRows {
			// Appending a row group writes out the one before it.
			group, err := p.fw.AppendBufferedRowGroupChecked()
			if err != nil {
				return p.fail(fmt.Errorf("parquet writer: start row group %d: %w", p.fw.NumRowGroups(), err))
			}
			p.group, p.inGroup = group, 0
		}
		n := min(rows-off, p.groupRows-p.inGroup)
		part := rec
		if off != 0 || n != rows {
			part = rec.NewSlice(off, off+n)
		}
		err := p.encode(part)
		if part != rec {
			part.Release()
		}
		if err != nil {
			return p.fail(err)
		}
		p.inGroup += n
		off += n
	}
	return nil
}

// encode appends the rows of rec, which fit, to the open row group, each column on its own
// goroutine (at most GOMAXPROCS at a time).
func (p *parquetWriter) encode(rec arrow.RecordBatch) error {
	var g errgroup.Group
	g.SetLimit(runtime.GOMAXPROCS(0))
	for i := range p.columns {
		g.Go(func() error {
			cw, err := p.group.Column(i)
			if err == nil {
				err = p.columns[i].write(cw, rec.Column(i))
			}
			if err != nil {
				return fmt.Errorf("parquet writer: column %q: %w", p.schema.Field(i).Name, err)
			}
			return nil
		})
	}
	return g.Wait()
}

// write encodes arr into the column chunk of cw.
func (c *columnEncoder) write(cw file.ColumnChunkWriter, arr arrow.Array) error {
	var defLevels []int16
	if c.nullable {
		// A flat optional column is defined (level 1) where the value is not null.
		defLevels = slices.Grow(c.defLevels[:0], arr.Len())[:arr.Len()]
		for j := range defLevels {
			defLevels[j] = 0
			if arr.IsValid(j) {
				defLevels[j] = 1
			}
		}
		c.defLevels = defLevels
	}
	return pqarrow.WriteArrowToColumn(c.ctx, cw, arr, defLevels, nil, c.nullable)
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

// fail makes err the writer's lasting error.
func (p *parquetWriter) fail(err error) error {
	p.err = err
	return err
}
