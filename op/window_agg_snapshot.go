package op

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"millrace/window"
)

// Snapshots of a WindowAgg (see snapshot.go for the envelope).
//
// The body of a tumbling or hopping aggregation's snapshot, kind 'W', version 1:
//
//	watermark   varint   the last watermark the operator saw (MinWatermark before any)
//	rows        an Arrow IPC stream of one record batch, a row per open group:
//	              key              binary          the group's key, as KeyEncoder made it
//	              window_start     timestamp[ms]   the start of the group's window
//	              state_<i>_<fn>   agg state type  call i's state, as Partial encodes it
//
// Rows come in the order the groups fire: by window end, then in the order the groups
// opened. Restore opens the groups in that order, so the restored operator fires the same
// rows in the same order as the original. A partial aggregation (Phase Partial) hands its
// groups on with every batch, or holds them only until the next barrier, which flushes them
// before the snapshot: its snapshot has no rows.
//
// Session windows (kind 'S') are described in session_agg_snapshot.go.

// windowAggStateVersion is the version of the bodies of kinds 'W' and 'S' this build writes
// and the newest it reads.
const windowAggStateVersion = 1

// stateTime is the type of the window bounds in state rows: milliseconds since the epoch.
var stateTime = &arrow.TimestampType{Unit: arrow.Millisecond}

// StateFingerprint names the schema of the state: the phase, the window, the key columns and,
// per call, the function, its argument types and its state type. Constant arguments (the q of
// the quantiles) are left out: the state keeps the whole sketch, or every value, whatever q
// reads from it.
func (w *WindowAgg) StateFingerprint() string {
	parts := []string{"window_agg", strconv.Itoa(windowAggStateVersion), w.cfg.Phase.String(), w.cfg.Window.String(),
		"keys " + strconv.Itoa(w.cfg.Keys)}
	if w.cfg.Out != nil && w.cfg.Out.NumFields() >= w.cfg.Keys {
		for i := range w.cfg.Keys {
			parts = append(parts, "key "+w.cfg.Out.Field(i).Type.String())
		}
	}
	for i, c := range w.cfg.Calls {
		call := strings.ToLower(c.Name) + "("
		for j, t := range c.ArgTypes {
			if j > 0 {
				call += ", "
			}
			call += t.String()
		}
		parts = append(parts, call+") "+w.accs[i].StateType().String())
	}
	return fingerprint(parts...)
}

// stateSchema returns the columns of the state rows.
func (w *WindowAgg) stateSchema() *arrow.Schema {
	if w.snapSchema != nil {
		return w.snapSchema
	}
	f := []arrow.Field{{Name: "key", Type: arrow.BinaryTypes.Binary}}
	if w.sess != nil {
		f = append(f, arrow.Field{Name: "slot", Type: arrow.PrimitiveTypes.Uint32},
			arrow.Field{Name: "window_start", Type: stateTime}, arrow.Field{Name: "window_end", Type: stateTime})
	} else {
		f = append(f, arrow.Field{Name: "window_start", Type: stateTime})
	}
	for i, a := range w.accs {
		name := fmt.Sprintf("state_%d_%s", i, strings.ToLower(w.cfg.Calls[i].Name))
		f = append(f, arrow.Field{Name: name, Type: a.StateType(), Nullable: true})
	}
	w.snapSchema = arrow.NewSchema(f, nil)
	return w.snapSchema
}

