package plan

import (
	"context"
	"fmt"
	"maps"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"

	"millrace/engine"
	"millrace/engine/enginetest"
	"millrace/op"
	"millrace/schema"
	"millrace/spec"
)

// TestChangelogAggregatePlanErrors checks what a view reading a changelog is refused: a
// window, an aggregate that cannot take a row back, a join, and a union with a stream that
// is no changelog; and that the plan says what the step does.
func TestChangelogAggregatePlanErrors(t *testing.T) {
	const head = "name: e\nsources:\n  tx: {kind: generator, rows: 10, event_time: ts}\nviews:\n" +
		"  v: {from: tx, group_by: [card_id, merchant_id], select: {n: count(*), spend: sum(amount)}, emit: batch}\n"
	for _, c := range []struct{ views, want string }{
		{"  w: {from: v, group_by: merchant_id, window: {tumble: 1m}, select: {n: sum(n)}}\n",
			"views.w.from[0]: v is a changelog (rows of _op +I, -U, +U, -D), which a view reads only to aggregate it with group_by and no window (count, count_if, sum, avg, min, max), taking back what -U and -D retract; remove window"},
		{"  w: {from: v, group_by: merchant_id, select: {p: \"quantile(spend, 0.5)\"}}\n",
			"views.w.select.p: quantile(spend, 0.5) cannot take back the rows a changelog retracts: over a changelog, aggregates are count, count_if, sum, avg, min and max"},
		{"  w: {from: v, group_by: merchant_id, select: {d: approx_count_distinct(card_id)}}\n",
			"approx_count_distinct(card_id) cannot take back the rows a changelog retracts"},
		{"  w: {from: v, group_by: merchant_id, select: {d: count(DISTINCT card_id)}}\n",
			"views.w.select.d: count(DISTINCT card_id) cannot take back the rows a changelog retracts"},
		{"  w: {from: [v, tx], group_by: merchant_id, select: {n: count(*)}}\n",
			"views.w.from[1]: cannot union tx with v"},
		{"  w: {from: v, group_by: merchant_id, top: {n: 2, by: n}}\n",
			"write the join, dedup, top, over or qualify in a view before the changelog"},
	} {
		s, err := spec.Parse([]byte(head+c.views), "e.yaml", nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Build(s, Options{Parallelism: 2}); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want %q", c.views, err, c.want)
		}
	}
	s, err := spec.Parse([]byte(head+"  w: {from: v, group_by: merchant_id, select: {cards: count(*), top: max(spend)}, having: cards > 1}\n"), "e.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	p, err := Build(s, Options{Parallelism: 2})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"w  [changelog aggregate, parallelism 2]", "<- w.prepare (hash by merchant_id)",
		"count(*), max(spend) of the table the changelog makes (+I and +U rows added, -U and -D taken back), emitted once the input has ended",
		"having cards > 1", "columns: merchant_id utf8, cards int64, top decimal(38, 2)"} {
		if !strings.Contains(p.String(), want) {
			t.Errorf("plan lacks %q:\n%s", want, p)
		}
	}
}

// pairsSpec keeps each card's largest payment at each merchant as a changelog, and per
// merchant aggregates that changelog as a table: how many cards, the sum, largest and least
// of their largest payments, and how many of those are above 100, for merchants with two
// cards or more.
const pairsSpec = `
name: pairs
sources:
  tx: {kind: file, path: %s, schema: transaction, event_time: ts, watermark: 5s}
views:
  per_pair:
    from: tx
    group_by: [card_id, merchant_id]
    select: {top: max(amount)}
    emit: batch
  per_merchant:
    from: per_pair
    group_by: [merchant_id]
    select: {cards: count(*), spend: sum(top), most: max(top), least: min(top), big: "count(*) FILTER (WHERE top > 100)"}
    having: cards >= 2
    emit: %s
sinks:
  out: {from: per_merchant, kind: jsonl, path: %s}
`

