package spec

import (
	"reflect"
	"testing"
)

func TestViewClauses(t *testing.T) {
	s := mustParse(t, head+`  m: {kind: file, path: m.csv, table: true, columns: {merchant_id: string, mcc: int32, risk: float64}}
views:
  u:
    from: [tx, tx.late]
  j:
    from: u
    join: {table: m, on: [merchant_id, mcc]}
    where: risk > 0.5
    select:
      zeta: risk
      alpha: amount
      mid: merchant_id
  g:
    from: j
    group_by: [mid, "upper(alpha)"]
    having: count(*) > 1
`)
	u, j, g := s.View("u"), s.View("j"), s.View("g")
	if !reflect.DeepEqual(u.From, []string{"tx", "tx.late"}) || u.Select != nil || u.Where.IsZero() == false {
		t.Errorf("u = %+v", u)
	}
	if j.Join == nil || j.Join.Table != "m" || !reflect.DeepEqual(j.Join.On, []string{"merchant_id", "mcc"}) || j.Join.Type != LeftJoin {
		t.Errorf("j.Join = %+v, want a left join on m", j.Join)
	}
	var names []string
	for _, f := range j.Select {
		names = append(names, f.Name)
	}
	if !reflect.DeepEqual(names, []string{"zeta", "alpha", "mid"}) {
		t.Errorf("select order = %v, want the file's", names)
	}
	if len(g.GroupBy) != 2 || g.GroupBy[1].Text != "upper(alpha)" || g.GroupBy[1].Path != "views.g.group_by[1]" || g.Having.Text != "count(*) > 1" {
		t.Errorf("g = %+v", g)
	}
	if g.Window != nil || g.Join != nil {
		t.Error("absent clauses must be nil")
	}
}

func TestViewErrors(t *testing.T) {
	checkErrors(t, []errorCase{
		{"from missing", head + "views:\n  v: {where: amount > 0}\n", []string{
			"t.yaml:5: views.v: from is required: the source or view it reads",
		}},
		{"null view", head + "views:\n  v:\n", []string{
			"t.yaml:5: views.v: from is required: the source or view it reads",
		}},
		{"from listed twice", head + "views:\n  v: {from: [tx, tx]}\n", []string{
			`t.yaml:5: views.v.from[1]: "tx" is listed twice`,
		}},
		{"select as a list", head + "views:\n  v: {from: tx, select: [a, b]}\n", []string{
			"t.yaml:5: views.v.select: must be a mapping of output column names to expressions, such as {n: count(*)}",
		}},
		{"select empty", head + "views:\n  v: {from: tx, select: {}}\n", []string{
			"t.yaml:5: views.v.select: is empty; want at least one output column, or leave select out to keep the input columns",
		}},
		{"select name", head + "views:\n  v: {from: tx, select: {total amount: sum(amount)}}\n", []string{
			`t.yaml:5: views.v.select.total amount: "total amount" is not a valid column name: use letters, digits and _, not starting with a digit`,
		}},
		{"duplicate output column", head + "views:\n  v:\n    from: tx\n    select:\n      n: count(*)\n      n: sum(amount)\n", []string{
			"t.yaml:9: views.v.select.n: the select names two columns n (the first at line 8): give each its own name",
		}},
		{"having with a window is fine, without is not", head + "views:\n  a: {from: tx, window: {tumble: 1m}, select: {n: count(*)}, having: n > 1}\n  b: {from: tx, having: n > 1}\n", []string{
			"t.yaml:6: views.b.having: needs group_by or window: having filters aggregated rows (use where to filter input rows)",
		}},
		{"qualify with aggregation", head + "views:\n  v: {from: tx, group_by: card_id, window: {tumble: 1m}, having: amount > 1, qualify: amount = max(amount)}\n", []string{
			"t.yaml:5: views.v.qualify: cannot be combined with group_by: qualify keeps input rows, it does not aggregate",
			"t.yaml:5: views.v.qualify: cannot be combined with having: qualify keeps input rows, it does not aggregate",
		}},
		{"qualify over a hopping window", head + "views:\n  v: {from: tx, window: {hop: 1m, every: 10s}, qualify: amount = max(amount)}\n", []string{
			"t.yaml:5: views.v.qualify: needs a tumble window, not hop: write window: {tumble: D}, or leave window out to qualify a window view's rows",
		}},
		{"join shape", head + "views:\n  v: {from: tx, join: merchants}\n", []string{
			"t.yaml:5: views.v.join: must be a mapping such as {table: merchants, on: merchant_id}",
		}},
		{"join keys", head + "  m: {kind: file, path: m.csv, table: true, columns: {a: string}}\nviews:\n  v: {from: tx, join: {tabel: m, on: ['a b']}}\n", []string{
			`t.yaml:6: views.v.join.tabel: unknown key (did you mean "table"?)`,
			`t.yaml:6: views.v.join.on[0]: "a b" is not a column name: use letters, digits and _, not starting with a digit`,
			"t.yaml:6: views.v.join: table or stream is required: the table source to look rows up in, or the source or view to join in an interval of event time",
		}},
	})
}
