package spec

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// head is a valid start of a spec, three lines long, for tests to add views and sinks to.
const head = `name: t
sources:
  tx: {kind: file, path: tx.jsonl, schema: transaction, event_time: ts}
`

// testEnv is the environment of the tests that parse text.
func testEnv(name string) (string, bool) {
	v, ok := map[string]string{"DIR": "data", "EMPTY": "", "RATE": "250"}[name]
	return v, ok
}

func mustParse(t *testing.T, text string) *Spec {
	t.Helper()
	s, err := Parse([]byte(text), "t.yaml", testEnv)
	if err != nil {
		t.Fatalf("Parse:\n%v\nspec:\n%s", err, text)
	}
	return s
}

// parseErrors returns the error lines Parse reports for text, failing if there are none.
func parseErrors(t *testing.T, text string) []string {
	t.Helper()
	s, err := Parse([]byte(text), "t.yaml", testEnv)
	if err == nil {
		t.Fatalf("Parse accepted:\n%s\nas:\n%s", text, dump(s))
	}
	if s != nil {
		t.Errorf("Parse returned a spec with an error")
	}
	if !errors.Is(err, ErrInvalid) {
		t.Errorf("errors.Is(%v, ErrInvalid) = false", err)
	}
	return strings.Split(err.Error(), "\n")
}

// checkErrors runs table cases of specs and the error lines they must give, in order.
func checkErrors(t *testing.T, cases []errorCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := parseErrors(t, c.text)
			if strings.Join(got, "\n") != strings.Join(c.want, "\n") {
				t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(c.want, "\n"))
			}
		})
	}
}

type errorCase struct {
	name string
	text string
	want []string
}

func TestLoad(t *testing.T) {
	t.Setenv("MILLRACE_TEST_DIR", "in")
	path := filepath.Join(t.TempDir(), "p.yaml")
	text := "name: p\nsources:\n  tx: {kind: file, path: '${MILLRACE_TEST_DIR}/tx.csv', schema: transaction}\n"
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Source("tx"); got.Path != "in/tx.csv" || got.Format != "csv" || got.Pos.File != path {
		t.Errorf("source = %+v, want path in/tx.csv, format csv, file %s", got, path)
	}
	if s.File != path {
		t.Errorf("File = %q, want %q", s.File, path)
	}

	_, err = Load(filepath.Join(t.TempDir(), "missing.yaml"))
	if err == nil || errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "missing.yaml") {
		t.Errorf("Load(missing) = %v, want a read error naming the file that is not ErrInvalid", err)
	}
}

func TestParseNilEnv(t *testing.T) {
	_, err := Parse([]byte("name: t\nsources:\n  tx: {kind: file, path: '$${X}/${X}', schema: transaction}\n"), "t.yaml", nil)
	want := "t.yaml:3: sources.tx.path: environment variable X is not set (set it, or give a default: ${X:-value})"
	if err == nil || err.Error() != want {
		t.Errorf("err = %v, want %s", err, want)
	}
}

func TestLookups(t *testing.T) {
	s := mustParse(t, head+"views:\n  v: {from: tx}\nsinks:\n  tx: {from: v, kind: stdout}\n")
	if s.Source("tx") == nil || s.View("v") == nil || s.Sink("tx") == nil {
		t.Fatal("lookups by name failed")
	}
	if s.Source("v") != nil || s.View("tx") != nil || s.Sink("v") != nil {
		t.Error("lookups found an entry of another section")
	}
}

func TestAtAndErrorf(t *testing.T) {
	s := mustParse(t, head+`views:
  v:
    from: [tx, tx.late]
    select:
      n: count(*)
`)
	tests := []struct {
		path string
		want Pos
	}{
		{"sources.tx", Pos{"t.yaml", 3, 3}},
		{"sources.tx.event_time", Pos{"t.yaml", 3, 57}},
		{"views.v.from[1]", Pos{"t.yaml", 6, 16}},
		{"views.v.select.n", Pos{"t.yaml", 8, 7}},
		{"views.v.select.n.deeper", Pos{"t.yaml", 8, 7}}, // nearest enclosing key
		{"views.v.where", Pos{"t.yaml", 5, 3}},
		{"nothing.here", Pos{File: "t.yaml"}},
	}
	for _, tt := range tests {
		if got := s.At(tt.path); got != tt.want {
			t.Errorf("At(%q) = %#v, want %#v", tt.path, got, tt.want)
		}
	}
	err := s.Errorf("sources.tx.event_time", "unknown column %q", "tss")
	if got, want := err.Error(), `t.yaml:3: sources.tx.event_time: unknown column "tss"`; got != want {
		t.Errorf("Errorf = %q, want %q", got, want)
	}
	if !errors.Is(err, ErrInvalid) {
		t.Error("an Errorf error is not ErrInvalid")
	}
	e := s.View("v").Select[0].Expr
	if got, want := e.Errorf("unknown function %q", "count").Error(), `t.yaml:8: views.v.select.n: unknown function "count"`; got != want {
		t.Errorf("Expr.Errorf = %q, want %q", got, want)
	}
}

func TestArrowSchema(t *testing.T) {
	s := mustParse(t, head+"  m: {kind: file, path: m.csv, table: true, columns: {id: string, risk: float64 null}}\n")
	tx, err := s.Source("tx").ArrowSchema()
	if err != nil || tx.NumFields() != 13 {
		t.Errorf("transaction schema: %v, %v", tx, err)
	}
	m, err := s.Source("m").ArrowSchema()
	if err != nil {
		t.Fatal(err)
	}
	if m.NumFields() != 2 || m.Field(0).Name != "id" || m.Field(0).Nullable || !m.Field(1).Nullable {
		t.Errorf("inline schema = %v", m)
	}
}

// TestParseContextGivesUp parses with a context that has ended: the spec is not decoded and
// the context's error comes back, not a spec error.
func TestParseContextGivesUp(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s, err := ParseContext(ctx, []byte(head+"views:\n  v: {from: tx}\n"), "t.yaml", testEnv)
	if s != nil || !errors.Is(err, context.Canceled) || errors.Is(err, ErrInvalid) {
		t.Fatalf("got %v, %v", s, err)
	}
}
