package expr

import (
	"errors"
	"testing"
)

func lexAll(src string) ([]token, error) {
	l := &lexer{src: src}
	var out []token
	for {
		t, err := l.next()
		if err != nil {
			return out, err
		}
		if t.kind == tokEOF {
			return out, nil
		}
		out = append(out, t)
	}
}

func TestLexerTokens(t *testing.T) {
	toks, err := lexAll(`a1 "Quo""ted" 'it''s' 12.50 .5 1e-3 7E+2 <= >= <> != || :: ( ) , + - * / % = < > _x ümlaut`)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		kind tokenKind
		text string
	}{
		{tokIdent, "a1"}, {tokQuoted, `Quo"ted`}, {tokString, "it's"}, {tokNumber, "12.50"},
		{tokNumber, ".5"}, {tokNumber, "1e-3"}, {tokNumber, "7E+2"},
		{tokOp, "<="}, {tokOp, ">="}, {tokOp, "<>"}, {tokOp, "!="}, {tokOp, "||"}, {tokOp, "::"},
		{tokOp, "("}, {tokOp, ")"}, {tokOp, ","}, {tokOp, "+"}, {tokOp, "-"}, {tokOp, "*"},
		{tokOp, "/"}, {tokOp, "%"}, {tokOp, "="}, {tokOp, "<"}, {tokOp, ">"},
		{tokIdent, "_x"}, {tokIdent, "ümlaut"},
	}
	if len(toks) != len(want) {
		t.Fatalf("got %d tokens, want %d: %+v", len(toks), len(want), toks)
	}
	for i, w := range want {
		if toks[i].kind != w.kind || toks[i].text != w.text {
			t.Errorf("token %d: got %v %q, want %v %q", i, toks[i].kind, toks[i].text, w.kind, w.text)
		}
	}
	if toks[1].pos != 3 || toks[1].raw != `"Quo""ted"` {
		t.Errorf("quoted token at %d raw %q", toks[1].pos, toks[1].raw)
	}
}

func TestLexerErrors(t *testing.T) {
	for _, tc := range []struct {
		src string
		pos int
		msg string
	}{
		{"'abc", 1, "at 1: unterminated string"},
		{`a = "x`, 5, `at 5: unterminated quoted identifier`},
		{`""`, 1, "at 1: empty quoted identifier"},
		{"a # b", 3, `at 3: unexpected character '#'`},
		{"ä ; b", 3, `at 3: unexpected character ';'`}, // positions count characters, not bytes
		{"1e+", 2, `at 2: malformed number "1e+": exponent without digits`},
		{"12abc", 3, `at 3: malformed number: "a" directly after "12"`},
	} {
		_, err := lexAll(tc.src)
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("%q: want a SyntaxError, got %v", tc.src, err)
			continue
		}
		if se.Pos != tc.pos || err.Error() != tc.msg {
			t.Errorf("%q: got %q (pos %d), want %q", tc.src, err, se.Pos, tc.msg)
		}
	}
}
