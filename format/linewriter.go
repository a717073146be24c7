package format

import "bytes"

// Lines is an io.Writer that splits what is written to it into lines and hands each one
// that holds more than white space, without its newline, to Emit; a line may span Writes.
// Flush hands over a last line that did not end. The JSONL targets of `gen --to` are written
// through it, each line one message.
type Lines struct {
	// Emit takes one line; it may keep it only as a copy. An error stops the writing.
	Emit  func(line []byte) error
	carry []byte // a line not yet ended
}

// Write emits each line p ends and keeps the rest for the next Write or Flush.
func (l *Lines) Write(p []byte) (int, error) {
	n := len(p)
	for {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			l.carry = append(l.carry, p...)
			return n, nil
		}
		line := p[:i]
		if len(l.carry) > 0 {
			line = append(l.carry, line...)
			l.carry = l.carry[:0]
		}
		if err := l.emit(line); err != nil {
			return 0, err
		}
		p = p[i+1:]
	}
}

// Flush emits a last line that did not end.
func (l *Lines) Flush() error {
	line := l.carry
	l.carry = nil
	return l.emit(line)
}

func (l *Lines) emit(line []byte) error {
	if len(bytes.TrimSpace(line)) == 0 {
		return nil
	}
	return l.Emit(line)
}

// StringField finds the value of the top-level string field name in a JSON line as the row
// encoder writes it (`"name":"value"`, no space); a value with escapes, of another type, or
// absent gives false.
func StringField(line []byte, name string) ([]byte, bool) {
	key := make([]byte, 0, len(name)+4)
	key = append(append(append(key, '"'), name...), '"', ':', '"')
	i := bytes.Index(line, key)
	if i < 0 {
		return nil, false
	}
	v := line[i+len(key):]
	end := bytes.IndexAny(v, "\"\\")
	if end < 0 || v[end] != '"' {
		return nil, false
	}
	return v[:end:end], true
}
