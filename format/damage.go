package format

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/apache/arrow-go/v18/arrow"
)

// A compressed text file may be decodable only up to a point: a truncated .gz ends in the
// middle of a deflate block, a flipped byte breaks a block or the trailing checksum. The rows
// before that point are good, the rest of the file cannot be read at all. Unless
// ReadOptions.FailOnDamage is set, a text reader keeps the rows before the point, turns the
// bytes from the start of the record it was in to where decoding stopped into one DeadLetter
// that says so, and ends as if the file ended there. A Parquet reader does the same with a
// row group it cannot decode (see parquetReader.Read) and goes on with the next row group.

// ErrDamaged is what errors.Is finds in the error of opening a Parquet file whose footer cannot
// be read (truncated, overwritten, or not Parquet at all): its content is damaged, as opposed
// to a file that cannot be opened or a schema that does not match.
var ErrDamaged = errors.New("format: damaged input")

// footerError is the failure to read a Parquet file's footer.
type footerError struct{ err error }

func (e *footerError) Error() string        { return e.err.Error() }
func (e *footerError) Unwrap() error        { return e.err }
func (e *footerError) Is(target error) bool { return target == ErrDamaged }

// damagedParquet reads a Parquet file whose footer cannot be read: the whole file, or the
// split of it the reader was to read, is one dead letter at its first row group.
type damagedParquet struct {
	path   string
	reason string
	first  int // the first row group of the split
	done   bool
	size   int64
}

func newDamagedParquet(path string, opts ReadOptions, err error) (*damagedParquet, error) {
	st, serr := os.Stat(path)
	if serr != nil {
		return nil, fmt.Errorf("open parquet %q: %w", path, serr)
	}
	return damagedParquetOf(path, st.Size(), opts, err), nil
}

// damagedParquetOf is the reader of a file of size bytes whose footer failed with err.
func damagedParquetOf(path string, size int64, opts ReadOptions, err error) *damagedParquet {
	var fe *footerError
	if errors.As(err, &fe) {
		err = fe // without the file's name, which the dead letter has
	}
	return &damagedParquet{path: path, first: opts.RowGroups[0], size: size,
		reason: fmt.Sprintf("the file cannot be read: %v; none of its rows are read", err)}
}

func (d *damagedParquet) Read() (arrow.RecordBatch, []DeadLetter, error) {
	if d.done {
		return nil, nil, io.EOF
	}
	d.done = true
	return nil, []DeadLetter{{File: d.path, RowGroup: d.first, Reason: d.reason}}, nil
}

// Position is the split's first row group until the dead letter is read, the one after it
// since: OpenAt there places a reader that has ended.
func (d *damagedParquet) Position() Position {
	if d.done {
		return Position{File: d.path, RowGroup: d.first + 1}
	}
	return Position{File: d.path, RowGroup: d.first}
}

// BytesRead is the file's size once the dead letter is read, as if it had been read.
func (d *damagedParquet) BytesRead() int64 {
	if d.done {
		return d.size
	}
	return 0
}

func (d *damagedParquet) Close() error { return nil }

// damageError is a codec's failure to decode its stream past a point, as opposed to a failure
// to read the file's bytes, which stays an error of the read.
type damageError struct {
	codec Codec
	err   error
	read  int64 // bytes of the file as stored read when decoding stopped
}

func (e *damageError) Error() string {
	return fmt.Sprintf("%s stream is damaged: %v", e.codec.name(), e.err)
}
func (e *damageError) Unwrap() error { return e.err }

// name is the codec's name as messages give it.
func (c Codec) name() string {
	switch c {
	case Gzip:
		return "gzip"
	case ZstdRaw:
		return "zstd"
	}
	return "uncompressed"
}

// codecReader reads a codec's output and marks its errors that did not come from reading the
// file as damage. The rest of a damaged file is skipped, so its bytes count as read then:
// BytesRead still ends at the file's size.
type codecReader struct {
	r     io.Reader
	codec Codec
	f     *os.File
	file  *countingReader
}

func (c *codecReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if err != nil && err != io.EOF && !c.file.failed.Load() {
		err = skipRest(c.f, c.file, &damageError{codec: c.codec, err: err})
	}
	return n, err
}

// skipRest notes in damage how much of the file was read, and counts the whole file as read.
func skipRest(f *os.File, counted *countingReader, damage *damageError) *damageError {
	damage.read = counted.n.Load()
	if st, err := f.Stat(); err == nil && st.Size() > damage.read {
		counted.n.Store(st.Size())
	}
	return damage
}

// damagedInput is the input of a compressed file whose header cannot be decoded: reading it
// yields the damage at once, so the reader over it makes the whole file one dead letter.
type damagedInput struct{ err error }

func (d damagedInput) Read([]byte) (int, error) { return 0, d.err }

// streamDamage is where a text reader found its input damaged: the record that was being read
// when decoding stopped, and why.
type streamDamage struct {
	line  int64  // the line where the cut record starts
	start int64  // the byte of the decompressed stream where it starts
	end   int64  // the byte where decoding stopped
	raw   []byte // the record's bytes up to there, at most MaxRecordBytes of them
	err   *damageError
}

func (d *streamDamage) Error() string {
	return fmt.Sprintf("read line %d: %v (decoding stopped at byte %d of the decompressed data)", d.line, d.err, d.end)
}

func (d *streamDamage) Unwrap() error { return d.err }

// deadLetter makes the damage the dead letter of file name.
func (d *streamDamage) deadLetter(name string) DeadLetter {
	return DeadLetter{File: name, Line: d.line, Offset: d.start, RowGroup: -1, Raw: d.raw, Reason: d.reason()}
}

// reason says what was lost and why, as a dead letter's reason.
func (d *streamDamage) reason() string {
	return fmt.Sprintf("%s stream cannot be decoded past byte %d of its data (%d bytes of the file read): %v; "+
		"bytes %d-%d (from line %d) are this record, the rest of the file is not read",
		d.err.codec.name(), d.end, d.err.read, d.err.err, d.start, d.end, d.line)
}

// spentReader is a text reader placed at the point where its file was found damaged: there is
// nothing more to read. It reports the file's whole size as read, as a reader that reached
// the end would.
type spentReader struct {
	pos  Position
	size int64
}

func openSpent(path string, pos Position) (Reader, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("open %q at its damage (line %d): %w", path, pos.Line, err)
	}
	return &spentReader{pos: pos, size: st.Size()}, nil
}

func (s *spentReader) Read() (arrow.RecordBatch, []DeadLetter, error) { return nil, nil, io.EOF }
func (s *spentReader) Position() Position                             { return s.pos }
func (s *spentReader) BytesRead() int64                               { return s.size }
func (s *spentReader) Close() error                                   { return nil }
