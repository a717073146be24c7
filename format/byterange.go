package format

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
)

// A byte range of an uncompressed JSONL file (ReadOptions.Bytes) is read as the lines that
// start inside it: a line starts at byte 0 or after a line break, and belongs to the range
// holding its first byte. A reader of range [from, to) so begins after the first line break
// at or after byte from-1 and ends with the line that holds byte to-1, read to its end
// wherever that is. Ranges that tile a file read each of its lines exactly once; a range
// inside one long line reads nothing.
//
//	file   |line 1.......\n|line 2...\n|line 3..........\n|line 4\n|
//	ranges [from ------------ to)[from -------- to)[from ------- to)
//	reads  |line 1, line 2       |line 3                  |line 4
//
// Such a reader does not know the number of its first line. It counts the lines before it
// only when a line number is asked for (a dead letter, the line of a row, an error), once,
// so that a read without any pays nothing for them.

// rangeStart is the first byte at or after from that starts a line of f, or the size of f
// when no line starts there.
func rangeStart(f *os.File, from int64) (int64, error) {
	if from <= 0 {
		return 0, nil
	}
	buf := make([]byte, 64<<10)
	for at := from - 1; ; {
		n, err := f.ReadAt(buf, at)
		if i := bytes.IndexByte(buf[:n], '\n'); i >= 0 {
			return at + int64(i) + 1, nil
		}
		at += int64(n)
		if errors.Is(err, io.EOF) {
			return at, nil
		}
		if err != nil {
			return 0, fmt.Errorf("find the first line after byte %d: %w", from, err)
		}
	}
}

// linesBefore counts the lines of a file before a byte offset that starts a line, once and
// when first asked: a reader placed there without the number of the line numbers its lines
// from it.
type linesBefore struct {
	f      *os.File
	offset int64
	n      int64
	err    error
	done   bool
}

// count is the number of lines before the offset.
func (lb *linesBefore) count() (int64, error) {
	if !lb.done {
		lb.n, lb.err = countLines(lb.f, lb.offset)
		lb.done = true
	}
	return lb.n, lb.err
}

// countLines counts the line breaks of f before offset. It reads with ReadAt, so the file's
// own read position stays where its reader left it.
func countLines(f *os.File, offset int64) (int64, error) {
	buf := make([]byte, 1<<20)
	var lines int64
	for at := int64(0); at < offset; {
		n, err := f.ReadAt(buf[:min(int64(len(buf)), offset-at)], at)
		lines += int64(bytes.Count(buf[:n], []byte{'\n'}))
		at += int64(n)
		if err != nil && at < offset {
			return 0, fmt.Errorf("count the lines before byte %d: %w", offset, err)
		}
	}
	return lines, nil
}

// placeFile places lr, reading the uncompressed file of d, at offset, which starts line (0
// when its number is not known: lr then counts the lines before offset when a line number
// is first asked for). counted is what the file's byte count says there.
func placeFile(lr *lineReader, d *decompressor, offset, line, counted int64) error {
	if _, err := d.f.Seek(offset, io.SeekStart); err != nil {
		return err
	}
	lr.br.Reset(d)
	d.file.n.Store(counted)
	lr.offset, lr.err, lr.before = offset, nil, nil
	switch {
	case line > 0:
		lr.line = line - 1
	case offset == 0:
		lr.line = 0
	default:
		lr.line, lr.before = 0, &linesBefore{f: d.f, offset: offset}
	}
	return nil
}

// placeRange places the reader of an uncompressed JSONL file just opened at the first line
// of its byte range, opts.Bytes.
func placeRange(rd Reader, d *decompressor, path string, kind Kind, opts ReadOptions) error {
	jr, ok := rd.(*jsonlReader)
	if !ok || d.codec != NoCodec {
		return fmt.Errorf("open %q: only an uncompressed JSONL file is read by byte ranges (a CSV record may span lines, a compressed stream cannot be entered midway), not %s%s", path, kind, codecSuffix(d.codec))
	}
	from, to := opts.Bytes[0], opts.Bytes[1]
	if from < 0 || from >= to {
		return fmt.Errorf("open %q: byte range [%d, %d) is empty", path, from, to)
	}
	start, err := rangeStart(d.f, from)
	if err != nil {
		return fmt.Errorf("open %q: %w", path, err)
	}
	jr.lines.end = to
	return placeFile(jr.lines, d, start, 0, start-from)
}

// codecSuffix is how a file name ends for codec, " .gz" for gzip, "" for none.
func codecSuffix(c Codec) string {
	if c == NoCodec {
		return ""
	}
	return " ." + string(c)
}
