package op

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// Rescaling. When a step's parallelism changes at a checkpoint, the engine gives the
// snapshots of all its old subtasks to Rescale of a new, unopened instance of the step's
// operator, which returns one snapshot per new subtask. Keyed state moves with its key to the
// subtask the keyed exchange now sends the key to; the state itself is not changed.

// KeyOwner tells, for each row of key columns (all of one length), the subtask at the new
// parallelism that owns the row's key: the one the keyed exchange sends that key to.
type KeyOwner func(keys []arrow.Array) ([]int, error)

// Rescaler is a Snapshotter whose state can be spread over another number of subtasks.
type Rescaler interface {
	Snapshotter
	// Rescale turns states, the snapshots of every subtask at the old parallelism (nil where
	// a subtask kept none), into n, one per subtask at the new parallelism (nil where a
	// subtask starts with none). Keyed state goes where owner says.
	Rescale(states [][]byte, n int, owner KeyOwner) ([][]byte, error)
}

// Rescale spreads the groups of the old subtasks over n by their keys. Every new subtask
// starts from the lowest of the old watermarks: at a checkpoint barrier the subtasks of a
// keyed step have seen the same watermarks, so they are all equal in practice.
func (w *WindowAgg) Rescale(states [][]byte, n int, owner KeyOwner) ([][]byte, error) {
	out, err := w.rescale(states, n, owner, true)
	if err != nil {
		return nil, fmt.Errorf("rescale %s aggregation to %d subtasks: %w", w.cfg.Window, n, err)
	}
	return out, nil
}

// rescale is Rescale; with keepEmpty false, a new subtask that gets no rows gets nil instead
// of a snapshot without rows.
func (w *WindowAgg) rescale(states [][]byte, n int, owner KeyOwner, keepEmpty bool) ([][]byte, error) {
	kind := kindWindowAgg
	if w.sess != nil {
		kind = kindSessionAgg
	}
	mem := allocator(w.ctx)
	var recs []arrow.RecordBatch
	defer func() {
		for _, r := range recs {
			r.Release()
		}
	}()
	wm, id, found := int64(MaxWatermark), uint64(0), false
	for i, st := range states {
		if st == nil {
			continue
		}
		r, err := w.openState(st)
		if err != nil {
			return nil, fmt.Errorf("subtask %d: %w", i, err)
		}
		sub, err := r.varint("watermark")
		if err != nil {
			return nil, fmt.Errorf("subtask %d: %w", i, err)
		}
		if w.sess != nil {
			// The slots are numbered afresh: only which rows share a key matters.
			if _, err := readSessionSlots(r); err != nil {
				return nil, fmt.Errorf("subtask %d: %w", i, err)
			}
		}
		var rs []arrow.RecordBatch
		if r.version == windowAggSegmentsVersion {
			segs, err := readSegments(r)
			if err != nil {
				return nil, fmt.Errorf("subtask %d: %w", i, err)
			}
			for _, s := range segs {
				srs, err := w.segmentRecords(s)
				if err != nil {
					return nil, fmt.Errorf("subtask %d: %w", i, err)
				}
				recs = append(recs, srs...)
			}
		} else if rs, err = r.records(mem, w.stateSchema()); err != nil {
			return nil, fmt.Errorf("subtask %d: %w", i, err)
		}
		recs = append(recs, rs...)
		wm, id, found = min(wm, sub), max(id, r.checkpoint), true
	}
	if !found {
		return make([][]byte, n), nil
	}
	all, err := concatRecords(mem, w.stateSchema(), recs)
	if err != nil {
		return nil, err
	}
	defer all.Release()
	subs, err := w.owners(all, n, owner)
	if err != nil {
		return nil, err
	}
	rows := make([][]int32, n)
	for i, s := range subs {
		rows[s] = append(rows[s], int32(i))
	}
	out := make([][]byte, n)
	for s := range n {
		if !keepEmpty && len(rows[s]) == 0 {
			continue
		}
		if w.sess == nil {
			// Groups fire by window end; tumbling and hopping windows end in the order they start.
			starts := all.Column(1).(*array.Timestamp).TimestampValues()
			slices.SortStableFunc(rows[s], func(a, b int32) int { return cmp.Compare(starts[a], starts[b]) })
		}
		if out[s], err = w.rescaledState(all, rows[s], kind, id, wm); err != nil {
			return nil, fmt.Errorf("subtask %d: %w", s, err)
		}
	}
	return out, nil
}

// owners is the new subtask of each state row of rec, decoded from its key bytes.
func (w *WindowAgg) owners(rec arrow.RecordBatch, n int, owner KeyOwner) ([]int, error) {
	keys := rec.Column(0).(*array.Binary)
	return w.ownerOf(int(rec.NumRows()), keys.Value, n, owner)
}

// ownerOf is the owner, among n, of each of rows keys, key(i) being the bytes of key i:
// what owner says of the key columns decoded from them.
func (w *WindowAgg) ownerOf(rows int, key func(i int) []byte, n int, owner KeyOwner) ([]int, error) {
	if w.cfg.Keys == 0 {
		return make([]int, rows), nil // one group per window, which a single subtask holds
	}
	types := make([]arrow.DataType, w.cfg.Keys)
	for i := range types {
		types[i] = w.cfg.Out.Field(i).Type
	}
	return keyOwners(allocator(w.ctx), types, rows, key, n, owner)
}