// Snapshot encodes the open groups for checkpoint id.
func (w *WindowAgg) Snapshot(id uint64) ([]byte, error) {
	if err := w.heldAtSnapshot(id); err != nil {
		return nil, err
	}
	if w.sess != nil {
		return w.snapshotSessions(id)
	}
	if w.spill != nil && w.spill.store != nil {
		return w.snapshotSpilling(id)
	}
	groups := w.snapGroups[:0]
	for _, e := range w.timers.Ends() {
		groups = append(groups, w.byEnd[e]...)
	}
	groups = w.filled(groups) // a group only rejected rows reached is as if it were not there
	w.snapGroups = groups
	mem := allocator(w.ctx)
	keys := array.NewBinaryBuilder(mem, arrow.BinaryTypes.Binary)
	defer keys.Release()
	starts := array.NewTimestampBuilder(mem, stateTime)
	defer starts.Release()
	size := 0
	for _, g := range groups {
		size += len(w.keyOf(g))
	}
	keys.Reserve(len(groups))
	keys.ReserveData(size)
	starts.Reserve(len(groups))
	for _, g := range groups {
		keys.AppendString(w.keyOf(g))
		starts.UnsafeAppend(arrow.Timestamp(w.start[g]))
	}
	cols := []arrow.Array{keys.NewArray(), starts.NewArray()}
	return w.writeState(kindWindowAgg, id, groups, cols, nil)
}

// writeState adds the partial states of groups to cols (the state rows' leading columns,
// which it releases) and writes the snapshot; head, if not nil, writes the fields between the
// watermark and the rows.
func (w *WindowAgg) writeState(kind byte, id uint64, groups []uint32, cols []arrow.Array, head func(*stateWriter)) ([]byte, error) {
	defer func() { releaseAll(cols) }()
	for i, a := range w.accs {
		st, err := a.Partial(groups)
		if err != nil {
			return nil, fmt.Errorf("snapshot %s: %w", w.cfg.Calls[i].Name, err)
		}
		cols = append(cols, st)
	}
	rec := array.NewRecordBatch(w.stateSchema(), cols, int64(len(groups)))
	defer rec.Release()
	return w.sealState(kind, id, rec, head)
}

// sealState writes the snapshot of state rows rec; head, if not nil, writes the fields
// between the watermark and the rows.
func (w *WindowAgg) sealState(kind byte, id uint64, rec arrow.RecordBatch, head func(*stateWriter)) ([]byte, error) {
	sw := newStateWriter(kind, windowAggStateVersion, id, w.StateFingerprint())
	sw.varint(w.wm)
	if head != nil {
		head(sw)
	}
	if err := sw.records(allocator(w.ctx), rec.Schema(), rec); err != nil {
		return nil, err
	}
	return sw.seal(), nil
}

// Restore loads a snapshot into an operator that holds no groups yet.
func (w *WindowAgg) Restore(state []byte) error {
	if err := w.restore(state); err != nil {
		return fmt.Errorf("restore %s aggregation: %w", w.cfg.Window, err)
	}
	return nil
}

func (w *WindowAgg) restore(state []byte) error {
	if n := w.Groups(); n > 0 {
		return fmt.Errorf("the operator already holds %d groups", n)
	}
	wm, slots, rec, err := w.openRows(state)
	if err != nil {
		return err
	}
	defer rec.Release()
	w.wm = wm
	if w.sess != nil {
		return w.restoreSessions(slots, rec)
	}
	if w.spill != nil {
		return w.restoreSpilling(rec)
	}
	return w.restoreGroups(rec)
}

// openState checks the envelope of a snapshot of this operator: kind 'W' of version 1 or 2
// (window_agg_segments.go), or kind 'S' of version 1.
func (w *WindowAgg) openState(state []byte) (*stateReader, error) {
	if w.sess != nil {
		return openState(state, kindSessionAgg, windowAggStateVersion, w.StateFingerprint())
	}
	return openState(state, kindWindowAgg, windowAggSegmentsVersion, w.StateFingerprint())
}

