package op

import (
	"errors"
	"fmt"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"

	"millrace/agg"
	"millrace/take"
)

// rejecting says whether rows that would overflow an aggregate go to the errors.
func (w *WindowAgg) rejecting() bool {
	return w.cfg.RejectOverflow && w.ctx.Errors != nil && w.sess == nil
}

// updateRejecting is update, except that with RejectOverflow a row that would overflow an
// aggregate is taken out of the batch, every one of its entries (a row of a hopping window
// has several), and sent to the errors, and the other rows are added.
func (w *WindowAgg) updateRejecting(rec arrow.RecordBatch, groups []uint32, rows []int32) error {
	if !w.rejecting() || len(groups) == 0 {
		return w.update(groups, rows)
	}
	var rejects []Reject
	var dropped []uint32
	for len(groups) > 0 {
		row, call, reason, err := w.tryUpdate(groups, rows)
		if err != nil {
			return err
		}
		if row < 0 {
			break
		}
		rejects = append(rejects, Reject{Row: w.text.json(rec, row), Expression: call, Reason: reason})
		keepGroups, keepRows := make([]uint32, 0, len(groups)), make([]int32, 0, len(groups))
		for k, g := range groups {
			r := int32(k)
			if rows != nil {
				r = rows[k]
			}
			if int(r) == row {
				dropped = append(dropped, g)
				continue
			}
			keepGroups, keepRows = append(keepGroups, g), append(keepRows, r)
		}
		groups, rows = keepGroups, keepRows
	}
	w.settle(groups, dropped)
	if len(rejects) == 0 {
		return nil
	}
	return w.ctx.Errors.Collect(ErrorBatch(w.ctx.Mem, rejects))
}

// tryUpdate adds the entries to every accumulator, those that can overflow first. When one
// would overflow, it takes back what the others added and returns the row at fault, the call
// and the reason; otherwise row is -1.
func (w *WindowAgg) tryUpdate(groups []uint32, rows []int32) (row int, call, reason string, err error) {
	for k, i := range w.order {
		err := w.accs[i].Update(groups, w.args[i], rows)
		var ovf *agg.OverflowError
		if errors.As(err, &ovf) {
			if err := w.takeBack(w.order[:k], func(r agg.Reverter, j int) error { return r.Revert(groups, w.args[j], rows) }); err != nil {
				return -1, "", "", err
			}
			return ovf.Row, w.callText(i), ovf.Reason, nil
		}
		if err != nil {
			return -1, "", "", fmt.Errorf("%s: %w", w.cfg.Calls[i].Name, err)
		}
	}
	return -1, "", "", nil
}

// mergeRejecting merges partial state rows into groups, row i into sets[k][i] for every set
// k (the windows holding a pane); a row that would overflow an aggregate in any of them goes
// to the errors, merged into none, and the others are merged.
func (w *WindowAgg) mergeRejecting(rec arrow.RecordBatch, sets [][]uint32) error {
	rec.Retain()
	defer func() { rec.Release() }()
	var rejects []Reject
	var dropped []uint32
	for rec.NumRows() > 0 {
		row, call, reason, err := w.tryMerge(rec, sets)
		if err != nil {
			return err
		}
		if row < 0 {
			break
		}
		rejects = append(rejects, Reject{Row: w.text.json(rec, row), Expression: call,
			Reason: reason + "; the partial state of this window and key (rows of one batch of one subtask) is not added"})
		keep := make([]int32, 0, rec.NumRows()-1)
		for k := range int(rec.NumRows()) {
			if k != row {
				keep = append(keep, int32(k))
			}
		}
		rest, err := take.Rows(rec, keep)
		if err != nil {
			return fmt.Errorf("set a rejected partial state aside: %w", err)
		}
		rec.Release()
		rec = rest
		kept := make([][]uint32, len(sets))
		for k, groups := range sets {
			dropped = append(dropped, groups[row])
			kept[k] = slices.Delete(slices.Clone(groups), row, row+1)
		}
		sets = kept
	}
	var groups []uint32
	if len(sets) == 1 {
		groups = sets[0]
	} else {
		groups = slices.Concat(sets...)
	}
	w.settle(groups, dropped)
	if len(rejects) == 0 {
		return nil
	}
	return w.ctx.Errors.Collect(ErrorBatch(w.ctx.Mem, rejects))
}

// tryMerge merges the partial state rows of rec into each set of groups, those of the
// accumulators that can overflow first. When one would overflow, it takes back what was
// merged and returns the partial row at fault, the call and the reason; otherwise row is -1.
func (w *WindowAgg) tryMerge(rec arrow.RecordBatch, sets [][]uint32) (row int, call, reason string, err error) {
	col := func(i int) arrow.Array { return rec.Column(w.cfg.Keys + 1 + i) }
	for k, i := range w.order {
		for s, groups := range sets {
			err := w.accs[i].MergePartial(groups, col(i))
			var ovf *agg.OverflowError
			if errors.As(err, &ovf) {
				revert := func(r agg.Reverter, j int) error {
					done := sets
					if j == i {
						done = sets[:s] // the sets merged before this one
					}
					for _, g := range done {
						if err := r.RevertPartial(g, col(j)); err != nil {
							return err
						}
					}
					return nil
				}
				undo := w.order[:k:k]
				if s > 0 {
					undo = append(undo, i)
				}
				if err := w.takeBack(undo, revert); err != nil {
					return -1, "", "", err
				}
				return ovf.Row, w.callText(i), ovf.Reason, nil
			}
			if err != nil {
				return -1, "", "", fmt.Errorf("%s: %w", w.cfg.Calls[i].Name, err)
			}
		}
	}
	return -1, "", "", nil
}

// takeBack reverts the calls of the accumulators accs with revert.
func (w *WindowAgg) takeBack(accs []int, revert func(agg.Reverter, int) error) error {
	for _, j := range accs {
		r, ok := w.accs[j].(agg.Reverter)
		if !ok {
			return fmt.Errorf("%s: cannot take back its rows to reject another aggregate's overflow", w.callText(j))
		}
		if err := revert(r, j); err != nil {
			return fmt.Errorf("%s: take back: %w", w.callText(j), err)
		}
	}
	return nil
}

// settle records, after a batch, which groups only rejected rows reached: those the batch
// made and no kept row reached are hollow, never emitted nor kept in a checkpoint, until a
// later row reaches them.
func (w *WindowAgg) settle(kept, dropped []uint32) {
	if len(w.hollow) > 0 {
		for _, g := range kept {
			delete(w.hollow, g)
		}
	}
	if len(dropped) == 0 {
		return
	}
	reached := make(map[uint32]bool, len(kept))
	for _, g := range kept {
		reached[g] = true
	}
	for _, g := range dropped {
		if !reached[g] && slices.Contains(w.created, g) {
			if w.hollow == nil {
				w.hollow = map[uint32]bool{}
			}
			w.hollow[g] = true
		}
	}
}

// filled returns groups without the hollow ones; groups itself when there are none.
func (w *WindowAgg) filled(groups []uint32) []uint32 {
	if len(w.hollow) == 0 {
		return groups
	}
	out := make([]uint32, 0, len(groups))
	for _, g := range groups {
		if !w.hollow[g] {
			out = append(out, g)
		}
	}
	return out
}

// callText is call i as SQL.
func (w *WindowAgg) callText(i int) string {
	if t := w.cfg.Calls[i].Text; t != "" {
		return t
	}
	return w.cfg.Calls[i].Name
}