// keyOwners is the owner, among n, of each of rows keys of the given column types, key(i)
// being the bytes of key i as KeyEncoder made them: what owner says of the key columns
// decoded from them. Rescaling and splitting by key group of every keyed operator go
// through it.
func keyOwners(mem memory.Allocator, types []arrow.DataType, rows int, key func(i int) []byte, n int, owner KeyOwner) ([]int, error) {
	builders := make([]array.Builder, len(types))
	for i, t := range types {
		builders[i] = array.NewBuilder(mem, t)
		defer builders[i].Release()
		builders[i].Reserve(rows)
	}
	for i := range rows {
		if err := AppendKey(key(i), builders); err != nil {
			return nil, fmt.Errorf("state row %d: key %x: %w", i, key(i), err)
		}
	}
	cols := make([]arrow.Array, len(builders))
	for i, b := range builders {
		cols[i] = b.NewArray()
		defer cols[i].Release()
	}
	subs, err := owner(cols)
	if err != nil {
		return nil, err
	}
	if len(subs) != rows {
		return nil, fmt.Errorf("%d owners for %d keys", len(subs), rows)
	}
	for i, s := range subs {
		if s < 0 || s >= n {
			return nil, fmt.Errorf("key %x is owned by subtask %d of %d", key(i), s, n)
		}
	}
	return subs, nil
}

// rescaledState writes the snapshot of one new subtask: rows of all, in that order.
func (w *WindowAgg) rescaledState(all arrow.RecordBatch, rows []int32, kind byte, id uint64, wm int64) ([]byte, error) {
	mem := allocator(w.ctx)
	rec, err := takeRows(mem, all, rows)
	if err != nil {
		return nil, err
	}
	defer rec.Release()
	sw := newStateWriter(kind, windowAggStateVersion, id, w.StateFingerprint())
	sw.varint(wm)
	if w.sess != nil {
		renumbered, slots := renumberSlots(mem, rec)
		defer renumbered.Release()
		rec = renumbered
		sw.uvarint(uint64(slots))
		sw.uvarint(0) // no free slots
	}
	if err := sw.records(mem, rec.Schema(), rec); err != nil {
		return nil, err
	}
	return sw.seal(), nil
}

// renumberSlots gives the keys of session rows the slots 0, 1, ... in the order they come
// (each key's rows are together) and returns the rows with the new slots and their count.
func renumberSlots(mem memory.Allocator, rec arrow.RecordBatch) (arrow.RecordBatch, int) {
	keys := rec.Column(0).(*array.Binary)
	b := array.NewUint32Builder(mem)
	defer b.Release()
	slots := 0
	for i := range int(rec.NumRows()) {
		if i > 0 && string(keys.Value(i)) != string(keys.Value(i-1)) {
			slots++
		}
		b.Append(uint32(slots))
	}
	if rec.NumRows() > 0 {
		slots++
	}
	cols := slices.Clone(rec.Columns())
	cols[1] = b.NewArray()
	defer cols[1].Release()
	return array.NewRecordBatch(rec.Schema(), cols, rec.NumRows()), slots
}

// concatRecords joins batches of one schema into one batch.
func concatRecords(mem memory.Allocator, schema *arrow.Schema, recs []arrow.RecordBatch) (arrow.RecordBatch, error) {
	cols := make([]arrow.Array, schema.NumFields())
	rows := int64(0)
	for _, r := range recs {
		rows += r.NumRows()
	}
	for c := range cols {
		parts := make([]arrow.Array, 0, len(recs))
		for _, r := range recs {
			parts = append(parts, r.Column(c))
		}
		var err error
		if len(parts) == 0 {
			cols[c] = array.MakeArrayOfNull(mem, schema.Field(c).Type, 0)
		} else if cols[c], err = array.Concatenate(parts, mem); err != nil {
			releaseAll(cols[:c])
			return nil, fmt.Errorf("join state column %q: %w", schema.Field(c).Name, err)
		}
	}
	defer releaseAll(cols)
	return array.NewRecordBatch(schema, cols, rows), nil
}

// takeRows returns the rows of rec listed in rows, in that order.
func takeRows(mem memory.Allocator, rec arrow.RecordBatch, rows []int32) (arrow.RecordBatch, error) {
	b := array.NewInt32Builder(mem)
	defer b.Release()
	b.AppendValues(rows, nil)
	idx := b.NewArray()
	defer idx.Release()
	ctx := compute.WithAllocator(context.Background(), mem)
	cols := make([]arrow.Array, rec.NumCols())
	for c := range cols {
		var err error
		if cols[c], err = compute.TakeArray(ctx, rec.Column(c), idx); err != nil {
			releaseAll(cols[:c])
			return nil, fmt.Errorf("take state column %q: %w", rec.ColumnName(c), err)
		}
	}
	defer releaseAll(cols)
	return array.NewRecordBatch(rec.Schema(), cols, int64(len(rows))), nil
}
