package spec

import (
	"reflect"
	"testing"
	"time"
)

func TestOverClause(t *testing.T) {
	s := mustParse(t, head+`views:
  card:
    from: tx
    over: {key: card_id, range: 10m, ttl: 30d}
    select: {n: count(*), z: zscore(amount)}
  pair:
    from: card
    over: {key: [merchant_id, card_id], range: 1h}
    select: {n2: count(*)}
  last:
    from: pair
    over: {key: card_id, rows: 10}
    select: {n3: count(*)}
`)
	if last := s.View("last"); last.Over == nil || last.Over.Rows != 10 || last.Over.Range != 0 {
		t.Errorf("last.Over = %+v", last.Over)
	}
	card, pair := s.View("card"), s.View("pair")
	if card.Over == nil || !reflect.DeepEqual(card.Over.Key, []string{"card_id"}) || card.Over.Range != 10*time.Minute || card.Over.TTL != 30*24*time.Hour {
		t.Errorf("card.Over = %+v", card.Over)
	}
	if card.Over.Pos.Line != 7 {
		t.Errorf("card.Over.Pos = %+v, want line 7", card.Over.Pos)
	}
	if pair.Over == nil || !reflect.DeepEqual(pair.Over.Key, []string{"merchant_id", "card_id"}) || pair.Over.TTL != 0 {
		t.Errorf("pair.Over = %+v", pair.Over)
	}
	if s.View("card").Window != nil || len(s.View("card").Select) != 2 {
		t.Errorf("card = %+v", card)
	}
}

func TestOverErrors(t *testing.T) {
	checkErrors(t, []errorCase{
		{"no key", head + "views:\n  v: {from: tx, over: {range: 1m}, select: {n: count(*)}}\n", []string{
			"t.yaml:5: views.v.over: key is required: the column, or list of columns, whose rows a row's features come from",
		}},
		{"no range", head + "views:\n  v: {from: tx, over: {key: card_id}, select: {n: count(*)}}\n", []string{
			"t.yaml:5: views.v.over: range is required: how far before a row count, sum and the other range features look, such as 10m (or rows: N, over the key's last N rows)",
		}},
		{"range and rows", head + "views:\n  v: {from: tx, over: {key: card_id, range: 1m, rows: 10}, select: {n: count(*)}}\n", []string{
			"t.yaml:5: views.v.over: range or rows, not both: a row's range features look back over a time or over a number of rows",
		}},
		{"no rows", head + "views:\n  v: {from: tx, over: {key: card_id, rows: 0}, select: {n: count(*)}}\n", []string{
			"t.yaml:5: views.v.over.rows: 0 rows: want 1 to 1000000",
		}},
		{"unknown key", head + "views:\n  v: {from: tx, over: {key: card_id, range: 1m, tll: 1h}, select: {n: count(*)}}\n", []string{
			`t.yaml:5: views.v.over.tll: unknown key (did you mean "ttl"?)`,
		}},
		{"zero range", head + "views:\n  v: {from: tx, over: {key: card_id, range: 0s}, select: {n: count(*)}}\n", []string{
			"t.yaml:5: views.v.over.range: must be at least 1ms",
		}},
		{"no select", head + "views:\n  v: {from: tx, over: {key: card_id, range: 1m}}\n", []string{
			"t.yaml:5: views.v.over: needs select: the feature columns to add, such as {n_10m: count(*)}",
		}},
		{"with a window", head + "views:\n  v: {from: tx, over: {key: card_id, range: 1m}, window: {tumble: 1m}, select: {n: count(*)}}\n", []string{
			"t.yaml:5: views.v.window: cannot be combined with over: an over view adds features to every input row, it does not aggregate",
		}},
	})
}
