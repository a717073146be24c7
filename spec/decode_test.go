package spec

import (
	"fmt"
	"strings"
	"testing"
)

// TestDecodeMechanics covers how YAML is read, whatever the key: types, nulls, duplicates,
// lists, anchors and merges, documents and syntax.
func TestDecodeMechanics(t *testing.T) {
	checkErrors(t, []errorCase{
		{"syntax error carries its line", "name: t\nsources:\n  tx: {kind: file\n", []string{
			"t.yaml:3: YAML: did not find expected ',' or '}'", // where the unclosed { is
		}},
		{"bad indentation", "name: t\nsources:\n  tx: {}\n us: {}\n", []string{
			"t.yaml:4: YAML: did not find expected key",
		}},
		{"unknown anchor", "name: t\nsources: *nope\n", []string{
			"t.yaml: YAML: unknown anchor 'nope' referenced",
		}},
		{"tabs", "name: t\nsources:\n\ttx: {}\n", []string{
			"t.yaml:3: YAML: found character that cannot start any token",
		}},
		{"duplicate top-level key", head + "name: u\n", []string{
			"t.yaml:4: name: duplicate key (first at line 1)",
		}},
		{"duplicate entry", head + "  tx: {kind: generator}\n", []string{
			"t.yaml:4: sources.tx: duplicate key (first at line 3)",
		}},
		{"non-string key", head + "views:\n  [a, b]: {from: tx}\n", []string{
			"t.yaml:5: views: keys must be non-empty strings",
		}},
		{"sources as a list", "name: t\nsources:\n  - tx\n", []string{
			"t.yaml:3: sources: must be a mapping of source names to sources",
		}},
		{"no sources", "name: t\nsources: {}\n", []string{
			"t.yaml:2: sources: no sources: a pipeline needs at least one",
		}},
		{"null sources", "name: t\nsources:\n", []string{
			"t.yaml:2: sources: no sources: a pipeline needs at least one",
		}},
		{"unknown top-level key", head + "sink:\n  out: {from: tx, kind: stdout}\n", []string{
			`t.yaml:4: sink: unknown key (did you mean "sinks"?)`,
		}},
		{"a string where a mapping belongs", head + "views:\n  v: tx\n", []string{
			"t.yaml:5: views.v: must be a mapping of view clauses, such as {from: tx, where: amount > 0}",
		}},
		{"a mapping where a string belongs", head + "views:\n  v: {from: {name: tx}}\n", []string{
			"t.yaml:5: views.v.from: must be a source or view name, or a list of them",
		}},
		{"nested list item", head + "views:\n  v: {from: [[tx]]}\n", []string{
			"t.yaml:5: views.v.from[0]: must be a source or view name",
		}},
		{"empty list", head + "views:\n  v: {from: []}\n", []string{
			"t.yaml:5: views.v.from: is empty; want a source or view name, or a list of them",
		}},
		{"null value", head + "views:\n  v: {from: tx, where: ~}\n", []string{
			"t.yaml:5: views.v.where: is empty; want an expression string",
		}},
		{"blank expression", head + "views:\n  v: {from: tx, where: '  '}\n", []string{
			"t.yaml:5: views.v.where: is empty; want an expression string",
		}},
		{"not a boolean", head + "  m: {kind: file, path: m.csv, columns: {a: string}, table: yes}\n", []string{
			`t.yaml:4: sources.m.table: "yes" is not true or false`,
		}},
		{"not a number", "name: t\nsources:\n  g: {kind: generator, rate: lots}\n", []string{
			`t.yaml:3: sources.g.rate: "lots" is not a number`,
		}},
		{"not finite", "name: t\nsources:\n  g: {kind: generator, rate: .inf}\n", []string{
			`t.yaml:3: sources.g.rate: ".inf" is not a number`,
		}},
		{"bad merge", head + "views:\n  v:\n    <<: tx\n    from: tx\n", []string{
			"t.yaml:6: views.v.<<: must be a mapping or a list of mappings to merge",
		}},
		{"negative duration", head + "  g: {kind: generator, watermark: -5s}\n", []string{
			"t.yaml:4: sources.g.watermark: -5s is negative; a duration here must not be",
		}},
	})
}

