package format

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
)

// NewCSVReader decodes r, named name in positions and dead letters, as CSV (RFC 4180) with a
// header line naming the columns. Header columns outside the schema are skipped; a nullable
// schema column the header lacks reads as null, a required one is an error for the whole
// input. An empty unquoted field is null; a quoted empty field ("") is the empty string.
//
// A quoted field may span lines. When a quote is never closed, only the line it opened on
// becomes a dead letter and reading goes on with the next line, so one stray quote cannot
// swallow the rest of the file.
func NewCSVReader(r io.Reader, name string, s *arrow.Schema, opts ReadOptions) (Reader, error) {
	opts = opts.withDefaults()
	rb, err := newRowBuilder(CSV, s, opts.BatchRows, opts.Zone)
	if err != nil {
		return nil, err
	}
	in, counted := countedInput(r)
	cr := &csvReader{name: name, opts: opts, lines: newLineReader(in, opts.MaxRecordBytes), counted: counted, rb: rb}
	if c, ok := r.(io.Closer); ok {
		cr.closer = c
	}
	if err := cr.readHeader(); err != nil {
		return nil, errors.Join(err, cr.Close())
	}
	return cr, nil
}

type csvReader struct {
	name    string
	opts    ReadOptions
	lines   *lineReader
	counted *countingReader // the input's bytes, as stored
	rb      *rowBuilder
	closer  io.Closer
	target  []int // header position -> schema column, -1 to skip
	nfields int

	rec     []byte    // the record being assembled, lines joined by \n
	refs    []lineRef // the lines of rec
	ends    []int     // where each line ends in rec
	longs   []bool    // which lines of rec were cut to MaxRecordBytes
	pending []heldLine
	next    lineRef // the last line taken: the next record starts after it
	fields  [][]byte
	quoted  []bool
	scratch [][]byte
	done    bool
	damage  *streamDamage // where the input was found damaged, until Read reports it
}

// lineRef says where a line stood in the input.
type lineRef struct {
	line       int64
	start, end int64 // byte offsets; end is past the line break
}

// heldLine is a line read ahead and handed back after an unclosed quote.
type heldLine struct {
	b    []byte
	ref  lineRef
	long bool // the line was cut to MaxRecordBytes
}

func (cr *csvReader) readHeader() error {
	for {
		line, err := cr.lines.next()
		if err == io.EOF {
			return fmt.Errorf("csv %q: empty input, want a header line", cr.name)
		}
		if errors.As(err, &cr.damage) && !cr.opts.FailOnDamage {
			return nil // the whole file is the dead letter the first Read returns
		}
		if err != nil {
			return fmt.Errorf("csv %q: %w", cr.name, err)
		}
		if isBlank(line) {
			continue
		}
		cr.rec = append(cr.rec[:0], line...)
		cr.next = cr.lineRef()
		if err := cr.split(); err != nil {
			return fmt.Errorf("csv %q:%d: header: %w", cr.name, cr.lines.line, err)
		}
		break
	}
	cr.nfields = len(cr.fields)
	cr.target = make([]int, cr.nfields)
	byName := map[string]int{}
	for i, c := range cr.rb.cols {
		byName[c.name] = i
	}
	seen := make([]bool, len(cr.rb.cols))
	for i, f := range cr.fields {
		name := strings.TrimSpace(string(f))
		c, ok := byName[name]
		if !ok {
			cr.target[i] = -1
			continue
		}
		if seen[c] {
			return fmt.Errorf("csv %q:%d: header names column %q twice", cr.name, cr.lines.line, name)
		}
		seen[c] = true
		cr.target[i] = c
	}
	for i, c := range cr.rb.cols {
		if c.required && !seen[i] {
			return fmt.Errorf("csv %q:%d: header has no column %q, which the schema requires", cr.name, cr.lines.line, c.name)
		}
	}
	return nil
}

// Lines gives the input line where each row of the batch the last Read returned starts.
func (cr *csvReader) Lines() ([]int64, error) { return cr.rb.batchLines, nil }

