package op

import (
	"bytes"
	"fmt"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/ipc"
)

// A snapshot by key group with the pebble backend. The spilled chunks of a window are
// written key group by key group (SpillConfig.KeyGroup), so when a snapshot's owners are
// the key groups themselves (SpillConfig.KeyGroups owners, as the engine takes a keyed
// step's state with Checkpointing.ByKeyGroup and a cluster's worker saves it), a chunk's
// rows all go to the owner its key group names: they are read from the store and handed to
// that owner as they are, without decoding their keys, hashing them, gathering the whole
// state into one batch and sorting it by owner. Each owner's rows come by window end, in
// fire order, as in every snapshot, and the parts are the same bytes as those of the path
// through spilledState and splitRows.

// byChunkGroup says whether a snapshot by n owners takes the spilled chunks' key groups as
// the owners of their rows.
func (w *WindowAgg) byChunkGroup(n int) bool {
	c := w.spill.cfg
	return c.KeyGroup != nil && c.KeyGroups > 0 && c.KeyGroups == n && w.cfg.Keys > 0
}

// snapshotChunkGroups is SnapshotGroups by key group with state on disk; see above.
func (w *WindowAgg) snapshotChunkGroups(id uint64, n int, owner KeyOwner) ([][]byte, error) {
	mem := allocator(w.ctx)
	parts := make([][]arrow.RecordBatch, n) // by owner, in fire order
	defer func() {
		for _, ps := range parts {
			for _, p := range ps {
				p.Release()
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
			parts[o] = append(parts[o], rec.NewSlice(int64(lo), int64(hi)))
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
			r, err := ipc.NewReader(bytes.NewReader(bytes.Clone(value)), ipc.WithSchema(w.stateSchema()), ipc.WithAllocator(mem))
			if err != nil {
				return fmt.Errorf("key group %d: decode state rows: %w", kg, err)
			}
			defer r.Release()
			for r.Next() {
				rec := r.RecordBatch()
				rec.Retain()
				parts[kg] = append(parts[kg], rec)
			}
			if err := r.Err(); err != nil {
				return fmt.Errorf("key group %d: decode state rows: %w", kg, err)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("snapshot: read the window ending %d: %w", e, err)
		}
	}
	// One batch of every owner's rows, owner by owner, whose slices sealParts writes.
	bounds := make([]int, n+1)
	var all []arrow.RecordBatch
	for o, ps := range parts {
		bounds[o+1] = bounds[o]
		for _, p := range ps {
			bounds[o+1] += int(p.NumRows())
		}
		all = append(all, ps...)
	}
	rec, err := concatRecords(mem, w.stateSchema(), all)
	if err != nil {
		return nil, fmt.Errorf("snapshot: %w", err)
	}
	defer rec.Release()
	return w.sealParts(rec, bounds, kindWindowAgg, id, w.wm)
}
