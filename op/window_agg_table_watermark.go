package op

import "millrace/window"

// HeldWatermark holds the output's watermark back, for an aggregation of the whole input
// that emits its table once (window.Whole without EmitUpdates), until that table has been
// emitted: its rows carry whatever times their columns hold, which the watermarks of the
// input say nothing about, so a step after it that orders rows by event time (over, a
// window) must see every row before any watermark. Other aggregations hold nothing back:
// their rows come out as their windows fire, at the watermark that fires them.
func (w *WindowAgg) HeldWatermark() int64 {
	if w.cfg.Window.Kind != window.Whole || w.cfg.EmitUpdates || w.cfg.Phase == Partial || w.wm == MaxWatermark {
		return MaxWatermark
	}
	return MinWatermark
}
