package op

import (
	"millrace/window"
)

// Updates of the whole input. A continuous aggregation aggregates an input that may never
// end (window.Whole) and emits, after each batch, the current results of the groups the batch
// changed, which stay open: WindowAggConfig.EmitUpdates. A Changelog after it turns them into
// the changes of the table.

// emitUpdates emits the results of the groups of the batch just folded in (w.groups), each
// once, in the order the batch first reached them; groups only rejected rows reached are left
// out.
func (w *WindowAgg) emitUpdates(out Collector) error {
	if len(w.groups) == 0 {
		return nil
	}
	uniq := w.touched[:0]
	if cap(w.stamp) < len(w.start) {
		w.stamp = make([]uint64, len(w.start), cap(w.start))
	}
	w.stamp = w.stamp[:len(w.start)]
	w.batchNo++
	for _, g := range w.groups {
		if w.stamp[g] != w.batchNo {
			w.stamp[g] = w.batchNo
			uniq = append(uniq, g)
		}
	}
	w.touched = uniq[:0]
	emit := w.filled(uniq)
	if len(emit) == 0 {
		return nil
	}
	starts, ends := w.bounds(emit, true)
	rec, err := w.results(emit, starts, ends)
	if err != nil {
		return err
	}
	return out.Collect(rec)
}

// emitsUpdates says whether the aggregation emits the results a batch changed: only over
// the whole input, and not in the partial phase, which emits its states anyway.
func emitsUpdates(cfg WindowAggConfig) bool {
	return cfg.EmitUpdates && cfg.Window.Kind == window.Whole && cfg.Phase != Partial
}
