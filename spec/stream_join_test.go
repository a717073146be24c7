package spec

import (
	"testing"
	"time"
)

func TestStreamJoinKinds(t *testing.T) {
	s := mustParse(t, head+`views:
  w: {from: tx, join: {stream: tx, on: card_id, window: {hop: 10s, every: 5s}, type: left}}
  r: {from: tx, join: {stream: tx, on: card_id, ttl: 10m}}
  a: {from: tx, join: {stream: tx, on: currency, as_of: true, type: left}}
`)
	if j := s.View("w").Join; j.Window == nil || j.Window.Kind != Hop || j.Window.Size != 10*time.Second || j.Window.Every != 5*time.Second || j.Type != LeftJoin {
		t.Errorf("window join = %+v", j)
	}
	if j := s.View("r").Join; j.TTL != 10*time.Minute || j.Type != InnerJoin || j.Window != nil || j.AsOf {
		t.Errorf("regular join = %+v", j)
	}
	if j := s.View("a").Join; !j.AsOf || j.Type != LeftJoin || j.TTL != 0 {
		t.Errorf("temporal join = %+v", j)
	}
}

func TestStreamJoinKindErrors(t *testing.T) {
	checkErrors(t, []errorCase{
		{"two kinds", head + "views:\n  v: {from: tx, join: {stream: tx, on: tx_id, within: [0s, 1h], ttl: 1h}}\n", []string{
			"t.yaml:5: views.v.join.ttl: cannot be combined with within: a join with a stream pairs rows by one of within, window, ttl or as_of",
		}},
		{"session window", head + "views:\n  v: {from: tx, join: {stream: tx, on: tx_id, window: {session: 1m}}}\n", []string{
			"t.yaml:5: views.v.join.window: a join's window is tumble or hop, not session",
		}},
		{"outer ttl", head + "views:\n  v: {from: tx, join: {stream: tx, on: tx_id, ttl: 1h, type: left}}\n", []string{
			"t.yaml:5: views.v.join.type: a join with ttl is inner: its outer rows would need retracting once a partner comes",
		}},
		{"zero ttl", head + "views:\n  v: {from: tx, join: {stream: tx, on: tx_id, ttl: 0s}}\n", []string{
			"t.yaml:5: views.v.join.ttl: must be longer than 0",
		}},
		{"right as of", head + "views:\n  v: {from: tx, join: {stream: tx, on: tx_id, as_of: true, type: right}}\n", []string{
			"t.yaml:5: views.v.join.type: a join with as_of is inner or left, not right: the stream's rows are versions of a table, joined by the input's rows",
		}},
		{"as of false", head + "views:\n  v: {from: tx, join: {stream: tx, on: tx_id, as_of: false}}\n", []string{
			"t.yaml:5: views.v.join.as_of: is true or left out: false says nothing",
		}},
		{"window with a table", head + "  m: {kind: file, path: m.csv, table: true, columns: {a: string}}\nviews:\n  v: {from: tx, join: {table: m, on: a, window: {tumble: 1m}}}\n", []string{
			"t.yaml:6: views.v.join.window: applies to a join with a stream; a table is joined by key alone",
		}},
	})
}
