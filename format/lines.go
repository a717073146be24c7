package format

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// lineReader yields the lines of a text input with their line numbers and byte offsets,
// without the line break (`\n` or `\r\n`). A line longer than max comes back cut to its first
// max bytes with tooLong set; the rest of it is skipped.
//
// A reader placed inside a file without the number of the line there (a byte range, see
// byterange.go) counts line from where it was placed, and number gives the file's own.
type lineReader struct {
	br      *bufio.Reader
	max     int
	long    []byte // assembles lines longer than the read buffer
	line    int64  // number of the line last returned, counted from before when it is set
	offset  int64  // offset of the byte after the line last returned
	start   int64  // offset where the line last returned started
	end     int64  // when positive, no line starting at or past it is read
	before  *linesBefore
	tooLong bool
	err     error
	damaged bool // the input was found damaged after the line last returned
}

func newLineReader(r io.Reader, max int) *lineReader {
	return &lineReader{br: bufio.NewReaderSize(r, 1<<20), max: max}
}

// next returns the next line, valid until the following call, or io.EOF.
func (lr *lineReader) next() ([]byte, error) {
	if lr.err != nil {
		return nil, lr.err
	}
	if lr.end > 0 && lr.offset >= lr.end {
		lr.err = io.EOF
		return nil, io.EOF
	}
	lr.start = lr.offset
	lr.tooLong = false
	b, err := lr.br.ReadSlice('\n')
	n := int64(len(b))
	if errors.Is(err, bufio.ErrBufferFull) {
		lr.long = append(lr.long[:0], b...)
		for errors.Is(err, bufio.ErrBufferFull) {
			b, err = lr.br.ReadSlice('\n')
			n += int64(len(b))
			if room := lr.max - len(lr.long); room > 0 {
				lr.long = append(lr.long, b[:min(room, len(b))]...)
			} else {
				lr.tooLong = true
			}
		}
		b = lr.long
	}
	if err != nil && err != io.EOF {
		var damage *damageError
		if errors.As(err, &damage) {
			lr.err, lr.damaged = io.EOF, true
			raw := b
			if len(raw) > lr.max {
				raw = raw[:lr.max]
			}
			return nil, &streamDamage{line: lr.line + 1, start: lr.offset, end: lr.offset + n,
				raw: bytes.Clone(raw), err: damage}
		}
		lr.err = fmt.Errorf("read %s: %w", lr.name(lr.line+1), err)
		return nil, lr.err
	}
	if n == 0 {
		lr.err = io.EOF
		return nil, io.EOF
	}
	if lr.start == 0 {
		b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf")) // a UTF-8 byte order mark
	}
	lr.line++
	lr.offset += n
	b = bytes.TrimSuffix(b, []byte("\n"))
	b = bytes.TrimSuffix(b, []byte("\r"))
	if len(b) > lr.max {
		b, lr.tooLong = b[:lr.max], true
	}
	return b, nil
}

// number is the file's own number of line n as lr counts it. It counts the lines before
// where lr was placed the first time a reader placed without a line number asks.
func (lr *lineReader) number(n int64) (int64, error) {
	if lr.before == nil {
		return n, nil
	}
	before, err := lr.before.count()
	return before + n, err
}

// known is the file's own number of line n as lr counts it, or 0 when lr has not counted
// the lines before where it was placed.
func (lr *lineReader) known(n int64) int64 {
	if lr.before != nil && (!lr.before.done || lr.before.err != nil) {
		return 0
	}
	n, _ = lr.number(n)
	return n
}

// name names line n as lr counts it for an error message: by its number in the file, or
// by the byte where the reader stands when the lines before it cannot be counted.
func (lr *lineReader) name(n int64) string {
	if line, err := lr.number(n); err == nil {
		return fmt.Sprintf("line %d", line)
	}
	return fmt.Sprintf("at byte %d", lr.offset)
}

func isBlank(b []byte) bool {
	for _, c := range b {
		if c != ' ' && c != '\t' && c != '\r' {
			return false
		}
	}
	return true
}
