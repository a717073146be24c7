// Package redact masks sensitive values in what millrace shows of the records it reads: the
// dead letters, hot keys and verdicts that the API and the dashboard serve.
//
// Two kinds of masking apply. Card numbers are masked everywhere, whatever the spec says:
// a run of 13 to 19 digits, optionally grouped by single spaces or dashes, that starts with
// 2 to 6 (the card networks' ranges) and passes the Luhn check keeps its last 4 digits and
// every other digit becomes '*' ("4111 1111 1111 1111" shows as "**** **** **** 1111").
// Named fields are masked where a source's `redact:` list names them: in a raw JSON record
// the value of every key of that name (at any depth, compared without regard to case)
// becomes "****"; in a raw CSV record the field at that column's place in the source's
// declared columns does.
package redact

import (
	"strings"

	"millrace/format"
	"millrace/spec"
)

// Mask is what a masked field's value becomes.
const Mask = "****"

// Rules says what to mask in the raw records of one source. The zero Rules masks card
// numbers only.
type Rules struct {
	names map[string]bool // lower-cased field names
	csv   []int           // CSV field positions to mask, ascending
}

// NewRules returns the rules of a source whose `redact:` list is names. For a source of CSV
// records, columns is its declared column order, which places the fields of a line; it is
// nil for other formats.
func NewRules(names, columns []string) Rules {
	r := Rules{names: map[string]bool{}}
	for _, n := range names {
		r.names[strings.ToLower(n)] = true
	}
	for i, c := range columns {
		if r.names[strings.ToLower(c)] {
			r.csv = append(r.csv, i)
		}
	}
	return r
}

// Names tells whether name is a field or column these rules mask.
func (r Rules) Names(name string) bool { return r.names[strings.ToLower(name)] }

// Record masks a raw record: the named fields (a JSON object's keys, or a CSV line's
// fields) and card numbers anywhere in it.
func (r Rules) Record(raw string) string {
	if len(r.names) > 0 {
		t := strings.TrimLeft(raw, " \t\r\n")
		switch {
		case strings.HasPrefix(t, "{"):
			raw = r.json(raw)
		case len(r.csv) > 0:
			raw = r.csvLine(raw)
		}
	}
	return Cards(raw)
}

// Text masks card numbers in s, and values that s quotes after a masked field's name, as a
// reason does: `cvv: "123" is not an int` becomes `cvv: "****" is not an int`.
func (r Rules) Text(s string) string {
	for n := range r.names {
		s = maskQuotedAfter(s, n)
	}
	return Cards(s)
}

// maskQuotedAfter masks the quoted value that follows `name: ` in s (name compared without
// regard to case).
func maskQuotedAfter(s, name string) string {
	lower := strings.ToLower(s)
	var b strings.Builder
	from := 0
	for {
		i := strings.Index(lower[from:], name+": \"")
		if i < 0 {
			break
		}
		start := from + i + len(name) + 3
		end := closingQuote(s, start)
		b.WriteString(s[from:start])
		b.WriteString(Mask)
		from = end
	}
	if from == 0 {
		return s
	}
	b.WriteString(s[from:])
	return b.String()
}

// closingQuote returns the index of the quote that ends the string whose text starts at
// start, skipping escaped quotes, or len(s) if it never ends.
func closingQuote(s string, start int) int {
	for i := start; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '"':
			return i
		}
	}
	return len(s)
}

// ForSource returns the rules of a spec's source: its `redact:` list, with the declared
// column order placing the fields of CSV records.
func ForSource(src *spec.Source) Rules {
	var columns []string
	if src.Format == format.CSV {
		if s, err := src.ArrowSchema(); err == nil {
			for _, f := range s.Fields() {
				columns = append(columns, f.Name)
			}
		}
	}
	return NewRules(src.Redact, columns)
}
