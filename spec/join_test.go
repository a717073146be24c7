package spec

import (
	"reflect"
	"testing"
	"time"
)

func TestIntervalJoinClauses(t *testing.T) {
	s := mustParse(t, head+`views:
  settled:
    from: tx
    join: {stream: late_tx, on: tx_id, within: [-5m, 72h], type: full}
  late_tx:
    from: tx.late
`)
	j := s.View("settled").Join
	if j == nil || j.Stream != "late_tx" || j.Table != "" || j.Type != FullJoin ||
		j.Within != [2]time.Duration{-5 * time.Minute, 72 * time.Hour} || !reflect.DeepEqual(j.On, []string{"tx_id"}) {
		t.Errorf("join = %+v", j)
	}
	if got := s.Order(); !reflect.DeepEqual(got, []string{"late_tx", "settled"}) {
		t.Errorf("order %v: a view must come after the stream it joins", got)
	}
	if got := s.Inputs("settled"); !reflect.DeepEqual(got, []string{"tx", "late_tx"}) {
		t.Errorf("inputs %v", got)
	}
	until := mustParse(t, head+"views:\n  v: {from: tx, join: {stream: tx, on: tx_id, within: [-1s, expires]}}\n").View("v").Join
	if until.Within[0] != -time.Second || until.Until != "expires" {
		t.Errorf("within: [-1s, expires] gives %v and until %q", until.Within, until.Until)
	}
	inner := mustParse(t, head+"views:\n  v: {from: tx, join: {stream: tx, on: tx_id, within: [0s, 1h]}}\n")
	if ty := inner.View("v").Join.Type; ty != InnerJoin {
		t.Errorf("an interval join defaults to %s, want inner", ty)
	}
}

func TestIntervalJoinErrors(t *testing.T) {
	checkErrors(t, []errorCase{
		{"table and stream", head + "  m: {kind: file, path: m.csv, table: true, columns: {a: string}}\nviews:\n  v: {from: tx, join: {table: m, stream: tx, on: a, within: [0s, 1h]}}\n", []string{
			"t.yaml:6: views.v.join.stream: cannot be combined with table: join a table source (lookup) or a stream (interval), not both",
		}},
		{"stream without within", head + "views:\n  v: {from: tx, join: {stream: tx, on: tx_id}}\n", []string{
			"t.yaml:5: views.v.join: within, window, ttl or as_of is required with stream: within: [lower, upper] for an interval of event time (such as [0s, 72h]), window: {tumble: D} for rows of one window, ttl: D for a regular join, or as_of: true for the version valid at each row's time",
		}},
		{"bounds reversed", head + "views:\n  v: {from: tx, join: {stream: tx, on: tx_id, within: [1h, 0s]}}\n", []string{
			"t.yaml:5: views.v.join.within: lower bound 1h0m0s is above upper bound 0s",
		}},
		{"one bound", head + "views:\n  v: {from: tx, join: {stream: tx, on: tx_id, within: [1h]}}\n", []string{
			"t.yaml:5: views.v.join.within: has 1 durations; want two, [lower, upper], such as [0s, 72h] or [-5m, 5m], or [lower, COLUMN] such as [0s, expires]",
		}},
		{"lower bound from a column", head + "views:\n  v: {from: tx, join: {stream: tx, on: tx_id, within: [ts, 1h]}}\n", []string{
			`t.yaml:5: views.v.join.within[0]: "ts": the lower bound is a duration; only the upper bound may name a column of the input`,
		}},
		{"left join up to a column", head + "views:\n  v: {from: tx, join: {stream: tx, on: tx_id, within: [0s, ts], type: left}}\n", []string{
			"t.yaml:5: views.v.join.type: a join whose upper bound is the column ts is inner or right, not left",
		}},
		{"unknown stream", head + "views:\n  v: {from: tx, join: {stream: settlements, on: tx_id, within: [0s, 1h]}}\n", []string{
			`t.yaml:5: views.v.join.stream: unknown source or view "settlements"`,
		}},
		{"full lookup", head + "  m: {kind: file, path: m.csv, table: true, columns: {a: string}}\nviews:\n  v: {from: tx, join: {table: m, on: a, type: full}}\n", []string{
			"t.yaml:6: views.v.join.type: full needs a join with a stream; a lookup join is left or inner",
		}},
	})
}