// referenceMerchants computes per_merchant row by row: merchant|cards|spend|most|least|big.
func referenceMerchants(t *testing.T, path string) map[string]string {
	top := map[[2]string]int64{}
	for _, rec := range readAll(t, path, schema.Transaction()) {
		cards := rec.Column(schema.CardID).(*array.String)
		merchants := rec.Column(schema.MerchantID).(*array.String)
		amount := rec.Column(schema.AmountCol).(*array.Decimal128)
		for i := range int(rec.NumRows()) {
			k := [2]string{cards.Value(i), merchants.Value(i)}
			c := int64(amount.Value(i).LowBits())
			if old, ok := top[k]; !ok || c > old {
				top[k] = c
			}
		}
		rec.Release()
	}
	type agg struct{ n, sum, most, least, big int64 }
	per := map[string]*agg{}
	for k, c := range top {
		a := per[k[1]]
		if a == nil {
			a = &agg{most: c, least: c}
			per[k[1]] = a
		}
		a.n, a.sum, a.most, a.least = a.n+1, a.sum+c, max(a.most, c), min(a.least, c)
		if c > 100_00 {
			a.big++
		}
	}
	out := map[string]string{}
	for m, a := range per {
		if a.n >= 2 {
			out[m] = fmt.Sprintf("%d|%s|%s|%s|%d", a.n, cents2(a.sum), cents2(a.most), cents2(a.least), a.big)
		}
	}
	return out
}

// applyMerchantChanges applies a per_merchant changelog in order: an insert of a merchant
// held, or a retraction of a row the merchant does not hold, fails the test.
func applyMerchantChanges(t *testing.T, rows []map[string]any) (map[string]string, map[string]int) {
	t.Helper()
	table, kinds := map[string]string{}, map[string]int{}
	for i, r := range rows {
		m, _ := r["merchant_id"].(string)
		row := fmt.Sprintf("%v|%v|%v|%v|%v", r["cards"], r["spend"], r["most"], r["least"], r["big"])
		kind, _ := r[op.OpColumn].(string)
		kinds[kind]++
		old, has := table[m]
		switch kind {
		case op.OpInsert, op.OpUpdateAfter:
			if kind == op.OpInsert && has {
				t.Fatalf("row %d inserts %v, which holds %s", i, r, old)
			}
			table[m] = row
		case op.OpUpdateBefore, op.OpDelete:
			if !has || old != row {
				t.Fatalf("row %d retracts %v, which holds %q (present %v)", i, r, old, has)
			}
			delete(table, m)
		default:
			t.Fatalf("row %d has _op %q", i, kind)
		}
	}
	return table, kinds
}

// TestChangelogAggregateResumesFromACheckpoint aggregates a changelog (each card's largest
// payment per merchant) per merchant, stopped at a checkpoint taken by key group, resumed at
// another parallelism, stopped again and finished at a third: the changelog the file holds,
// applied in order, equals the table computed row by row, every kind of change occurring;
// emit: final over the same input writes that table at once.
func TestChangelogAggregateResumesFromACheckpoint(t *testing.T) {
	dir := t.TempDir()
	rows := int64(100_000)
	if testing.Short() {
		rows = 30_000
	}
	input := changelogInput(t, dir, rows)
	want := referenceMerchants(t, input)
	if len(want) < 20 {
		t.Fatalf("the reference holds %d merchants: too few to test", len(want))
	}
	build := func(emit, out string, p int) *Plan {
		s, err := spec.Parse([]byte(fmt.Sprintf(pairsSpec, input, emit, out)), "pairs.yaml", nil)
		if err != nil {
			t.Fatal(err)
		}
		pl, err := Build(s, Options{Parallelism: p, Partitions: 1})
		if err != nil {
			t.Fatal(err)
		}
		return pl
	}
	final := filepath.Join(dir, "final.jsonl")
	if _, err := engine.Run(context.Background(), build("final", final, 4).Graph, engine.DefaultOptions()); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, r := range changelogRows(t, final) {
		got[r["merchant_id"].(string)] = fmt.Sprintf("%v|%v|%v|%v|%v", r["cards"], r["spend"], r["most"], r["least"], r["big"])
	}
	if !maps.Equal(got, want) {
		t.Fatalf("emit: final wrote %d merchants, want %d", len(got), len(want))
	}

	out := filepath.Join(dir, "batch.jsonl")
	runResumed(t, []enginetest.Stage{{P: 3, ByGroup: true}, {P: 5, ByGroup: false}, {P: 1, ByGroup: false}}, func(p int) *Plan {
		return build("batch", out, p)
	})
	table, kinds := applyMerchantChanges(t, changelogRows(t, out))
	if !maps.Equal(table, want) {
		t.Fatalf("the applied changelog holds %d merchants, want %d", len(table), len(want))
	}
	if kinds[op.OpUpdateAfter] == 0 || kinds[op.OpUpdateBefore] != kinds[op.OpUpdateAfter] {
		t.Fatalf("changes %v", kinds)
	}
}