// openRows checks a snapshot of this operator and returns its watermark, its session slots
// (session windows only) and its state rows, which the caller releases.
func (w *WindowAgg) openRows(state []byte) (int64, *sessionSlots, arrow.RecordBatch, error) {
	r, err := w.openState(state)
	if err != nil {
		return 0, nil, nil, err
	}
	wm, err := r.varint("watermark")
	if err != nil {
		return 0, nil, nil, err
	}
	var slots *sessionSlots
	if w.sess != nil {
		if slots, err = readSessionSlots(r); err != nil {
			return 0, nil, nil, err
		}
	}
	if r.version == windowAggSegmentsVersion {
		segs, err := readSegments(r)
		if err != nil {
			return 0, nil, nil, err
		}
		rec, err := w.segmentRows(segs)
		if err != nil {
			return 0, nil, nil, err
		}
		return wm, nil, rec, nil
	}
	recs, err := r.records(allocator(w.ctx), w.stateSchema())
	if err != nil {
		return 0, nil, nil, err
	}
	if len(recs) != 1 {
		for _, rec := range recs {
			rec.Release()
		}
		return 0, nil, nil, fmt.Errorf("state holds %d record batches of rows, want 1", len(recs))
	}
	rec := recs[0]
	for i := range 2 {
		if rec.Column(i).NullN() > 0 {
			rec.Release()
			return 0, nil, nil, fmt.Errorf("state column %q has nulls", rec.ColumnName(i))
		}
	}
	return wm, slots, rec, nil
}

// restoreGroups opens the groups of tumbling or hopping windows that the rows of rec name and
// merges their states in.
func (w *WindowAgg) restoreGroups(rec arrow.RecordBatch) error {
	n := int(rec.NumRows())
	if n > 0 && w.cfg.Phase == Partial {
		return fmt.Errorf("state holds %d groups, but a partial aggregation keeps none between batches", n)
	}
	keys := rec.Column(0).(*array.Binary)
	starts := rec.Column(1).(*array.Timestamp)
	w.reserve(n, starts.TimestampValues())
	w.groups = w.groups[:0]
	for i := range n {
		start, fresh := int64(starts.Value(i)), w.nextGroup()
		g := w.group(w.keys.intern(keys.Value(i)), start)
		if g != fresh { // the group was open already
			return fmt.Errorf("state holds the group of key %x in the window starting at %d twice", keys.Value(i), start)
		}
		w.groups = append(w.groups, g)
	}
	return w.mergeStates(rec, 2)
}

// reserve sizes the key table and the group indexes for n groups, whose window starts are
// starts, so that restoring does not grow them step by step.
func (w *WindowAgg) reserve(n int, starts []arrow.Timestamp) {
	w.reserveKeys(n)
	w.start = slices.Grow(w.start, n)
	w.keyID = slices.Grow(w.keyID, n)
	// The rows come by window end, so the groups of one window are a run of one start.
	for i := 0; i < len(starts); {
		j := i + 1
		for j < len(starts) && starts[j] == starts[i] {
			j++
		}
		start := int64(starts[i])
		if _, ok := w.byStart[start]; !ok {
			w.byStart[start] = make(map[uint32]uint32, j-i)
		}
		i = j
	}
}

// reserveKeys sizes an empty key table for the keys of n groups.
func (w *WindowAgg) reserveKeys(n int) {
	perKey := 1 // the windows a key is in at once, about
	if w.cfg.Window.Kind == window.Hop {
		perKey = int(w.cfg.Window.Size / w.cfg.Window.Every)
	}
	if len(w.keys.ids) > 0 || cap(w.keys.bytes) > n/perKey {
		return // holding keys, or sized already
	}
	w.keys.ids = make(map[string]uint32, n/perKey+1)
	w.keys.bytes = slices.Grow(w.keys.bytes, n/perKey+1)
	w.keys.refs = slices.Grow(w.keys.refs, n/perKey+1)
	w.keys.owner = slices.Grow(w.keys.owner, n/perKey+1)
}

// mergeStates folds the state columns of rec, from column first on, into w.groups.
func (w *WindowAgg) mergeStates(rec arrow.RecordBatch, first int) error {
	for i, a := range w.accs {
		if err := a.MergePartial(w.groups, rec.Column(first+i)); err != nil {
			return fmt.Errorf("state of %s: %w", w.cfg.Calls[i].Name, err)
		}
	}
	return nil
}