// BytesRead is how many bytes of its input, as stored, the reader has consumed.
func (cr *csvReader) BytesRead() int64 { return cr.counted.n.Load() }

func (cr *csvReader) Position() Position {
	return Position{File: cr.name, Offset: cr.next.end, Line: cr.next.line + 1, Damaged: cr.lines.damaged}
}

func (cr *csvReader) lineRef() lineRef {
	return lineRef{line: cr.lines.line, start: cr.lines.start, end: cr.lines.offset}
}

func (cr *csvReader) Close() error {
	if cr.closer != nil {
		return cr.closer.Close()
	}
	return nil
}

// nextLine takes a line handed back, else the next line of the input.
func (cr *csvReader) nextLine() (b []byte, ref lineRef, long bool, err error) {
	if len(cr.pending) > 0 {
		h := cr.pending[0]
		cr.pending = cr.pending[1:]
		return h.b, h.ref, h.long, nil
	}
	b, err = cr.lines.next()
	return b, cr.lineRef(), cr.lines.tooLong, err
}

func (cr *csvReader) Read() (arrow.RecordBatch, []DeadLetter, error) {
	if cr.done {
		return nil, nil, io.EOF
	}
	if cr.damage != nil {
		return nil, []DeadLetter{cr.damaged()}, nil
	}
	var dead []DeadLetter
	for n := 0; n < cr.opts.BatchRows; {
		reason, ok, err := cr.readRecord()
		if errors.As(err, &cr.damage) && !cr.opts.FailOnDamage {
			dead = append(dead, cr.damaged())
			break
		}
		if err != nil {
			return nil, nil, fmt.Errorf("csv %q: %w", cr.name, err)
		}
		if !ok {
			cr.done = true
			break
		}
		n++
		if reason == nil {
			cr.rb.line = cr.refs[0].line
			reason = cr.decode()
		}
		if reason != nil {
			dead = append(dead, DeadLetter{File: cr.name, Line: cr.refs[0].line, Offset: cr.refs[0].start, RowGroup: -1,
				Raw: append([]byte(nil), cr.rec...), Reason: reason.Error()})
		}
	}
	rec := cr.rb.batch()
	if rec == nil && len(dead) == 0 {
		return nil, nil, io.EOF
	}
	return rec, dead, nil
}

// damaged ends the read at the damage found in the input and returns its dead letter.
func (cr *csvReader) damaged() DeadLetter {
	d := cr.damage
	cr.damage, cr.done = nil, true
	return d.deadLetter(cr.name)
}

// readRecord assembles the next record into cr.rec and splits it into fields. It returns
// ok=false at the end of input and a reason when the record is malformed.
func (cr *csvReader) readRecord() (reason error, ok bool, err error) {
	var line []byte
	var ref lineRef
	var long bool
	for {
		if line, ref, long, err = cr.nextLine(); err == io.EOF {
			return nil, false, nil
		} else if err != nil {
			return nil, false, err
		}
		cr.next = ref
		if !isBlank(line) {
			break
		}
	}
	cr.rec = append(cr.rec[:0], line...)
	cr.refs = append(cr.refs[:0], ref)
	cr.ends = append(cr.ends[:0], len(cr.rec))
	cr.longs = append(cr.longs[:0], long)
	if long {
		return fmt.Errorf("record longer than %d bytes (first bytes kept)", cr.opts.MaxRecordBytes), true, nil
	}
	for OpenQuote(cr.rec) && len(cr.rec) < cr.opts.MaxRecordBytes {
		more, ref, long, err := cr.nextLine()
		if err == io.EOF {
			break
		}
		var damage *streamDamage
		if errors.As(err, &damage) {
			// The record began on earlier lines: they are part of what is lost.
			damage.line, damage.start = cr.refs[0].line, cr.refs[0].start
			damage.raw = append(append(bytes.Clone(cr.rec), '\n'), damage.raw...)
		}
		if err != nil {
			return nil, false, err
		}
		cr.next = ref
		cr.rec = append(append(cr.rec, '\n'), more...)
		cr.refs = append(cr.refs, ref)
		cr.ends = append(cr.ends, len(cr.rec))
		cr.longs = append(cr.longs, long)
		if long {
			break
		}
	}
	serr := cr.split()
	if serr == nil && len(cr.fields) != cr.nfields {
		serr = fmt.Errorf("has %d fields, the header has %d", len(cr.fields), cr.nfields)
	}
	if serr != nil && len(cr.refs) > 1 {
		// A quote opened on the first line and never closed in a way that makes a record:
		// refuse that line alone and read the lines after it again.
		held := make([]heldLine, 0, len(cr.refs)-1+len(cr.pending))
		for k := 1; k < len(cr.refs); k++ {
			b := append([]byte(nil), cr.rec[cr.ends[k-1]+1:cr.ends[k]]...)
			held = append(held, heldLine{b: b, ref: cr.refs[k], long: cr.longs[k]})
		}
		cr.pending = append(held, cr.pending...)
		cr.rec = cr.rec[:cr.ends[0]]
		cr.refs = cr.refs[:1]
		cr.next = cr.refs[0]
		return errors.New("unterminated quoted field"), true, nil
	}
	return serr, true, nil
}

