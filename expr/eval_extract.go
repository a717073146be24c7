package expr

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// The functions that take a string apart, and date_format: each takes a constant pattern,
// compiled once, as its second argument.

// countChar is count_char(s, sub): how many times sub occurs in s, without overlaps.
func (c *compiler) countChar(a []*operand, n *Call) (*operand, error) {
	if err := want(n, 0, a[0], "a string", kString); err != nil {
		return nil, err
	}
	sub, err := constString(n, 1, a[1])
	if err != nil {
		return nil, err
	}
	if sub == "" {
		return nil, fmt.Errorf("count_char() counts a text of at least one character, not ''")
	}
	if strictNull(a[0]) {
		return nullOf(tInt64, n), nil
	}
	e := &countCharEval{x: a[0].ev, sub: []byte(sub)}
	return c.finish(&operand{ev: e, t: tInt64, nullable: a[0].nullable, node: n}, a[0])
}

type countCharEval struct {
	x   evaluator
	sub []byte
}

func (e *countCharEval) eval(c *evalCtx, sel bitmap) (*vec, error) {
	v, err := e.x.eval(c, sel)
	if err != nil {
		return nil, err
	}
	rows, konst := rowsOf(v)
	out := &vec{n: v.n, konst: konst, valid: v.valid, i64: make([]int64, rows)}
	for i := range out.i64 {
		out.i64[i] = int64(bytes.Count(v.str(i), e.sub))
	}
	return out, nil
}

// pieceFunc picks a piece of each row's string, or none (NULL).
type pieceFunc func(s []byte) ([]byte, bool)

// pieceEval applies a pieceFunc to every row: NULL where the input is or no piece is found.
type pieceEval struct {
	x    evaluator
	pick pieceFunc
}

func (e *pieceEval) eval(c *evalCtx, sel bitmap) (*vec, error) {
	v, err := e.x.eval(c, sel)
	if err != nil {
		return nil, err
	}
	rows, konst := rowsOf(v)
	o := newStrOut(rows, 0)
	valid := newBitmap(rows)
	for i := 0; i < rows; i++ {
		if !v.null(i) {
			if p, ok := e.pick(v.str(i)); ok {
				o.data = append(o.data, p...)
				valid.set(i)
			}
		}
		o.end()
	}
	return &vec{n: v.n, konst: konst, valid: valid, offs: o.offs, data: o.data}, nil
}

// splitIndex is split_index(s, delimiter, i): the i-th (from 0) of the pieces s splits into
// at each delimiter, or NULL when s has fewer pieces or i is negative.
func (c *compiler) splitIndex(a []*operand, n *Call) (*operand, error) {
	if err := want(n, 0, a[0], "a string", kString); err != nil {
		return nil, err
	}
	delim, err := constString(n, 1, a[1])
	if err != nil {
		return nil, err
	}
	if delim == "" {
		return nil, fmt.Errorf("split_index() splits at a delimiter of at least one character, not ''")
	}
	idx, err := constInt(n, 2, a[2])
	if err != nil {
		return nil, err
	}
	if strictNull(a[0]) {
		return nullOf(tString, n), nil
	}
	d := []byte(delim)
	pick := func(s []byte) ([]byte, bool) {
		if idx < 0 {
			return nil, false
		}
		for k := int64(0); k < idx; k++ {
			at := bytes.Index(s, d)
			if at < 0 {
				return nil, false
			}
			s = s[at+len(d):]
		}
		if at := bytes.Index(s, d); at >= 0 {
			s = s[:at]
		}
		return s, true
	}
	return c.finish(&operand{ev: &pieceEval{x: a[0].ev, pick: pick}, t: tString, nullable: true, node: n}, a[0])
}

// regexpExtract is regexp_extract(s, pattern[, group]): the text the group (default 1; 0
// for the whole match) of the first match of the pattern (RE2 syntax) in s took, or NULL
// when the pattern does not match or the group took nothing.
func (c *compiler) regexpExtract(a []*operand, n *Call) (*operand, error) {
	if err := want(n, 0, a[0], "a string", kString); err != nil {
		return nil, err
	}
	pattern, err := constString(n, 1, a[1])
	if err != nil {
		return nil, err
	}
	re, err := regexp.Compile(pattern)
	if err != nil {
		return nil, fmt.Errorf("regexp_extract(): pattern %q: %w", pattern, err)
	}
	group := int64(1)
	if len(a) == 3 {
		if group, err = constInt(n, 2, a[2]); err != nil {
			return nil, err
		}
	}
	if group < 0 || group > int64(re.NumSubexp()) {
		return nil, fmt.Errorf("regexp_extract(): group %d of pattern %q, which has groups 0 to %d", group, pattern, re.NumSubexp())
	}
	if strictNull(a[0]) {
		return nullOf(tString, n), nil
	}
	g := int(group)
	memo := newPieceMemo(func(s []byte) ([]byte, bool) {
		m := re.FindSubmatchIndex(s)
		if m == nil || m[2*g] < 0 {
			return nil, false
		}
		return s[m[2*g]:m[2*g+1]], true
	})
	return c.finish(&operand{ev: &pieceEval{x: a[0].ev, pick: memo.get}, t: tString, nullable: true, node: n}, a[0])
}

// dateFormat is date_format(ts, pattern): the timestamp written in UTC by a pattern of
// yyyy (year), MM (month), dd (day), HH (hour), mm (minute), ss (second) and SSS
// (millisecond), other characters standing for themselves.
func (c *compiler) dateFormat(a []*operand, n *Call) (*operand, error) {
	if err := want(n, 0, a[0], "a timestamp", kTimestamp); err != nil {
		return nil, err
	}
	pattern, err := constString(n, 1, a[1])
	if err != nil {
		return nil, err
	}
	layout, err := goLayout(pattern)
	if err != nil {
		return nil, fmt.Errorf("date_format(): %w", err)
	}
	if strictNull(a[0]) {
		return nullOf(tString, n), nil
	}
	e := &dateFormatEval{x: a[0].ev, layout: layout}
	return c.finish(&operand{ev: e, t: tString, nullable: a[0].nullable, node: n}, a[0])
}

// goLayout turns a date_format pattern into a layout of package time.
func goLayout(pattern string) (string, error) {
	var b strings.Builder
	tokens := []struct{ tok, layout string }{{"yyyy", "2006"}, {"MM", "01"}, {"dd", "02"}, {"HH", "15"}, {"mm", "04"}, {"ss", "05"}, {"SSS", "000"}}
next:
	for p := pattern; p != ""; {
		for _, t := range tokens {
			if strings.HasPrefix(p, t.tok) {
				b.WriteString(t.layout)
				p = p[len(t.tok):]
				continue next
			}
		}
		ch := p[0]
		if ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' {
			return "", fmt.Errorf("pattern %q: %q is not one of yyyy, MM, dd, HH, mm, ss, SSS", pattern, p[:1])
		}
		b.WriteByte(ch)
		p = p[1:]
	}
	return b.String(), nil
}

type dateFormatEval struct {
	x      evaluator
	layout string
}

func (e *dateFormatEval) eval(c *evalCtx, sel bitmap) (*vec, error) {
	v, err := e.x.eval(c, sel)
	if err != nil {
		return nil, err
	}
	rows, konst := rowsOf(v)
	o := newStrOut(rows, rows*len(e.layout))
	for i := 0; i < rows; i++ {
		if !v.null(i) {
			o.data = time.UnixMilli(v.i64[i]).UTC().AppendFormat(o.data, e.layout)
		}
		o.end()
	}
	return &vec{n: v.n, konst: konst, valid: v.valid, offs: o.offs, data: o.data}, nil
}
