package format

import (
	"errors"
	"slices"
	"testing"
)

func TestLinesSplitsAcrossWrites(t *testing.T) {
	var got []string
	l := Lines{Emit: func(line []byte) error { got = append(got, string(line)); return nil }}
	for _, p := range []string{`{"a":1}` + "\n" + `{"a"`, `:2}` + "\n\n  \n", `{"a":3}`} {
		if n, err := l.Write([]byte(p)); err != nil || n != len(p) {
			t.Fatalf("write %q: %d, %v", p, n, err)
		}
	}
	if err := l.Flush(); err != nil {
		t.Fatal(err)
	}
	if want := []string{`{"a":1}`, `{"a":2}`, `{"a":3}`}; !slices.Equal(got, want) {
		t.Errorf("lines %q, want %q", got, want)
	}
	refused := errors.New("refused")
	l = Lines{Emit: func([]byte) error { return refused }}
	if _, err := l.Write([]byte("x\n")); !errors.Is(err, refused) {
		t.Errorf("an Emit error: %v", err)
	}
}

func TestStringField(t *testing.T) {
	for _, c := range []struct {
		line, want string
		ok         bool
	}{
		{`{"tx_id":"t1","card_id":"c42","amount":"1.00"}`, "c42", true},
		{`{"card_id":"c\"42"}`, "", false},
		{`{"card_id":42}`, "", false},
		{`{"tx_id":"t1"}`, "", false},
	} {
		got, ok := StringField([]byte(c.line), "card_id")
		if string(got) != c.want || ok != c.ok {
			t.Errorf("%s: %q %v, want %q %v", c.line, got, ok, c.want, c.ok)
		}
	}
}