// OpenQuote reports whether the CSV text rec ends inside a quoted field, so that a record
// read line by line goes on at the next line.
func OpenQuote(rec []byte) bool {
	const (
		fieldStart = iota
		unquoted
		quoted
		quoteInQuoted // a quote inside a quoted field: its end, or the first of ""
	)
	state := fieldStart
	for _, c := range rec {
		switch state {
		case fieldStart, unquoted:
			switch {
			case c == ',':
				state = fieldStart
			case c == '"' && state == fieldStart:
				state = quoted
			default:
				state = unquoted
			}
		case quoted:
			if c == '"' {
				state = quoteInQuoted
			}
		case quoteInQuoted:
			switch c {
			case '"':
				state = quoted
			case ',':
				state = fieldStart
			default:
				state = unquoted
			}
		}
	}
	return state == quoted
}

// split cuts cr.rec into fields, unquoting quoted ones.
func (cr *csvReader) split() error {
	cr.fields, cr.quoted = cr.fields[:0], cr.quoted[:0]
	p := cr.rec
	i := 0
	for k := 0; ; k++ {
		if i < len(p) && p[i] == '"' {
			for k >= len(cr.scratch) {
				cr.scratch = append(cr.scratch, nil)
			}
			out := cr.scratch[k][:0]
			j := i + 1
			for {
				if j >= len(p) {
					return errors.New("unterminated quoted field")
				}
				if p[j] == '"' {
					if j+1 < len(p) && p[j+1] == '"' {
						out = append(out, '"')
						j += 2
						continue
					}
					j++
					break
				}
				out = append(out, p[j])
				j++
			}
			cr.scratch[k] = out
			cr.fields = append(cr.fields, out)
			cr.quoted = append(cr.quoted, true)
			i = j
			if i < len(p) && p[i] != ',' {
				return fmt.Errorf("text after the closing quote of field %d", k+1)
			}
		} else {
			j := i
			for j < len(p) && p[j] != ',' {
				if p[j] == '"' {
					return fmt.Errorf(`bare " in unquoted field %d`, k+1)
				}
				j++
			}
			cr.fields = append(cr.fields, p[i:j])
			cr.quoted = append(cr.quoted, false)
			i = j
		}
		if i >= len(p) {
			return nil
		}
		i++ // the comma
	}
}

// decode parses the split fields into the row builder and commits the row.
func (cr *csvReader) decode() error {
	rb := cr.rb
	for i, f := range cr.fields {
		c := cr.target[i]
		if c < 0 {
			continue
		}
		if len(f) == 0 && !cr.quoted[i] {
			if err := rb.setNull(c); err != nil {
				rb.rollback()
				return err
			}
			continue
		}
		if err := rb.setText(c, f); err != nil {
			rb.rollback()
			return err
		}
	}
	return rb.endRow()
}
