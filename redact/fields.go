package redact

import (
	"encoding/csv"
	"strings"
)

// json masks the values of the named keys in a raw JSON record. It scans the text rather
// than decoding it, so that a record too broken to decode, which is why it is a dead
// letter, is masked too: after every string that is followed by a colon and names a masked
// field, the value (a string, a scalar, or a whole object or array) becomes "****".
func (r Rules) json(raw string) string {
	var b strings.Builder
	last := 0
	for i := 0; i < len(raw); i++ {
		if raw[i] != '"' {
			continue
		}
		end := closingQuote(raw, i+1)
		if end >= len(raw) {
			break
		}
		key := raw[i+1 : end]
		i = end
		j := skipSpace(raw, end+1)
		if j >= len(raw) || raw[j] != ':' || !r.names[strings.ToLower(key)] {
			continue
		}
		start := skipSpace(raw, j+1)
		stop := valueEnd(raw, start)
		b.WriteString(raw[last:start])
		b.WriteString(`"` + Mask + `"`)
		last = stop
		i = stop - 1
	}
	if last == 0 {
		return raw
	}
	b.WriteString(raw[last:])
	return b.String()
}

func skipSpace(s string, i int) int {
	for i < len(s) && strings.IndexByte(" \t\r\n", s[i]) >= 0 {
		i++
	}
	return i
}

// valueEnd returns where the JSON value that starts at start ends: after its closing quote
// or bracket, or at the comma, brace, bracket or space that ends a scalar.
func valueEnd(s string, start int) int {
	if start >= len(s) {
		return start
	}
	switch s[start] {
	case '"':
		return min(closingQuote(s, start+1)+1, len(s))
	case '{', '[':
		depth := 0
		for i := start; i < len(s); i++ {
			switch s[i] {
			case '"':
				i = closingQuote(s, i+1)
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
		}
		return len(s)
	}
	i := start
	for i < len(s) && strings.IndexByte(",}] \t\r\n", s[i]) < 0 {
		i++
	}
	return i
}

// csvLine masks the fields at the masked columns' places in a raw CSV line. A line that
// does not parse as CSV is masked whole past its first masked field, so that nothing after
// a quote left open is shown.
func (r Rules) csvLine(raw string) string {
	trimmed := strings.TrimRight(raw, "\r\n")
	cr := csv.NewReader(strings.NewReader(trimmed))
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = true
	fields, err := cr.Read()
	if err != nil {
		return Mask
	}
	masked := false
	for _, i := range r.csv {
		if i < len(fields) {
			fields[i] = Mask
			masked = true
		}
	}
	if !masked {
		return raw
	}
	var b strings.Builder
	w := csv.NewWriter(&b)
	if err := w.Write(fields); err != nil {
		return Mask
	}
	w.Flush()
	return strings.TrimRight(b.String(), "\n") + raw[len(trimmed):]
}