func TestScalarForms(t *testing.T) {
	s := mustParse(t, `name: t
sources:
  g:
    kind: generator
    rows: 1_000_000
    seed: 0x10
    rate: 1.5e3
    partitions: "2"
  m:
    kind: file
    path: m.csv
    columns: {a: string}
    table: TRUE
`)
	g := s.Source("g").Generator
	if g.Rows != 1_000_000 || g.Seed != 16 || g.Rate != 1500 || g.Partitions != 2 {
		t.Errorf("generator = %+v", g)
	}
	if !s.Source("m").Table {
		t.Error("table: TRUE was not read as true")
	}
}

func TestAnchorsAndMerges(t *testing.T) {
	s := mustParse(t, `name: t
sources:
  tx: &src {kind: file, path: tx.jsonl, schema: transaction, event_time: ts, watermark: 5s}
  tx2:
    <<: *src
    path: tx2.jsonl
  tx3:
    <<: [{watermark: 1s}, *src]
views:
  v: {from: [tx, tx2, tx3], where: &cond amount > 0}
  w: {from: tx, where: *cond}
`)
	tx2, tx3 := s.Source("tx2"), s.Source("tx3")
	if tx2.Path != "tx2.jsonl" || tx2.Watermark.String() != "5s" || tx2.Schema != "transaction" {
		t.Errorf("tx2 = %+v", tx2)
	}
	if tx3.Path != "tx.jsonl" || tx3.Watermark.String() != "1s" {
		t.Errorf("tx3 = %+v: earlier merged mappings must win", tx3)
	}
	if got := s.View("w").Where; got.Text != "amount > 0" || got.Path != "views.w.where" {
		t.Errorf("aliased where = %+v", got)
	}
}

func TestExprPositions(t *testing.T) {
	s := mustParse(t, head+`views:
  v:
    from: tx
    where: "amount > 0"
    having: 'n > 1'
    group_by:
      - card_id
    window: {tumble: 1m}
    select:
      n: count(*)
      folded: >
        CASE WHEN amount > 100
        THEN 'big' ELSE 'small' END
      literal: |-
          upper(country)
`)
	v := s.View("v")
	tests := []struct {
		e         Expr
		text      string
		line, col int
	}{
		{v.Where, "amount > 0", 7, 13}, // inside the quotes
		{v.Having, "n > 1", 8, 14},
		{v.GroupBy[0], "card_id", 10, 9},
		{v.Select[0].Expr, "count(*)", 13, 10},
		{v.Select[1].Expr, "CASE WHEN amount > 100 THEN 'big' ELSE 'small' END", 15, 9}, // first content line
		{v.Select[2].Expr, "upper(country)", 18, 11},
	}
	for _, tt := range tests {
		if tt.e.Text != tt.text || tt.e.Pos.Line != tt.line || tt.e.Pos.Column != tt.col {
			t.Errorf("%s = %q @%d:%d, want %q @%d:%d", tt.e.Path, tt.e.Text, tt.e.Pos.Line, tt.e.Pos.Column, tt.text, tt.line, tt.col)
		}
	}
}

func TestPathHelpers(t *testing.T) {
	for path, want := range map[string]string{
		"views.v.from[1]": "views.v.from",
		"views.v.from":    "views.v",
		"views":           "",
		"a[0][1]":         "a[0]",
	} {
		if got := parentPath(path); got != want {
			t.Errorf("parentPath(%q) = %q, want %q", path, got, want)
		}
	}
	if got := orList([]string{"a"}); got != "a" {
		t.Errorf("orList(a) = %q", got)
	}
	if got := orList([]string{"a", "b", "c"}); got != "a, b or c" {
		t.Errorf("orList(a, b, c) = %q", got)
	}
}

// TestMergeBomb checks that merging the same mapping many times over, nested, costs what
// reading it once does.
func TestMergeBomb(t *testing.T) {
	var b strings.Builder
	b.WriteString(head + "  g0: &g0 {kind: generator, rate: 1}\n")
	for i := 1; i <= 30; i++ {
		fmt.Fprintf(&b, "  g%d: &g%d {<<: [*g%d, *g%d, *g%d, *g%d]}\n", i, i, i-1, i-1, i-1, i-1)
	}
	s := mustParse(t, b.String())
	if g := s.Source("g30"); g.Kind != SourceGenerator || g.Generator.Rate != 1 {
		t.Errorf("g30 = %+v", g)
	}
}
