package format

import (
	"errors"
	"fmt"
	"io"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
)

// NewJSONLReader decodes r, named name in positions and dead letters, as JSON Lines: one JSON
// object per line whose keys are column names of s. Keys outside the schema are skipped;
// a nullable column missing from a record is null; a required one makes the record a dead
// letter, as does any value that does not fit its column's type.
//
// Strings are parsed into any column type from their text, so `"amount": "12.50"` and
// `"ts": "2024-03-01T12:00:00+01:00"` work as well as `"amount": 12.50` and
// `"ts": 1709290800000` (epoch milliseconds). A timestamp without an offset
// (`"2026-03-02 00:00:01.494"`) is a wall-clock time in opts.Zone.
func NewJSONLReader(r io.Reader, name string, s *arrow.Schema, opts ReadOptions) (Reader, error) {
	opts = opts.withDefaults()
	rb, err := newRowBuilder(JSONL, s, opts.BatchRows, opts.Zone)
	if err != nil {
		return nil, err
	}
	in, counted := countedInput(r)
	jr := &jsonlReader{
		name:    name,
		opts:    opts,
		lines:   newLineReader(in, opts.MaxRecordBytes),
		counted: counted,
		rb:      rb,
		index:   make(map[string]int, s.NumFields()),
	}
	for i, c := range rb.cols {
		jr.index[c.name] = i
	}
	if c, ok := r.(io.Closer); ok {
		jr.closer = c
	}
	return jr, nil
}

type jsonlReader struct {
	name    string
	opts    ReadOptions
	lines   *lineReader
	counted *countingReader // the input's bytes, as stored
	rb      *rowBuilder
	index   map[string]int
	closer  io.Closer
	key     []byte // scratch for keys with escapes
	str     []byte // scratch for values with escapes
	done    bool
	// numbered says the lines of the last batch are the file's own numbers, not counted
	// from where a byte range's reader was placed.
	numbered bool
}

// Lines gives the input line of each row of the batch the last Read returned. A reader of
// a byte range counts the lines before its range the first time it is asked.
func (jr *jsonlReader) Lines() ([]int64, error) {
	lines := jr.rb.batchLines
	if jr.numbered || jr.lines.before == nil {
		return lines, nil
	}
	before, err := jr.lines.before.count()
	if err != nil {
		return nil, fmt.Errorf("jsonl %q: %w", jr.name, err)
	}
	for i := range lines {
		lines[i] += before
	}
	jr.numbered = true
	return lines, nil
}

// BytesRead is how many bytes of its input, as stored, the reader has consumed. A reader of
// a byte range counts from the range's start and at most the range's length, which it has
// read by io.EOF (its last line ends at or past the range's end).
func (jr *jsonlReader) BytesRead() int64 {
	n := jr.counted.n.Load()
	if r := jr.opts.Bytes; r[1] > 0 {
		return min(n, r[1]-r[0])
	}
	return n
}

func (jr *jsonlReader) Position() Position {
	return Position{File: jr.name, Offset: jr.lines.offset, Line: jr.lines.known(jr.lines.line + 1), Damaged: jr.lines.damaged}
}

func (jr *jsonlReader) Close() error {
	if jr.closer != nil {
		return jr.closer.Close()
	}
	return nil
}

func (jr *jsonlReader) Read() (arrow.RecordBatch, []DeadLetter, error) {
	if jr.done {
		return nil, nil, io.EOF
	}
	jr.numbered = false
	var dead []DeadLetter
	for n := 0; n < jr.opts.BatchRows; {
		line, err := jr.lines.next()
		if err == io.EOF {
			jr.done = true
			break
		}
		var damage *streamDamage
		if errors.As(err, &damage) && !jr.opts.FailOnDamage {
			dead = append(dead, damage.deadLetter(jr.name))
			jr.done = true
			break
		}
		if err != nil {
			return nil, nil, fmt.Errorf("jsonl %q: %w", jr.name, err)
		}
		if isBlank(line) {
			continue
		}
		n++
		var reason error
		if jr.lines.tooLong {
			reason = fmt.Errorf("record longer than %d bytes (first bytes kept)", jr.opts.MaxRecordBytes)
		} else {
			jr.rb.line = jr.lines.line
			reason = jr.decode(line)
		}
		if reason != nil {
			at, err := jr.lines.number(jr.lines.line)
			if err != nil {
				return nil, nil, fmt.Errorf("jsonl %q: %w", jr.name, err)
			}
			dead = append(dead, DeadLetter{File: jr.name, Line: at, Offset: jr.lines.start,
				RowGroup: -1, Raw: append([]byte(nil), line...), Reason: reason.Error()})
		}
	}
	rec := jr.rb.batch()
	if rec == nil && len(dead) == 0 {
		return nil, nil, io.EOF
	}
	return rec, dead, nil
}

