package plan

import (
	"strings"
	"testing"

	"millrace/spec"
)

func TestLakePushdown(t *testing.T) {
	const head = "name: t\nsources:\n  tx: {kind: lake, path: lake, schema: transaction, event_time: ts, partitioning: {day: date}, checks: [amount > 0]}\n"
	for _, tc := range []struct {
		name, views string
		filter      string // the filter pushed down, "" for none
		columns     string // the columns decoded
	}{
		{"one view",
			"views:\n  v: {from: tx, where: day = '2026-03-01' AND country = 'DE', select: {id: tx_id}}\nsinks:\n  o: {from: v, kind: stdout}\n",
			"day = '2026-03-01' AND country = 'DE'", "tx_id ts amount country day"},
		{"common conjuncts of two views",
			"views:\n  a: {from: tx, where: day = '2026-03-01' AND mcc = 1, select: {m: mcc}}\n  b: {from: tx, where: \"mcc = 2 AND day = '2026-03-01'\", group_by: [card_id], window: {tumble: 1m}, select: {n: count(*)}}\nsinks:\n  a: {from: a, kind: stdout}\n  b: {from: b, kind: stdout}\n",
			"day = '2026-03-01' AND (day = '2026-03-01' AND mcc = 1 OR mcc = 2 AND day = '2026-03-01')", "ts card_id mcc amount day"},
		{"a view without where",
			"views:\n  a: {from: tx, where: day = '2026-03-01', select: {m: mcc}}\n  b: {from: tx, select: {c: currency}}\nsinks:\n  a: {from: a, kind: stdout}\n  b: {from: b, kind: stdout}\n",
			"", "ts mcc amount currency day"},
		{"a view passing every column on",
			"views:\n  a: {from: tx, where: day = '2026-03-01'}\nsinks:\n  a: {from: a, kind: stdout}\n",
			"day = '2026-03-01'", "tx_id ts account_id card_id merchant_id mcc amount currency country channel lat lon is_fraud day"},
		{"a sink of the source",
			"views:\n  a: {from: tx, where: day = '2026-03-01', select: {m: mcc}}\nsinks:\n  a: {from: a, kind: stdout}\n  raw: {from: tx, kind: stdout}\n",
			"", "tx_id ts account_id card_id merchant_id mcc amount currency country channel lat lon is_fraud day"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sp, err := spec.Parse([]byte(head+tc.views), "t.yaml", nil)
			if err != nil {
				t.Fatal(err)
			}
			filter, _ := lakeFilter(sp, "tx")
			got := ""
			if filter != nil {
				got = filter.String()
			}
			if got != tc.filter {
				t.Errorf("filter %q, want %q", got, tc.filter)
			}
			full, err := sp.Source("tx").ArrowSchema()
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, f := range usedColumns(sp, sp.Source("tx"), full).Fields() {
				names = append(names, f.Name)
			}
			if strings.Join(names, " ") != tc.columns {
				t.Errorf("columns %s, want %s", strings.Join(names, " "), tc.columns)
			}
		})
	}
}
