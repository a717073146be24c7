package op

import (
	"bytes"
	"fmt"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
)

// A snapshot by key group with the pebble backend. The spilled chunks of a window are
// written key group by key group (SpillConfig.KeyGroup), so when a snapshot's owners are
// the key groups themselves (SpillConfig.KeyGroups owners, as the engine takes a keyed
// step's state with Checkpointing.ByKeyGroup and a cluster's worker saves it), a chunk's
// rows all go to the owner its key group names: the chunk is read from the store and handed
// to that owner as it is, without decoding it, its keys or their key groups. Each owner's
// rows come by window end, in fire order, as in every snapshot, and are the rows of the path
// through spilledState and splitRows; the parts are version 2 snapshots that carry the
// chunks' bytes, the same at every snapshot until the window changes.

// byChunkGroup says whether a snapshot by n owners takes the spilled chunks' key groups as
// the owners of their rows.
func (w *WindowAgg) byChunkGroup(n int) bool {
	c := w.spill.cfg
	return c.KeyGroup != nil && c.KeyGroups > 0 && c.KeyGroups == n && w.cfg.Keys > 0
}

// snapshotChunkGroups is SnapshotGroups by key group with state on disk; see above. Its
// parts are version 2 snapshots (window_agg_segments.go): the rows held in memory, and each
// spilled chunk of the owner's key group as it is on disk.
func (w *WindowAgg) snapshotChunkGroups(id uint64, n int, owner KeyOwner) ([][]byte, error) {
	items := make([][]segmentItem, n) // by owner, in fire order
	defer func() {
		for _, its := range items {
			for _, it := range its {
				if it.rows != nil {
					it.rows.Release()
				}
			}
		}
	}()
	inMemory := func(groups []uint32) error {
		groups = w.filled(groups)
		if len(groups) == 0 {
			return nil
		}
		owners, err := w.groupOwners(groups, n, owner)
		if err != nil {
			return err
		}
		order := make([]int, len(groups))
		for i := range order {
			order[i] = i
		}
		slices.SortStableFunc(order, func(a, b int) int { return owners[a] - owners[b] })
		sorted := make([]uint32, len(groups))
		for i, j := range order {
			sorted[i] = groups[j]
		}
		rec, err := w.stateRows(sorted)
		if err != nil {
			return err
		}
		defer rec.Release()
		for lo := 0; lo < len(order); {
			o := owners[order[lo]]
			hi := lo + 1
			for hi < len(order) && owners[order[hi]] == o {
				hi++
			}
			items[o] = append(items[o], segmentItem{rows: rec.NewSlice(int64(lo), int64(hi))})
			lo = hi
		}
		return nil
	}
	for _, e := range slices.Clone(w.timers.Ends()) {
		if !w.spilled(e) {
			if err := inMemory(w.byEnd[e]); err != nil {
				return nil, fmt.Errorf("snapshot: %w", err)
			}
			continue
		}
		if w.spill.spills[e] != 1 || len(w.byEnd[e]) > 0 {
			// Spilled more than once, or with groups in memory since: merge it on disk first,
			// as spilledState does, so that it holds each key once.
			var merged []arrow.RecordBatch
			err := w.readBack(e, func(groups []uint32) error {
				groups = w.filled(groups)
				if len(groups) == 0 {
					return nil
				}
				rec, err := w.stateRows(groups)
				if err != nil {
					return err
				}
				merged = append(merged, rec)
				return nil
			})
			if err == nil {
				err = w.rewrite(e, merged)
			}
			for _, m := range merged {
				m.Release()
			}
			if err != nil {
				return nil, fmt.Errorf("snapshot: %w", err)
			}
		}
		err := w.spill.store.Scan(e, func(kg int, value []byte) error {
			if kg >= n {
				return fmt.Errorf("key group %d of %d", kg, n)
			}
			items[kg] = append(items[kg], segmentItem{chunk: &segment{chunk: true, end: e, keyGroup: kg, data: bytes.Clone(value)}})
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("snapshot: read the window ending %d: %w", e, err)
		}
	}
	return w.sealSegments(items, id, w.wm)
}
