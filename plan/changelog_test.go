package plan

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"millrace/engine"
	"millrace/engine/enginetest"
	"millrace/gen"
	"millrace/op"
	"millrace/schema"
	"millrace/spec"
)

// changelogSpec totals each card's spending without a window; having turns false for a
// card once it has spent 1,500 or more, which deletes its row, and true once it has two
// payments, which inserts it.
const changelogSpec = `
name: totals
sources:
  tx: {kind: file, path: %s, schema: transaction, event_time: ts, watermark: 5s}
views:
  per_card:
    from: tx
    where: channel <> 'atm'
    group_by: [card_id]
    select: {n: count(*), volume: sum(amount), top: max(amount)}
    having: n >= 2 AND volume < 1500
    emit: %s
sinks:
  out: {from: per_card, kind: jsonl, path: %s}
`

func changelogPlan(t *testing.T, input, emit, out string, p int) *Plan {
	t.Helper()
	s, err := spec.Parse([]byte(fmt.Sprintf(changelogSpec, input, emit, out)), "totals.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	pl, err := Build(s, Options{Parallelism: p, Partitions: 1})
	if err != nil {
		t.Fatal(err)
	}
	return pl
}

// referenceCardTotals computes the per_card table row by row: card|n|volume|top.
func referenceCardTotals(t *testing.T, path string) map[string]string {
	type total struct{ n, cents, top int64 }
	totals := map[string]*total{}
	for _, rec := range readAll(t, path, schema.Transaction()) {
		cards := rec.Column(schema.CardID).(*array.String)
		channel := rec.Column(schema.Channel).(*array.String)
		amount := rec.Column(schema.AmountCol).(*array.Decimal128)
		for i := range int(rec.NumRows()) {
			if channel.Value(i) == "atm" {
				continue
			}
			c := int64(amount.Value(i).LowBits())
			tot := totals[cards.Value(i)]
			if tot == nil {
				tot = &total{top: c}
				totals[cards.Value(i)] = tot
			}
			tot.n, tot.cents, tot.top = tot.n+1, tot.cents+c, max(tot.top, c)
		}
		rec.Release()
	}
	out := map[string]string{}
	for card, tot := range totals {
		if tot.n >= 2 && tot.cents < 150_000 {
			out[card] = fmt.Sprintf("%d|%s|%s", tot.n, cents2(tot.cents), cents2(tot.top))
		}
	}
	return out
}

// cardRow renders a per_card row as referenceCardTotals does.
func cardRow(m map[string]any) string {
	return fmt.Sprintf("%v|%v|%v", m["n"], m["volume"], m["top"])
}

// applyCardChanges applies the changelog rows of a per_card sink, in order, to table and
// counts each kind of change. A change that does not fit the table fails the test: an insert
// of a card present, an update before or delete whose row is not the card's, an update
// before not followed by the card's update after.
func applyCardChanges(t *testing.T, table map[string]string, rows []map[string]any) map[string]int {
	t.Helper()
	kinds := map[string]int{}
	var before map[string]any
	for i, r := range rows {
		card, _ := r["card_id"].(string)
		kind, _ := r[op.OpColumn].(string)
		kinds[kind]++
		if before != nil && (kind != op.OpUpdateAfter || card != before["card_id"]) {
			t.Fatalf("row %d (%v) follows the update before %v", i, r, before)
		}
		before = nil
		old, has := table[card]
		switch kind {
		case op.OpInsert:
			if has {
				t.Fatalf("row %d inserts %v, which holds %s", i, r, old)
			}
			table[card] = cardRow(r)
		case op.OpUpdateBefore, op.OpDelete:
			if !has || old != cardRow(r) {
				t.Fatalf("row %d retracts %v, which holds %q (present %v)", i, r, old, has)
			}
			delete(table, card)
			if kind == op.OpUpdateBefore {
				before = r
			}
		case op.OpUpdateAfter:
			table[card] = cardRow(r)
		default:
			t.Fatalf("row %d has _op %q: %v", i, kind, r)
		}
	}
	if before != nil {
		t.Fatalf("the last row %v is an update before", before)
	}
	return kinds
}

// changelogRows reads a JSONL sink's rows in file order, numbers as written.
func changelogRows(t *testing.T, path string) []map[string]any {
	t.Helper()
	rows := numberLines(t, path)
	for _, r := range rows {
		for k, v := range r {
			if n, ok := v.(json.Number); ok {
				r[k] = n.String()
			}
		}
	}
	return rows
}

func changelogInput(t *testing.T, dir string, rows int64) string {
	cfg := gen.DefaultConfig()
	cfg.Rows, cfg.Seed, cfg.Partitions, cfg.Disorder, cfg.Accounts = rows, 8, 1, 2*time.Second, 1500
	return writeTx(t, dir, cfg)
}

// TestChangelogAppliedEqualsTheTable totals cards without a window, emitting a changelog
// per batch and on the watermark, at parallelism 1 to 8: applying each changelog in order
// gives the table computed row by row, and that emit: final writes; every kind of change
// occurs.
func TestChangelogAppliedEqualsTheTable(t *testing.T) {
	dir := t.TempDir()
	input := changelogInput(t, dir, 60_000)
	want := referenceCardTotals(t, input)
	if len(want) < 100 {
		t.Fatalf("the reference holds %d cards: too few to test", len(want))
	}
	final := filepath.Join(dir, "final.jsonl")
	pl := changelogPlan(t, input, "final", final, 3)
	if _, err := engine.Run(context.Background(), pl.Graph, engine.DefaultOptions()); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, r := range changelogRows(t, final) {
		if _, ok := r[op.OpColumn]; ok {
			t.Fatalf("emit: final wrote a changelog row %v", r)
		}
		got[r["card_id"].(string)] = cardRow(r)
	}
	if !maps.Equal(got, want) {
		t.Fatalf("emit: final wrote %d cards, want %d", len(got), len(want))
	}

	parallelisms := []int{1, 2, 3, 4, 5, 6, 7, 8}
	if testing.Short() {
		parallelisms = []int{1, 3, 8}
	}
	for _, emit := range []string{"batch", "watermark"} {
		for _, p := range parallelisms {
			out := filepath.Join(dir, fmt.Sprintf("%s-%d.jsonl", emit, p))
			pl := changelogPlan(t, input, emit, out, p)
			if s := pl.String(); !strings.Contains(s, "_op utf8, card_id utf8, n int64") || !strings.Contains(s, "changelog (_op: +I, -U/+U, -D)") {
				t.Fatalf("plan:\n%s", s)
			}
			stats, err := engine.Run(context.Background(), pl.Graph, engine.DefaultOptions())
			if err != nil {
				t.Fatal(err)
			}
			if l := pl.Ledger(stats); !l.Balanced() || l.Sources[0].Late != 0 {
				t.Fatalf("emit %s at %d: ledger:\n%s", emit, p, l)
			}
			table := map[string]string{}
			kinds := applyCardChanges(t, table, changelogRows(t, out))
			if !maps.Equal(table, want) {
				t.Fatalf("emit %s at %d: the applied changelog holds %d cards, want %d", emit, p, len(table), len(want))
			}
			if kinds[op.OpInsert] < len(want) || kinds[op.OpUpdateAfter] == 0 || kinds[op.OpDelete] == 0 || kinds[op.OpUpdateBefore] != kinds[op.OpUpdateAfter] {
				t.Fatalf("emit %s at %d: changes %v", emit, p, kinds)
			}
		}
	}
}

// TestChangelogResumesFromACheckpoint stops a changelog of card totals at a checkpoint taken
// by key group, resumes it at another parallelism, stops again and finishes at a third (a
// busy machine may read to the end before the second stop), once per batch and once on the
// watermark: the changelog the file holds, applied in order, equals the table computed row
// by row.
func TestChangelogResumesFromACheckpoint(t *testing.T) {
	if testing.Short() {
		t.Skip("totals 200,000 transactions in six runs")
	}
	dir := t.TempDir()
	input := changelogInput(t, dir, 200_000)
	want := referenceCardTotals(t, input)
	for _, emit := range []string{"batch", "watermark"} {
		out := filepath.Join(dir, emit+".jsonl")
		t.Run("emit "+emit, func(t *testing.T) {
			runResumed(t, []enginetest.Stage{{P: 3, ByGroup: true}, {P: 5, ByGroup: false}, {P: 1, ByGroup: false}}, func(p int) *Plan {
				return changelogPlan(t, input, emit, out, p)
			})
			table := map[string]string{}
			applyCardChanges(t, table, changelogRows(t, out))
			if !maps.Equal(table, want) {
				t.Fatalf("the applied changelog holds %d cards, want %d", len(table), len(want))
			}
		})
	}
}

// TestChangelogPlanErrors refuses emit on a view that does not aggregate, emit: watermark
// without an event time, a view reading a changelog, a top's group_by that is not a column
// and its unknown by, and an upsert sink of a top or of rows that are no changelog.
func TestChangelogPlanErrors(t *testing.T) {
	plain := filepath.Join(t.TempDir(), "x.jsonl")
	if err := os.WriteFile(plain, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ views, want string }{
		{"  v: {from: tx, where: amount > 0, emit: batch}\n",
			"views.v.emit: needs group_by or aggregates"},
		{"  v: {from: plain, group_by: card_id, select: {n: count(*)}, emit: watermark}\n",
			"views.v.emit: watermark needs an event time, and input plain has none; write emit: batch"},
		{"  v: {from: tx, group_by: card_id, select: {n: count(*)}, emit: batch}\n  w: {from: v, where: n > 1}\n",
			"views.w.from[0]: v is a changelog (rows of _op +I, -U, +U, -D), which a view reads only to aggregate it"},
		{"  v: {from: tx, group_by: upper(card_id), top: {n: 2, by: amount}}\n",
			"views.v.group_by: a top view's group_by names columns of its rows (compute others in select)"},
		{"  v: {from: tx, group_by: card_id, top: {n: 2, by: amont}}\n",
			`views.v.top.by: unknown column "amont"`},
		{"  v: {from: tx, group_by: card_id, top: {n: 2, by: amount}}\nsinks:\n  k: {from: v, kind: kafka, brokers: [b:9092], topic: t, mode: upsert}\n",
			"sinks.k.mode: upsert writes one row per key, and v keeps several per key (a top)"},
		{"  v: {from: tx, where: amount > 0}\nsinks:\n  k: {from: v, kind: kafka, brokers: [b:9092], topic: t, mode: upsert}\n",
			"sinks.k.mode: upsert writes a changelog by key, and v is none"},
	} {
		text := "name: e\nsources:\n  tx: {kind: generator, rows: 10, event_time: ts}\n  plain: {kind: file, path: " + plain + ", schema: transaction}\nviews:\n" + c.views
		s, err := spec.Parse([]byte(text), "e.yaml", nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Build(s, Options{Parallelism: 2}); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want %q", c.views, err, c.want)
		}
	}
}

// TestChangelogFilesCarryOp writes one changelog to JSONL, CSV and Parquet files and reads
// each back: the _op column comes first in all three, and each file, applied in order,
// gives the table computed row by row.
func TestChangelogFilesCarryOp(t *testing.T) {
	dir := t.TempDir()
	input := changelogInput(t, dir, 20_000)
	want := referenceCardTotals(t, input)
	text := fmt.Sprintf(changelogSpec, input, "batch", filepath.Join(dir, "out.jsonl")) +
		fmt.Sprintf("  csv: {from: per_card, kind: csv, path: %s}\n  parquet: {from: per_card, kind: parquet, path: %s}\n",
			filepath.Join(dir, "out.csv"), filepath.Join(dir, "out.parquet"))
	s, err := spec.Parse([]byte(text), "totals.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	pl, err := Build(s, Options{Parallelism: 3, Partitions: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := engine.Run(context.Background(), pl.Graph, engine.DefaultOptions()); err != nil {
		t.Fatal(err)
	}
	for _, o := range pl.Outputs {
		if o.Schema.Field(0).Name != op.OpColumn {
			t.Fatalf("sink %s writes %s", o.Sink, o.Schema)
		}
		var rows []map[string]any
		for _, rec := range readAll(t, o.File.Path, o.Schema) {
			for i := range int(rec.NumRows()) {
				m := map[string]any{}
				for c, f := range o.Schema.Fields() {
					m[f.Name] = rec.Column(c).ValueStr(i)
					if d, ok := rec.Column(c).(*array.Decimal128); ok { // with every place, as JSON has it
						m[f.Name] = d.Value(i).ToString(f.Type.(*arrow.Decimal128Type).Scale)
					}
				}
				rows = append(rows, m)
			}
			rec.Release()
		}
		table := map[string]string{}
		kinds := applyCardChanges(t, table, rows)
		if !maps.Equal(table, want) || kinds[op.OpDelete] == 0 {
			t.Fatalf("sink %s: the applied changelog holds %d cards, want %d; changes %v", o.Sink, len(table), len(want), kinds)
		}
	}
}
