package spec

import (
	"reflect"
	"testing"
)

// TestEmitDecodes reads emit's three values, leaves it empty when absent, and refuses it
// with a window and an unknown value, naming the key path.
func TestEmitDecodes(t *testing.T) {
	s := mustParse(t, head+`views:
  a: {from: tx, group_by: card_id, select: {n: count(*)}, emit: batch}
  b: {from: tx, group_by: card_id, select: {n: count(*)}, emit: watermark}
  c: {from: tx, group_by: card_id, select: {n: count(*)}, emit: final}
  d: {from: tx, group_by: card_id, select: {n: count(*)}}
`)
	for name, want := range map[string]Emit{"a": EmitBatch, "b": EmitWatermark, "c": EmitFinal, "d": ""} {
		if got := s.View(name).Emit; got != want {
			t.Errorf("view %s: emit %q, want %q", name, got, want)
		}
	}
	if !EmitBatch.Changelog() || !EmitWatermark.Changelog() || EmitFinal.Changelog() || Emit("").Changelog() {
		t.Error("only batch and watermark emit a changelog")
	}
	checkErrors(t, []errorCase{
		{"emit with a window", head + "views:\n  v: {from: tx, group_by: card_id, window: {tumble: 1m}, select: {n: count(*)}, emit: batch}\n", []string{
			"t.yaml:5: views.v.emit: is for views without a window: a window's rows come out when the watermark passes its end",
		}},
		{"unknown emit", head + "views:\n  v: {from: tx, group_by: card_id, select: {n: count(*)}, emit: changes}\n", []string{
			`t.yaml:5: views.v.emit: unknown emit "changes" (want final, batch or watermark)`,
		}},
	})
}

// TestUpsertMode reads a kafka sink's mode, append by default, and refuses with upsert
// what the changelog decides: the key and the value format.
func TestUpsertMode(t *testing.T) {
	s := mustParse(t, head+`sinks:
  a: {from: tx, kind: kafka, brokers: [b:9092], topic: a}
  u: {from: tx, kind: kafka, brokers: [b:9092], topic: u, mode: upsert}
`)
	if a, u := s.Sink("a").Kafka.Mode, s.Sink("u").Kafka.Mode; a != SinkAppend || u != SinkUpsert {
		t.Fatalf("modes %q and %q, want append and upsert", a, u)
	}
	checkErrors(t, []errorCase{
		{"upsert with a key", head + "sinks:\n  u: {from: tx, kind: kafka, brokers: [b:9092], topic: u, mode: upsert, key: card_id}\n", []string{
			"t.yaml:5: sinks.u.key: an upsert sink keys records by the group_by columns of the view it writes, with JSON values: leave key out",
		}},
		{"upsert in avro", head + "sinks:\n  u: {from: tx, kind: kafka, brokers: [b:9092], topic: u, mode: upsert, format: avro, registry: http://r}\n", []string{
			"t.yaml:5: sinks.u.registry: an upsert sink keys records by the group_by columns of the view it writes, with JSON values: leave registry out",
			"t.yaml:5: sinks.u.format: an upsert sink writes JSON values: leave format out",
		}},
		{"mode of a file sink", head + "sinks:\n  f: {from: tx, kind: jsonl, path: o.jsonl, mode: upsert}\n", []string{
			"t.yaml:5: sinks.f.mode: jsonl sinks take no mode (it is for kafka sinks)",
		}},
	})
}

// TestTopDecodes reads top's n and by, with and without a direction, and refuses what it
// does not combine with and a by that is not a column.
func TestTopDecodes(t *testing.T) {
	s := mustParse(t, head+`views:
  a: {from: tx, group_by: card_id, top: {n: 3, by: amount desc}}
  b: {from: tx, top: {n: 1, by: ts}}
  c: {from: tx, group_by: card_id, top: {n: 1, by: [amount desc, ts asc, tx_id]}}
`)
	if a := s.View("a").Top; a == nil || a.N != 3 || a.By != "amount" || !a.Desc {
		t.Errorf("a: %+v", a)
	}
	if b := s.View("b").Top; b == nil || b.N != 1 || b.By != "ts" || b.Desc {
		t.Errorf("b: %+v", b)
	}
	if c := s.View("c").Top; c == nil || c.By != "amount" || !c.Desc || !reflect.DeepEqual(c.Then, []TopBy{{Col: "ts"}, {Col: "tx_id"}}) {
		t.Errorf("c: %+v", c)
	}
	checkErrors(t, []errorCase{
		{"top with a window", head + "views:\n  v: {from: tx, window: {tumble: 1m}, top: {n: 3, by: amount}}\n", []string{
			"t.yaml:5: views.v.top: cannot be combined with window: top keeps each group_by key's first rows, as a changelog",
		}},
		{"top shape", head + "views:\n  v: {from: tx, top: {n: 0, by: amount largest}}\n", []string{
			"t.yaml:5: views.v.top.n: 0 rows: want 1 to 100000",
			`t.yaml:5: views.v.top.by: "amount largest" is not a column, then asc or desc, such as price desc`,
		}},
		{"top by a list", head + "views:\n  v: {from: tx, top: {n: 2, by: [amount desc, ts sideways]}}\n", []string{
			`t.yaml:5: views.v.top.by[1]: "ts sideways" is not a column, then asc or desc, such as price desc`,
		}},
		{"top without by", head + "views:\n  v: {from: tx, top: {n: 2}}\n", []string{
			"t.yaml:5: views.v.top: by is required: the column to rank rows by, then asc or desc, such as price desc",
		}},
	})
}
