package expr

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// tokenKind classifies a lexical token.
type tokenKind uint8

const (
	tokEOF    tokenKind = iota
	tokIdent            // unquoted identifier or keyword; text as written
	tokQuoted           // "quoted identifier"; text unescaped
	tokNumber           // 42, 12.50, 1e-3; text as written
	tokString           // 'string'; text unescaped
	tokOp               // operator or punctuation; text is the operator
)

// token is one lexical unit. pos is the byte offset of its first character in the source.
type token struct {
	kind tokenKind
	text string
	pos  int
	raw  string // the source text of the token, for error messages
}

// lexer splits an expression into tokens. It never allocates per character and reports the
// first malformed token as a *SyntaxError.
type lexer struct {
	src string
	pos int
}

// SyntaxError is a parse error. Pos is the 1-based character (not byte) position in the source.
type SyntaxError struct {
	Pos int
	Msg string
}

func (e *SyntaxError) Error() string { return fmt.Sprintf("at %d: %s", e.Pos, e.Msg) }

// errAt builds a SyntaxError for the byte offset off of src.
func errAt(src string, off int, format string, args ...any) *SyntaxError {
	if off > len(src) {
		off = len(src)
	}
	return &SyntaxError{Pos: utf8.RuneCountInString(src[:off]) + 1, Msg: fmt.Sprintf(format, args...)}
}

// twoCharOps lists the operators of two characters; they are matched before single characters.
var twoCharOps = [...]string{"<=", ">=", "<>", "!=", "||", "::"}

func isIdentStart(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0x80
}

func isIdentPart(c byte) bool { return isIdentStart(c) || (c >= '0' && c <= '9') }

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// next returns the next token, or a token of kind tokEOF at the end of the source.
func (l *lexer) next() (token, error) {
	src := l.src
	for l.pos < len(src) && (src[l.pos] == ' ' || src[l.pos] == '\t' || src[l.pos] == '\n' || src[l.pos] == '\r') {
		l.pos++
	}
	start := l.pos
	if start >= len(src) {
		return token{kind: tokEOF, pos: start}, nil
	}
	c := src[start]
	switch {
	case isIdentStart(c):
		i := start + 1
		for i < len(src) && isIdentPart(src[i]) {
			i++
		}
		l.pos = i
		return token{kind: tokIdent, text: src[start:i], pos: start, raw: src[start:i]}, nil
	case isDigit(c) || (c == '.' && start+1 < len(src) && isDigit(src[start+1])):
		return l.number()
	case c == '\'' || c == '"':
		text, err := l.quoted(c)
		if err != nil {
			return token{}, err
		}
		kind := tokString
		if c == '"' {
			kind = tokQuoted
			if text == "" {
				return token{}, errAt(src, start, "empty quoted identifier")
			}
		}
		return token{kind: kind, text: text, pos: start, raw: src[start:l.pos]}, nil
	}
	for _, op := range twoCharOps {
		if strings.HasPrefix(src[start:], op) {
			l.pos += 2
			return token{kind: tokOp, text: op, pos: start, raw: op}, nil
		}
	}
	if strings.IndexByte("+-*/%=<>(),", c) >= 0 {
		l.pos++
		return token{kind: tokOp, text: src[start : start+1], pos: start, raw: src[start : start+1]}, nil
	}
	r, _ := utf8.DecodeRuneInString(src[start:])
	return token{}, errAt(src, start, "unexpected character %q", r)
}

// number scans digits with an optional point and an optional exponent.
func (l *lexer) number() (token, error) {
	src, start := l.src, l.pos
	i := start
	for i < len(src) && isDigit(src[i]) {
		i++
	}
	if i < len(src) && src[i] == '.' {
		i++
		for i < len(src) && isDigit(src[i]) {
			i++
		}
	}
	if i < len(src) && (src[i] == 'e' || src[i] == 'E') {
		j := i + 1
		if j < len(src) && (src[j] == '+' || src[j] == '-') {
			j++
		}
		if j >= len(src) || !isDigit(src[j]) {
			return token{}, errAt(src, i, "malformed number %q: exponent without digits", src[start:j])
		}
		for j < len(src) && isDigit(src[j]) {
			j++
		}
		i = j
	}
	if i < len(src) && isIdentStart(src[i]) {
		return token{}, errAt(src, i, "malformed number: %q directly after %q", src[i:i+1], src[start:i])
	}
	l.pos = i
	return token{kind: tokNumber, text: src[start:i], pos: start, raw: src[start:i]}, nil
}

// quoted scans a string or identifier delimited by q, where a doubled q stands for itself.
func (l *lexer) quoted(q byte) (string, error) {
	src, start := l.src, l.pos
	var b strings.Builder
	i := start + 1
	from := i
	for {
		j := strings.IndexByte(src[i:], q)
		if j < 0 {
			what := "string"
			if q == '"' {
				what = "quoted identifier"
			}
			return "", errAt(src, start, "unterminated %s", what)
		}
		i += j
		if i+1 < len(src) && src[i+1] == q {
			b.WriteString(src[from : i+1])
			i += 2
			from = i
			continue
		}
		l.pos = i + 1
		if b.Len() == 0 {
			return src[from:i], nil
		}
		b.WriteString(src[from:i])
		return b.String(), nil
	}
}
