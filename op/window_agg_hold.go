package op

import "fmt"

// Holding partial states. A partial aggregation that hands on the groups of every batch at
// once holds nothing between messages, but over many groups that each batch reaches with a
// row or two (a group-by over a history whose keys recur across the whole input, windows of
// a day over thousands of keys) it ships about one state a row through the exchange, and
// the final phase merges each of them. With WindowAggConfig.Hold the partial phase folds
// the batches of a stretch of input into one state per group instead, and hands on every
// group it holds:
//
//   - after a batch that grew the states held by more than Hold bytes since the last flush,
//     which bounds the memory the partial phase adds;
//   - on a watermark at or past the end of a window it holds groups of, before the watermark
//     is passed on, so the final phase fires no window without them and waits no longer
//     than without holding (a whole input's one window ends only with the input);
//   - at a checkpoint barrier (Flush), before the barrier is passed on, so the rows held
//     reach the final phase's snapshot and the partial phase's own holds no groups;
//   - when the input ends (Finish), also when it was stopped before the final watermark.

// maybeFlush hands on the groups the partial phase holds after a batch, unless it holds them
// and they have grown by no more than Hold bytes since the last flush.
func (w *WindowAgg) maybeFlush(out Collector) error {
	if w.cfg.Hold > 0 && w.StateBytes()-w.flushed <= w.cfg.Hold {
		return nil
	}
	return w.flushPartial(out)
}

// Flush hands on the states of the groups a partial aggregation holds; the other phases hold
// nothing they could hand on early.
func (w *WindowAgg) Flush(out Collector) error {
	if w.cfg.Phase != Partial {
		return nil
	}
	return w.flushPartial(out)
}

// Finish hands on what Flush would: the input has ended, or was stopped.
func (w *WindowAgg) Finish(out Collector) error { return w.Flush(out) }

// heldAtSnapshot fails a snapshot of a partial aggregation that holds groups: they must be
// flushed first (the engine does so at every barrier), since a partial snapshot keeps none.
func (w *WindowAgg) heldAtSnapshot(id uint64) error {
	if w.cfg.Phase != Partial || len(w.touched) == 0 {
		return nil
	}
	return fmt.Errorf("snapshot for checkpoint %d of a partial aggregation holding %d groups: they must be flushed first", id, len(w.touched))
}

// flushEnded hands on the groups held before a watermark at wm passes on, if it ends one of
// their windows: the final phase fires no window without them, and the windows still open
// keep folding.
func (w *WindowAgg) flushEnded(wm int64, out Collector) error {
	for start := range w.byStart {
		if w.assign.End(start) <= wm {
			return w.flushPartial(out)
		}
	}
	return nil
}
