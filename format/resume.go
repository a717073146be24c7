package format

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/apache/arrow-go/v18/arrow"
)

// OpenAt opens one file like Open, placed at pos, a Position that a reader of the same file
// (and, for Parquet, of the same opts.RowGroups) returned: the first Read yields the record
// that reader's next Read would have yielded, and positions, line numbers and dead letters go
// on as that reader's would. A zero Position, or one with only File set, is the start of the
// file. pos.File, when set, must be path.
//
// A text file is placed at pos.Offset, a byte offset of its decompressed stream, numbered as
// line pos.Line, or, when pos.Line is 0 (a JSONL file only), as the line it is there, which
// an uncompressed file counts only when a line number is first asked for (a reader of a byte
// range gives such positions). An uncompressed file is seeked there, at no cost. With
// opts.Bytes the offset must start a line in the range, or be where the range's reader ends.
// A compressed file cannot be seeked: it is decompressed from its start and the bytes before
// the offset are discarded, which costs as much decompression as reading them did, though no
// decoding into rows. A CSV file's header line is read again first. The offset must start a
// line (or be the end of the stream); a compressed file, read through anyway, is also checked
// to have pos.Line-1 lines before it (when pos.Line is set).
//
// A text position where the file was found damaged (pos.Damaged) places a reader that has
// ended: the damage was reported once, as a dead letter, and is not read again.
//
// A Parquet file is placed at row group pos.RowGroup, row pos.Row. Row groups before it are
// not read at all; the rows of its row group before pos.Row are decoded and dropped. The row
// group must lie in opts.RowGroups (when its end is set), and the row within the row group.
//
// BytesRead goes on from where the position stands in the file as stored: an uncompressed
// text reader counts from pos.Offset (less opts.Bytes[0], for a byte range), a compressed one
// counts the compressed bytes it consumed to reach it, and a Parquet reader counts from the
// column chunks of the row groups of opts.RowGroups before pos.RowGroup, as if it had read
// them. So it still grows to about the size of its input by io.EOF.
func OpenAt(path string, kind Kind, s *arrow.Schema, opts ReadOptions, pos Position) (Reader, error) {
	if pos.File != "" && pos.File != path {
		return nil, fmt.Errorf("open %q at a position of %q", path, pos.File)
	}
	kind, codec, err := resolveKind(path, kind)
	if err != nil {
		return nil, err
	}
	if kind == Parquet {
		return openParquetAt(path, s, opts, pos)
	}
	if pos.Damaged {
		return openSpent(path, pos)
	}
	if pos.RowGroup != 0 || pos.Row != 0 {
		return nil, fmt.Errorf("open %q: row group %d, row %d is a Parquet position, and the file is %s", path, pos.RowGroup, pos.Row, kind)
	}
	if pos.Offset == 0 && pos.Line <= 1 {
		return Open(path, kind, s, opts)
	}
	if pos.Offset <= 0 || pos.Line == 1 || pos.Line < 0 {
		return nil, fmt.Errorf("open %q at byte %d, line %d: not a position in a file (a line after the first starts past byte 0)", path, pos.Offset, pos.Line)
	}
	rd, d, err := openText(path, kind, codec, s, opts)
	if err != nil {
		return nil, err
	}
	if err := seekText(rd, d, pos); err != nil {
		return nil, errors.Join(fmt.Errorf("open %q at line %d (byte %d): %w", path, pos.Line, pos.Offset, err), rd.Close())
	}
	return rd, nil
}

// seekText places a text reader just opened (a CSV one past its header) at pos.
func seekText(rd Reader, d *decompressor, pos Position) error {
	var lr *lineReader
	var from int64 // the first byte of the reader's byte range
	switch r := rd.(type) {
	case *jsonlReader:
		lr, from = r.lines, r.opts.Bytes[0]
	case *csvReader:
		if pos.Line == 0 {
			return errors.New("a CSV position names its line (only a JSONL byte range's may leave it out)")
		}
		lr = r.lines
		defer func() { r.next = lineRef{line: lr.line, start: lr.offset, end: lr.offset} }()
	default:
		return fmt.Errorf("a %T cannot be placed at a byte offset", rd)
	}
	if pos.Offset < lr.offset {
		if lr.end > 0 {
			return fmt.Errorf("the position is before the byte range's first line, at byte %d", lr.offset)
		}
		return fmt.Errorf("the position is inside the header, which ends at byte %d", lr.offset)
	}
	if lr.end > 0 {
		return seekRange(lr, d, pos, from)
	}
	if d.codec == NoCodec {
		return seekFile(lr, d, pos, 0)
	}
	return discardTo(lr, pos)
}

// seekRange places lr, reading a byte range of the uncompressed file of d, at pos: a line
// that starts in the range [from, lr.end), or where the range's reader ends.
func seekRange(lr *lineReader, d *decompressor, pos Position, from int64) error {
	if pos.Offset >= lr.end {
		end, err := rangeStart(d.f, lr.end)
		if err != nil {
			return err
		}
		if pos.Offset != end {
			return fmt.Errorf("the position is past the byte range's last line, which ends at byte %d", end)
		}
	}
	return seekFile(lr, d, pos, from)
}

