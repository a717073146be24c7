package format

import (
	"bufio"
	"errors"
	"fmt"
	"io"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// parquetWriteBuffer is the buffer between the page writer and the caller's io.Writer: the page
// writer makes many small writes (headers, then bodies).
const parquetWriteBuffer = 1 << 20

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

// fail makes err the writer's lasting error.
func (p *parquetWriter) fail(err error) error {
	p.err = err
	return err
}
