package spec

import (
	"fmt"
	"slices"
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
  failed: {from: again.errors}
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
	if order := s.Order(); slices.Index(order, "again") > slices.Index(order, "failed") {
		t.Errorf("order %v: a view reading another's errors comes first", order)
	}
}

func TestOnError(t *testing.T) {
	s := mustParse(t, `name: t
sources:
  tx: {kind: file, path: tx.jsonl.gz, schema: transaction, on_error: fail}
  ty: {kind: file, path: ty.parquet, schema: transaction, on_error: continue}
views:
  v: {from: tx, select: {n: "CAST(tx_id AS int64)"}, on_error: fail}
  w: {from: ty, select: {n: "CAST(tx_id AS int64)"}}
`)
	if !s.Source("tx").OnError.Fails() || s.Source("ty").OnError.Fails() || !s.View("v").OnError.Fails() || s.View("w").OnError.Fails() {
		t.Errorf("on_error: sources %q %q, views %q %q", s.Source("tx").OnError, s.Source("ty").OnError, s.View("v").OnError, s.View("w").OnError)
	}
	checkErrors(t, []errorCase{
		{"not a choice", head + "views:\n  v: {from: tx, on_error: skip}\n", []string{
			`t.yaml:5: views.v.on_error: "skip" is not continue or fail`,
		}},
		{"a source's", "name: t\nsources:\n  tx: {kind: file, path: tx.jsonl, schema: transaction, on_error: [fail]}\n", []string{
			`t.yaml:3: sources.tx.on_error: must be continue or fail`,
		}},
		{"errors of a view that fails", head + "views:\n  v: {from: tx, on_error: fail}\nsinks:\n  e: {from: v.errors, kind: stdout}\n", []string{
			`t.yaml:7: sinks.e.from: view v has on_error: fail, so it has no errors to read`,
		}},
		{"another side stream of a view", head + "views:\n  v: {from: tx}\n  w: {from: v.late}\n", []string{
			`t.yaml:6: views.w.from: unknown side stream "late" of view v (a view has errors; dead_letters and late belong to sources)`,
		}},
	})
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
			`t.yaml:5: views.v.from: "tx.late.x" is not a stream name: want a source or view, <source>.dead_letters, <source>.late or <view>.errors`,
		}},
		{"leading dot", head + "views:\n  v: {from: .late}\n", []string{
			`t.yaml:5: views.v.from: ".late" is not a stream name: want a source or view, <source>.dead_letters, <source>.late or <view>.errors`,
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
