package spec

import "testing"

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