// decode parses one line into the batch being built, or says why it cannot and leaves the
// batch as it was.
func (jr *jsonlReader) decode(p []byte) error {
	if err := jr.parse(p); err != nil {
		jr.rb.rollback()
		return err
	}
	return nil
}

func (jr *jsonlReader) parse(p []byte) error {
	rb := jr.rb
	i := skipSpace(p, 0)
	if i >= len(p) || p[i] != '{' {
		return errors.New("not a JSON object")
	}
	i = skipSpace(p, i+1)
	next := 0 // the column expected next: producers keep their key order
	if i < len(p) && p[i] == '}' {
		i++
	} else {
		for {
			if i >= len(p) || p[i] != '"' {
				return errAt(p, i, "expected a key in quotes")
			}
			key, j, err := jr.readKey(p, i)
			if err != nil {
				return err
			}
			col := -1
			if next < len(rb.cols) && string(key) == rb.cols[next].name {
				col = next
			} else if c, ok := jr.index[string(key)]; ok {
				col = c
			}
			i = skipSpace(p, j)
			if i >= len(p) || p[i] != ':' {
				return errAt(p, i, "expected : after a key")
			}
			i = skipSpace(p, i+1)
			if col < 0 {
				if i, err = skipValue(p, i); err != nil {
					return err
				}
			} else {
				if rb.isSet(col) {
					return fmt.Errorf("%s: key appears twice", rb.cols[col].name)
				}
				if i, err = jr.value(p, i, col); err != nil {
					return err
				}
				next = col + 1
			}
			i = skipSpace(p, i)
			if i < len(p) && p[i] == ',' {
				i = skipSpace(p, i+1)
				continue
			}
			if i < len(p) && p[i] == '}' {
				i++
				break
			}
			return errAt(p, i, "expected , or } after a value")
		}
	}
	if i = skipSpace(p, i); i < len(p) {
		return errAt(p, i, "text after the object")
	}
	return rb.endRow()
}

// value decodes the JSON value at p[i] into column col and returns the index after it.
func (jr *jsonlReader) value(p []byte, i, col int) (int, error) {
	rb := jr.rb
	if i >= len(p) {
		return 0, errAt(p, i, rb.cols[col].name+": expected a value")
	}
	switch c := p[i]; {
	case c == '"':
		s, end, err := readString(p, i, &jr.str)
		if err != nil {
			return 0, fmt.Errorf("%s: %w", rb.cols[col].name, err)
		}
		return end, rb.setText(col, s)
	case c == '-' || (c >= '0' && c <= '9'):
		end := numberEnd(p, i)
		if !validNumber(p[i:end]) {
			return 0, fmt.Errorf("%s: %q is not a JSON number", rb.cols[col].name, p[i:end])
		}
		return end, rb.setNumber(col, p[i:end])
	case hasLiteral(p, i, "null"):
		return i + 4, rb.setNull(col)
	case hasLiteral(p, i, "true"):
		return i + 4, rb.setBool(col, true)
	case hasLiteral(p, i, "false"):
		return i + 5, rb.setBool(col, false)
	case c == '{' || c == '[':
		what := map[byte]string{'{': "an object", '[': "an array"}[c]
		return 0, fmt.Errorf("%s: expected %s, found %s", rb.cols[col].name, rb.cols[col].kind, what)
	}
	return 0, errAt(p, i, rb.cols[col].name+": not a JSON value")
}

// readKey reads the key string at p[i].
func (jr *jsonlReader) readKey(p []byte, i int) ([]byte, int, error) {
	k, end, err := readString(p, i, &jr.key)
	if err != nil {
		return nil, 0, fmt.Errorf("key: %w", err)
	}
	return k, end, nil
}

// errAt describes a syntax error at p[i], showing what stands there.
func errAt(p []byte, i int, what string) error {
	if i >= len(p) {
		return fmt.Errorf("%s, found the end of the line (truncated record?)", what)
	}
	r, _ := utf8.DecodeRune(p[i:])
	return fmt.Errorf("%s, found %q at byte %d", what, r, i+1)
}

func skipSpace(p []byte, i int) int {
	for i < len(p) && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r') {
		i++
	}
	return i
}

func hasLiteral(p []byte, i int, lit string) bool {
	return len(p)-i >= len(lit) && string(p[i:i+len(lit)]) == lit
}