// seekFile places lr, reading the uncompressed file of d, at pos by seeking the file; the
// file's byte count starts at byte from.
func seekFile(lr *lineReader, d *decompressor, pos Position, from int64) error {
	st, err := d.f.Stat()
	if err != nil {
		return err
	}
	if pos.Offset > st.Size() {
		return fmt.Errorf("the position is past the end of the file (%d bytes)", st.Size())
	}
	if pos.Offset < st.Size() {
		var b [1]byte
		if _, err := d.f.ReadAt(b[:], pos.Offset-1); err != nil {
			return err
		}
		if b[0] != '\n' {
			return fmt.Errorf("byte %d does not start a line", pos.Offset)
		}
	}
	return placeFile(lr, d, pos.Offset, pos.Line, pos.Offset-from)
}

// discardTo places lr at pos by reading on and dropping the bytes before pos.Offset, counting
// their lines to check pos.Line.
func discardTo(lr *lineReader, pos Position) error {
	lines, last := lr.line, byte('\n')
	for left := pos.Offset - lr.offset; left > 0; {
		b, err := lr.br.Peek(int(min(left, int64(lr.br.Size()))))
		if len(b) > 0 {
			lines += int64(bytes.Count(b, []byte{'\n'}))
			last = b[len(b)-1]
			if _, derr := lr.br.Discard(len(b)); derr != nil {
				return derr
			}
			left -= int64(len(b))
		}
		if left > 0 && err == io.EOF {
			return fmt.Errorf("the position is past the end of the decompressed stream (%d bytes)", pos.Offset-left)
		}
		if left > 0 && err != nil {
			return err
		}
	}
	if last != '\n' {
		// Only the end of a stream whose last line has no line break may follow another byte.
		if _, err := lr.br.Peek(1); err != io.EOF {
			if err != nil {
				return err
			}
			return fmt.Errorf("byte %d does not start a line", pos.Offset)
		}
		lines++
	}
	if pos.Line > 0 && lines != pos.Line-1 {
		return fmt.Errorf("byte %d starts line %d, not line %d", pos.Offset, lines+1, pos.Line)
	}
	lr.offset, lr.line = pos.Offset, lines
	return nil
}

// openParquetAt opens a Parquet file at row group pos.RowGroup, row pos.Row.
func openParquetAt(path string, s *arrow.Schema, opts ReadOptions, pos Position) (Reader, error) {
	if pos.Offset != 0 || pos.Line != 0 {
		return nil, fmt.Errorf("open parquet %q: byte %d, line %d is a text position", path, pos.Offset, pos.Line)
	}
	r, err := openParquet(path, s, opts)
	if errors.Is(err, ErrDamaged) && !opts.FailOnDamage {
		d, derr := newDamagedParquet(path, opts, err)
		if derr != nil {
			return nil, derr
		}
		d.done = pos.RowGroup > d.first || pos.Row > 0
		return d, nil
	}
	if err != nil {
		return nil, err
	}
	if err := r.seek(pos.RowGroup, pos.Row); err != nil {
		return nil, errors.Join(fmt.Errorf("open parquet %q at row group %d, row %d: %w", path, pos.RowGroup, pos.Row, err), r.Close())
	}
	return r, nil
}

// seek places a reader just opened at row row of row group g, which must lie in its range.
func (r *parquetReader) seek(g int, row int64) (err error) {
	first, end := r.opts.RowGroups[0], r.endRowGroup()
	switch {
	case g < first || g > end:
		return fmt.Errorf("the reader reads row groups [%d, %d)", first, end)
	case row < 0:
		return errors.New("a negative row")
	case row > 0 && g == end:
		return fmt.Errorf("row group %d is past the reader's last", g)
	case row > 0 && row >= r.pf.MetaData().RowGroup(g).NumRows():
		return fmt.Errorf("row group %d has %d rows", g, r.pf.MetaData().RowGroup(g).NumRows())
	}
	var skipped int64
	for k := first; k < g; k++ {
		n, err := r.chunkBytes(k)
		if err != nil {
			return err
		}
		skipped += n
	}
	r.in.n.Store(skipped)
	r.rowGroup = g
	if row == 0 {
		return nil
	}
	defer func() {
		if p := recover(); p != nil {
			r.closeRowGroup()
			err = fmt.Errorf("damaged file: %v", p)
		}
	}()
	if err := r.openRowGroup(); err != nil {
		return err
	}
	for r.row < row {
		n := min(int64(r.opts.BatchRows), row-r.row)
		for i, cr := range r.readers {
			if cr == nil {
				continue
			}
			a, err := cr.next(int(n), r.opts.Mem)
			if err != nil {
				return fmt.Errorf("column %q: skip rows: %w", r.cols[i].field.Name, err)
			}
			a.Release()
		}
		r.row += n
	}
	return nil
}

// chunkBytes is the compressed size of the column chunks the reader reads in row group g.
func (r *parquetReader) chunkBytes(g int) (int64, error) {
	rg := r.pf.MetaData().RowGroup(g)
	var n int64
	for _, c := range r.cols {
		for leaf := range c.leaves {
			cc, err := rg.ColumnChunk(leaf)
			if err != nil {
				return 0, fmt.Errorf("row group %d: %w", g, err)
			}
			n += cc.TotalCompressedSize()
		}
	}
	return n, nil
}
