package spec

import (
	"reflect"
	"testing"
	"time"
)

func TestDedupClause(t *testing.T) {
	s := mustParse(t, head+`views:
  once:
    from: tx
    dedup: {key: [tx_id, card_id], within: 1d, keep: last}
  first:
    from: tx
    dedup: {key: tx_id, within: 10m}
`)
	if d := s.View("once").Dedup; d == nil || !reflect.DeepEqual(d.Key, []string{"tx_id", "card_id"}) || d.Within != 24*time.Hour || d.Keep != DedupLast {
		t.Errorf("once.dedup = %+v", d)
	}
	if d := s.View("first").Dedup; d == nil || d.Keep != DedupFirst || d.Within != 10*time.Minute {
		t.Errorf("first.dedup = %+v", d)
	}
}

func TestDedupErrors(t *testing.T) {
	checkErrors(t, []errorCase{
		{"dedup keys", head + "views:\n  v: {from: tx, dedup: {within: -1h, keep: middle}}\n", []string{
			"t.yaml:5: views.v.dedup.within: -1h is negative; a duration here must not be",
			`t.yaml:5: views.v.dedup.keep: unknown row to keep "middle" (want first or last)`,
			"t.yaml:5: views.v.dedup: key is required: the column, or a list of them, whose repeats are duplicates",
		}},
		{"dedup without within", head + "views:\n  v: {from: tx, dedup: {key: tx_id}}\n", []string{
			"t.yaml:5: views.v.dedup: within is required: how far apart in event time two rows of one key are duplicates, such as 24h",
		}},
	})
}
