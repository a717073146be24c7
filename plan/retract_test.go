package plan

import (
	"strings"
	"testing"

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
