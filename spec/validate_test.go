package spec

import (
	"fmt"
	"strings"
	"testing"
)

func TestReferences(t *testing.T) {
	s := mustParse(t, head+`  m: {kind: file, path: m.csv, columns: {merchant_id: string}}
  idle: {kind: file, path: i.csv, columns: {a: string}, table: true}
views:
  joined: {from: tx, join: {table: m, on: merchant_id}}
  again: {from: [joined, tx.late], join: {table: m, on: merchant_id, type: inner}}
  rejects: {from: [tx.dead_letters, m.dead_letters]}
sinks:
  a: {from: tx, kind: stdout}
  b: {from: again, kind: stdout}
  c: {from: tx.late, kind: stdout}
`)
	if !s.Source("m").Table {
		t.Error("a joined file source is not marked as a table")
	}
	if !s.Source("idle").Table || s.Source("tx").Table {
		t.Error("table marks are wrong for sources not joined")
	}
}

func TestReferenceErrors(t *testing.T) {
	table := "  m: {kind: file, path: m.csv, table: true, columns: {merchant_id: string}}\n"
	checkErrors(t, []errorCase{
		{"unknown without a hint", head + "views:\n  v: {from: orders}\n", []string{
			`t.yaml:5: views.v.from: unknown source or view "orders"`,
		}},
		{"unknown in a list", head + "views:\n  v: {from: [tx, tz]}\n", []string{
			`t.yaml:5: views.v.from[1]: unknown source or view "tz" (did you mean "tx"?)`,
		}},
		{"unknown source of a side stream", head + "views:\n  v: {from: tz.late}\n", []string{
			`t.yaml:5: views.v.from: unknown source "tz" (did you mean "tx"?)`,
		}},
		{"unknown side stream", head + "views:\n  v: {from: tx.errors}\n", []string{
			`t.yaml:5: views.v.from: unknown side stream "errors" of source tx (a source has dead_letters and late)`,
		}},
		{"too many dots", head + "views:\n  v: {from: tx.late.x}\n", []string{
			`t.yaml:5: views.v.from: "tx.late.x" is not a stream name: want a source or view, or <source>.dead_letters or <source>.late`,
		}},
		{"leading dot", head + "views:\n  v: {from: .late}\n", []string{
			`t.yaml:5: views.v.from: ".late" is not a stream name: want a source or view, or <source>.dead_letters or <source>.late`,
		}},
		{"table is a view", head + "views:\n  w: {from: tx}\n  v: {from: tx, join: {table: w, on: a}}\n", []string{
			`t.yaml:6: views.v.join.table: "w" is a view; a join table must be a file source`,
		}},
		{"unknown table with a hint", head + table + "views:\n  v: {from: tx, join: {table: mm, on: a}}\n", []string{
			`t.yaml:6: views.v.join.table: unknown table "mm" (did you mean "m"?)`,
		}},
		{"table read by a view", head + table + "views:\n  v: {from: [tx, m]}\n", []string{
			`t.yaml:6: views.v.from[1]: "m" is a table source (table: true); join it with join: {table: m, on: ...} rather than reading it as a stream`,
		}},
		{"joined source streamed by a view before the join", head + "  m: {kind: file, path: m.csv, columns: {a: string}}\nviews:\n  s: {from: m}\n  v: {from: tx, join: {table: m, on: a}}\n", []string{
			`t.yaml:6: views.s.from: "m" is joined as a table by views.v (line 7), so it cannot also be read as a stream; declare a second source for the stream`,
		}},
		{"a side stream of a table is fine, its late stream is not", head + table + "views:\n  v: {from: [m.dead_letters, m.late]}\n", []string{
			"t.yaml:6: views.v.from[1]: source m has no event_time, so none of its records is ever late",
		}},
	})
}

// TestNameHintsAreBounded checks that a spec with more wrong references than maxNameHints
// gets a hint on the first of them and a plain error on the rest, every one reported.
func TestNameHintsAreBounded(t *testing.T) {
	var b strings.Builder
	b.WriteString(head + "views:\n")
	n := maxNameHints + 20
	for i := range n {
		fmt.Fprintf(&b, "  v%d: {from: tz}\n", i)
	}
	errs := parseErrors(t, b.String())
	if len(errs) != n {
		t.Fatalf("got %d errors, want %d", len(errs), n)
	}
	for i, e := range errs {
		hinted := strings.HasSuffix(e, `(did you mean "tx"?)`)
		if hinted != (i < maxNameHints) {
			t.Errorf("error %d: %s", i, e)
		}
	}
}