// readString reads the JSON string starting with the quote at p[i]. Without escapes the
// result points into p; with them it is unescaped into *scratch.
func readString(p []byte, i int, scratch *[]byte) ([]byte, int, error) {
	start := i + 1
	for j := start; j < len(p); j++ {
		switch c := p[j]; {
		case c == '"':
			return p[start:j], j + 1, nil
		case c == '\\':
			return unescape(p, start, j, scratch)
		case c < 0x20:
			return nil, 0, fmt.Errorf("control character %#02x in a string", c)
		}
	}
	return nil, 0, errors.New("unterminated string (truncated record?)")
}

// unescape continues readString from the first backslash at p[j].
func unescape(p []byte, start, j int, scratch *[]byte) ([]byte, int, error) {
	out := append((*scratch)[:0], p[start:j]...)
	defer func() { *scratch = out[:0] }()
	for j < len(p) {
		c := p[j]
		switch {
		case c == '"':
			return out, j + 1, nil
		case c < 0x20:
			return nil, 0, fmt.Errorf("control character %#02x in a string", c)
		case c != '\\':
			out = append(out, c)
			j++
			continue
		}
		if j+1 >= len(p) {
			break
		}
		switch e := p[j+1]; e {
		case '"', '\\', '/':
			out = append(out, e)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, ok := hex4(p, j+2)
			if !ok {
				return nil, 0, errors.New(`bad \u escape in a string`)
			}
			j += 4
			if utf16.IsSurrogate(r) {
				r2, ok := rune(0), false
				if j+3 < len(p) && p[j+2] == '\\' && p[j+3] == 'u' {
					r2, ok = hex4(p, j+4)
				}
				if d := utf16.DecodeRune(r, r2); ok && d != utf8.RuneError {
					r = d
					j += 6
				} else {
					r = utf8.RuneError
				}
			}
			out = utf8.AppendRune(out, r)
		default:
			return nil, 0, fmt.Errorf(`bad escape \%c in a string`, e)
		}
		j += 2
	}
	return nil, 0, errors.New("unterminated string (truncated record?)")
}

func hex4(p []byte, i int) (rune, bool) {
	if i+4 > len(p) {
		return 0, false
	}
	var r rune
	for _, c := range p[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

func numberEnd(p []byte, i int) int {
	for i < len(p) {
		switch c := p[i]; {
		case c >= '0' && c <= '9', c == '-', c == '+', c == '.', c == 'e', c == 'E':
			i++
		default:
			return i
		}
	}
	return i
}

// validNumber checks the JSON number grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func validNumber(b []byte) bool {
	i := 0
	if i < len(b) && b[i] == '-' {
		i++
	}
	if i < len(b) && b[i] == '0' {
		i++
	} else if d := countDigits(b[i:]); d > 0 {
		i += d
	} else {
		return false
	}
	if i < len(b) && b[i] == '.' {
		d := countDigits(b[i+1:])
		if d == 0 {
			return false
		}
		i += 1 + d
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		d := countDigits(b[i:])
		if d == 0 {
			return false
		}
		i += d
	}
	return i == len(b)
}

func countDigits(b []byte) int {
	n := 0
	for n < len(b) && b[n] >= '0' && b[n] <= '9' {
		n++
	}
	return n
}

// skipValue skips any JSON value at p[i] (a key outside the schema) and returns the index
// after it.
func skipValue(p []byte, i int) (int, error) {
	var scratch []byte
	depth := 0
	for {
		if i >= len(p) {
			return 0, errAt(p, i, "expected a value")
		}
		switch c := p[i]; {
		case c == '"':
			_, end, err := readString(p, i, &scratch)
			if err != nil {
				return 0, err
			}
			i = end
		case c == '{' || c == '[':
			depth++
			i++
		case c == '}' || c == ']':
			if depth == 0 {
				return 0, errAt(p, i, "expected a value")
			}
			depth--
			i++
		case c == '-' || (c >= '0' && c <= '9'):
			end := numberEnd(p, i)
			if !validNumber(p[i:end]) {
				return 0, fmt.Errorf("%q is not a JSON number", p[i:end])
			}
			i = end
		case hasLiteral(p, i, "null"), hasLiteral(p, i, "true"):
			i += 4
		case hasLiteral(p, i, "false"):
			i += 5
		case depth > 0 && (c == ',' || c == ':' || c == ' ' || c == '\t'):
			i++ // separators inside a nested value; structure beyond nesting is not checked
		default:
			return 0, errAt(p, i, "expected a value")
		}
		if depth == 0 {
			return i, nil
		}
	}
}
