package op

import (
	"fmt"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"millrace/agg"
	"millrace/window"
)

// Phase says which half of a two-phase aggregation a WindowAgg computes.
type Phase uint8

// The phases of an aggregation.
const (
	// Single aggregates raw rows and fires windows on the watermark.
	Single Phase = iota
	// Partial aggregates each batch of raw rows and emits the partial states at once, before
	// the keyed exchange, so a hot key's rows reach the final phase already folded.
	Partial
	// Final merges partial states and fires windows on the watermark.
	Final
)

// String names the phase: single, partial or final.
func (p Phase) String() string {
	switch p {
	case Single:
		return "single"
	case Partial:
		return "partial"
	case Final:
		return "final"
	}
	return fmt.Sprintf("Phase(%d)", uint8(p))
}

// AggCall is one aggregate function of a WindowAgg.
type AggCall struct {
	Name string
	// Text is the call as SQL, `sum(amount)`, for the rows it rejects; Name when empty.
	Text string
	// Args are input columns holding the evaluated arguments (raw phases), -1 for a constant
	// argument; Const holds the value of each constant argument, as agg.New takes them.
	Args     []int
	ArgTypes []arrow.DataType
	Const    []any
	// Filter says the call has a FILTER clause: its last argument is the clause's boolean
	// condition, and only the rows where it is true are aggregated (see agg.Filtered).
	Filter bool
}

// WindowAggConfig describes a keyed window aggregation.
//
// Raw input (Single, Partial) has the key columns first, then the event time column Time
// and the aggregate arguments. Partial state input (Final) is what Partial emits: the key
// columns, window_start, and one state column per call. A hopping window whose size is a
// multiple of its slide is sliced into panes (window.Spec.Panes): Partial folds each row
// into its pane only and emits per pane, window_start being the pane's start, and Final
// merges each pane's states into every window holding it, Size/Every of them. Time is -1
// when the rows carry no event time, which only the whole input (window.Whole) does without. Fired windows come out as the key
// columns, window_start, window_end and one result column per call, in Out's schema; for a
// session, window_start is its first event and window_end its last event plus the gap.
type WindowAggConfig struct {
	Window window.Spec
	Keys   int
	Time   int
	Calls  []AggCall
	Phase  Phase
	Out    *arrow.Schema
	// RejectOverflow sends an input row (in Final, a partial state row) that would take an
	// aggregate's state out of range, such as an int64 sum past 2^63-1, to Context.Errors
	// when it is set, instead of failing: the row is added to none of the aggregates, and a
	// window that only such rows reached is not emitted. Session windows still fail.
	RejectOverflow bool
	// Spill, when set, keeps the groups of tumbling and hopping windows (phases Single and
	// Final) that do not fit under Spill.Above on disk (see window_agg_spill.go); nil keeps
	// everything in memory.
	Spill *SpillConfig
	// EmitUpdates, with the whole input as the window (window.Whole) in phases Single and
	// Final, emits after each batch the current results of the groups it changed, keeping
	// them open (see window_agg_updates.go); the final watermark still emits every group.
	EmitUpdates bool
	// Hold, in phase Partial, keeps the groups between batches until the states held grow
	// by Hold bytes (see window_agg_hold.go); 0 hands on each batch's groups at once.
	Hold int64
}

// WindowAgg aggregates rows per key and event-time window. Windows fire when the watermark
// reaches their end; their states are then dropped. Tumbling and hopping windows work in every
// phase. Session windows work in Single only: a session grows and merges with its neighbours
// as rows arrive, so there is no fixed window to fold a batch's rows into before the exchange
// (see session_agg.go).
type WindowAgg struct {
	Base
	cfg    WindowAggConfig
	ctx    Context
	accs   []agg.Accumulator
	keyEnc KeyEncoder
	// byStart indexes the open groups of tumbling and hopping windows: window start, then
	// key id. A fired window drops its whole inner map, so the maps never churn through
	// deletes.
	byStart map[int64]map[uint32]uint32
	keys    keyTable
	// keyID holds per group its key: the key's id in keys for tumbling and hopping windows,
	// its slot in sess for session windows (see keyOf).
	keyID  []uint32
	start  []int64
	free   []uint32
	byEnd  map[int64][]uint32
	timers window.Timers
	sess   *sessionState // session windows only
	// assign is the windows raw rows are folded into: the view's, or its panes in phase
	// Partial. sliced says, in phase Final, that the states come per pane.
	assign window.Spec
	sliced bool
	spill  *spiller // the pebble backend; nil keeps every group in memory
	// wm is the last watermark OnWatermark saw: every window ending at or before it fired.
	wm int64

	snapGroups []uint32      // Snapshot: the groups in the order they fire
	ownersOf   int           // SnapshotGroups: the number of owners keys.owner holds owners among
	snapSchema *arrow.Schema // Snapshot and Restore: the columns of the state rows

	touched []uint32 // Partial: groups of the current batch, or held since the last flush
	// flushed is StateBytes after the last flush of a Partial that holds its groups.
	flushed int64
	// EmitUpdates: per group, the number of the batch that last emitted it, and the
	// current batch's number.
	stamp   []uint64
	batchNo uint64
	times   []int64
	rows    []int32
	starts  []int64
	groups  []uint32
	// Final: the groups of a batch of states as sets, row i merging into groups[i] of each
	// (one set, or one per window holding a pane), and the memory of the pane's sets.
	sets       [][]uint32
	paneGroups []uint32
	ends       []int64
	args       [][]arrow.Array // per call, the argument columns of the current batch
	outS       []int64         // window_start of the groups being emitted
	outE       []int64         // window_end of the groups being emitted

	// With RejectOverflow: the accumulators in the order they are updated, those that can
	// overflow first; the groups the current batch made; the groups only rejected rows
	// reached, which are never emitted; and how rejected rows are rendered.
	order   []int
	created []uint32
	hollow  map[uint32]bool
	text    rowText
}

// NewWindowAgg checks cfg and builds the accumulators.
func NewWindowAgg(cfg WindowAggConfig) (*WindowAgg, error) {
	if err := cfg.Window.Validate(); err != nil {
		return nil, err
	}
	if cfg.Time < 0 && cfg.Phase != Final && cfg.Window.Kind != window.Whole {
		return nil, fmt.Errorf("%s windows need an event time column", cfg.Window)
	}
	w := &WindowAgg{cfg: cfg, byStart: map[int64]map[uint32]uint32{}, byEnd: map[int64][]uint32{}, keys: newKeyTable(), wm: MinWatermark, assign: cfg.Window}
	if pane, ok := cfg.Window.Panes(); ok {
		if cfg.Phase == Partial {
			w.assign = pane
		}
		w.sliced = cfg.Phase == Final
	}
	if cfg.Window.Kind == window.Session {
		if cfg.Phase != Single {
			return nil, fmt.Errorf("%s: session windows are aggregated in one phase (Single), not as partial and final states", cfg.Window)
		}
		w.sess = newSessionState(cfg.Window.Gap)
	}
	var err error
	if w.accs, err = newAccumulators(cfg.Calls); err != nil {
		return nil, err
	}
	if cfg.Spill != nil && w.sess == nil && cfg.Phase != Partial && !emitsUpdates(cfg) {
		w.spill = &spiller{cfg: *cfg.Spill}
	}
	for _, first := range []bool{true, false} {
		for i, a := range w.accs {
			if _, ok := a.(agg.Reverter); ok == first {
				w.order = append(w.order, i)
			}
		}
	}
	return w, nil
}

// StateTypes are the types of the partial state columns, in call order.
func (w *WindowAgg) StateTypes() []arrow.DataType {
	out := make([]arrow.DataType, len(w.accs))
	for i, a := range w.accs {
		out[i] = a.StateType()
	}
	return out
}

// ResultTypes are the types of the result columns, in call order.
func (w *WindowAgg) ResultTypes() []arrow.DataType {
	out := make([]arrow.DataType, len(w.accs))
	for i, a := range w.accs {
		out[i] = a.ResultType()
	}
	return out
}

// Open keeps the context.
func (w *WindowAgg) Open(ctx Context) error { w.ctx = ctx; return nil }

// group returns the group of key bytes k in the window starting at start, making it.
func (w *WindowAgg) group(kid uint32, start int64) uint32 {
	whole := w.cfg.Window.Kind == window.Whole
	if whole && w.keys.whole[kid] != 0 {
		return w.keys.whole[kid] - 1
	}
	keys, ok := w.byStart[start]
	if !ok {
		keys = map[uint32]uint32{}
		w.byStart[start] = keys
	}
	if id, ok := keys[kid]; ok {
		return id
	}
	id := w.newGroup(kid, start)
	if w.cfg.RejectOverflow {
		w.created = append(w.created, id)
	}
	w.keys.refs[kid]++
	keys[kid] = id
	if whole {
		w.keys.whole[kid] = id + 1
	}
	if w.cfg.Phase == Partial {
		w.touched = append(w.touched, id)
		return id
	}
	end := w.cfg.Window.End(start)
	if _, ok := w.byEnd[end]; !ok {
		w.timers.Add(end)
	}
	w.byEnd[end] = append(w.byEnd[end], id)
	return id
}

// nextGroup returns the id newGroup will hand out next.
func (w *WindowAgg) nextGroup() uint32 {
	if n := len(w.free); n > 0 {
		return w.free[n-1]
	}
	return uint32(len(w.start))
}

// newGroup takes a group id, from the free list when it has one, for the key key (an id in
// keys, or a session slot) and a window starting at start.
func (w *WindowAgg) newGroup(key uint32, start int64) uint32 {
	if n := len(w.free); n > 0 {
		id := w.free[n-1]
		w.free = w.free[:n-1]
		w.keyID[id], w.start[id] = key, start
		return id
	}
	w.keyID = append(w.keyID, key)
	w.start = append(w.start, start)
	return uint32(len(w.start) - 1)
}

// keyOf returns the key bytes of group g, as KeyEncoder made them.
func (w *WindowAgg) keyOf(g uint32) string {
	if w.sess != nil {
		return w.sess.keys[w.keyID[g]].key
	}
	return w.keys.bytes[w.keyID[g]]
}

// Process folds rec into the groups.
func (w *WindowAgg) Process(_ int, rec arrow.RecordBatch, out Collector) error {
	if err := w.process(rec, out); err != nil || w.spill == nil {
		return err
	}
	return w.maybeSpill()
}

func (w *WindowAgg) process(rec arrow.RecordBatch, out Collector) error {
	defer rec.Release()
	if err := w.keyEnc.Reset(rec.Columns()[:w.cfg.Keys]); err != nil {
		return err
	}
	w.keys.startBatch(&w.keyEnc)
	w.created = w.created[:0]
	if w.cfg.Phase == Final {
		if err := w.merge(rec); err != nil || !emitsUpdates(w.cfg) {
			return err
		}
		return w.emitUpdates(out)
	}
	if err := w.loadTimes(rec); err != nil {
		return err
	}
	w.setArgs(rec)
	defer w.clearArgs()
	if w.sess != nil {
		return w.processSessions()
	}
	w.rows, w.starts = w.assign.Assign(w.times, w.rows[:0], w.starts[:0])
	w.groupPairs()
	if err := w.updateRejecting(rec, w.groups, w.rows); err != nil {
		return err
	}
	if w.cfg.Phase == Partial {
		return w.maybeFlush(out)
	}
	if emitsUpdates(w.cfg) {
		return w.emitUpdates(out)
	}
	return nil
}

// groupPairs puts in w.groups the group of each (row, window start) pair of w.rows and
// w.starts, opening those that are new; the key of row r is KeyEncoder's row r.
func (w *WindowAgg) groupPairs() {
	w.groups = w.groups[:0]
	prev, kid := int32(-1), uint32(0)
	for k, row := range w.rows {
		if row != prev { // a row's windows share its key
			kid, prev = w.keys.internRow(&w.keyEnc, int(row)), row
		}
		w.groups = append(w.groups, w.group(kid, w.starts[k]))
	}
}

// loadTimes puts the event times of rec's rows in w.times; without a time column (the whole
// input) every row gets time 0, which Assign ignores.
func (w *WindowAgg) loadTimes(rec arrow.RecordBatch) error {
	if w.cfg.Time < 0 {
		n := int(rec.NumRows())
		w.times = slices.Grow(w.times[:0], n)[:n]
		clear(w.times)
		return nil
	}
	ts, ok := rec.Column(w.cfg.Time).(*array.Timestamp)
	if !ok {
		return fmt.Errorf("event time column %q is %s", rec.ColumnName(w.cfg.Time), rec.Column(w.cfg.Time).DataType())
	}
	w.times = w.times[:0]
	for _, v := range ts.TimestampValues() {
		w.times = append(w.times, int64(v))
	}
	return nil
}

// setArgs points w.args at the argument columns of rec, one slice per call; constant
// arguments stay nil.
func (w *WindowAgg) setArgs(rec arrow.RecordBatch) {
	if w.args == nil {
		w.args = make([][]arrow.Array, len(w.cfg.Calls))
		for i, c := range w.cfg.Calls {
			w.args[i] = make([]arrow.Array, len(c.Args))
		}
	}
	for i, c := range w.cfg.Calls {
		for j, col := range c.Args {
			if col >= 0 {
				w.args[i][j] = rec.Column(col)
			}
		}
	}
}

// clearArgs drops the references to the batch's columns once it is folded in.
func (w *WindowAgg) clearArgs() {
	for _, a := range w.args {
		clear(a)
	}
}

// update folds rows (row indexes of the current batch) into groups, row k into groups[k].
func (w *WindowAgg) update(groups []uint32, rows []int32) error {
	if len(groups) == 0 {
		return nil
	}
	for i, a := range w.accs {
		if err := a.Update(groups, w.args[i], rows); err != nil {
			return fmt.Errorf("%s: %w", w.cfg.Calls[i].Name, err)
		}
	}
	return nil
}

// merge folds partial state rows into the groups: each row into the window starting at its
// window_start, or, sliced into panes, into every window holding its pane.
func (w *WindowAgg) merge(rec arrow.RecordBatch) error {
	n := int(rec.NumRows())
	w.times = w.times[:0]
	for _, v := range rec.Column(w.cfg.Keys).(*array.Timestamp).TimestampValues() {
		w.times = append(w.times, int64(v))
	}
	if w.sliced {
		// The windows holding a pane are those holding its start: Size/Every per row.
		w.rows, w.starts = w.cfg.Window.Assign(w.times, w.rows[:0], w.starts[:0])
	} else {
		w.rows, w.starts = slices.Grow(w.rows[:0], n), append(w.starts[:0], w.times...)
		for r := range n {
			w.rows = append(w.rows, int32(r))
		}
	}
	w.groupPairs()
	w.sets = w.sets[:0]
	if per := len(w.groups) / max(n, 1); per <= 1 {
		w.sets = append(w.sets, w.groups)
	} else {
		// Set k holds each row's k-th window, so that row i of the states merges into
		// groups[i] of every set.
		w.paneGroups = slices.Grow(w.paneGroups[:0], len(w.groups))
		for k := range per {
			from := len(w.paneGroups)
			for i := k; i < len(w.groups); i += per {
				w.paneGroups = append(w.paneGroups, w.groups[i])
			}
			w.sets = append(w.sets, w.paneGroups[from:])
		}
	}
	if w.rejecting() {
		return w.mergeRejecting(rec, w.sets)
	}
	for i, a := range w.accs {
		for _, groups := range w.sets {
			if err := a.MergePartial(groups, rec.Column(w.cfg.Keys+1+i)); err != nil {
				return fmt.Errorf("%s: %w", w.cfg.Calls[i].Name, err)
			}
		}
	}
	return nil
}

// flushPartial emits the states of the groups touched since the last flush (the batch's,
// unless the partial holds them) and forgets them.
func (w *WindowAgg) flushPartial(out Collector) error {
	if len(w.touched) == 0 {
		return nil
	}
	emit := w.filled(w.touched)
	var rec arrow.RecordBatch
	if len(emit) > 0 {
		starts, _ := w.bounds(emit, false)
		cols, err := w.keyColumns(emit, starts, nil)
		if err != nil {
			return err
		}
		for _, a := range w.accs {
			st, err := a.Partial(emit)
			if err != nil {
				releaseAll(cols)
				return err
			}
			cols = append(cols, st)
		}
		rec = array.NewRecordBatch(w.cfg.Out, cols, int64(len(emit)))
		releaseAll(cols)
	}
	clear(w.byStart)
	// Every group of the batch is flushed, so no key is referred to any more: forget them
	// all at once rather than one map delete each.
	w.keys.reset()
	w.freeGroups(w.touched)
	w.touched = w.touched[:0]
	if w.cfg.Hold > 0 {
		w.flushed = w.StateBytes()
	}
	if rec == nil {
		return nil
	}
	return out.Collect(rec)
}

// bounds returns the window_start of tumbling or hopping groups, and their window_end when
// withEnd, for keyColumns. The slices are reused by the next call.
func (w *WindowAgg) bounds(groups []uint32, withEnd bool) (starts, ends []int64) {
	w.outS, w.outE = slices.Grow(w.outS[:0], len(groups)), w.outE[:0]
	if withEnd {
		w.outE = slices.Grow(w.outE, len(groups))
	}
	for _, g := range groups {
		w.outS = append(w.outS, w.start[g])
		if withEnd {
			w.outE = append(w.outE, w.cfg.Window.End(w.start[g]))
		}
	}
	if !withEnd {
		return w.outS, nil
	}
	return w.outS, w.outE
}

// keyColumns builds the key columns and window_start of groups, from starts, and window_end
// from ends unless ends is nil; starts[i] and ends[i] belong to groups[i].
func (w *WindowAgg) keyColumns(groups []uint32, starts, ends []int64) ([]arrow.Array, error) {
	n := w.cfg.Keys
	builders := make([]array.Builder, n)
	keyBytes := 0
	for _, g := range groups {
		keyBytes += len(w.keyOf(g))
	}
	for i := range n {
		builders[i] = array.NewBuilder(w.ctx.Mem, w.cfg.Out.Field(i).Type)
		builders[i].Reserve(len(groups))
		if bb, ok := builders[i].(*array.StringBuilder); ok {
			bb.ReserveData(keyBytes) // the key bytes bound the strings they hold
		}
	}
	start := array.NewTimestampBuilder(w.ctx.Mem, w.cfg.Out.Field(n).Type.(*arrow.TimestampType))
	end := array.NewTimestampBuilder(w.ctx.Mem, w.cfg.Out.Field(n).Type.(*arrow.TimestampType))
	start.Reserve(len(groups))
	if ends != nil {
		end.Reserve(len(groups))
	}
	defer func() {
		for _, b := range builders {
			b.Release()
		}
		start.Release()
		end.Release()
	}()
	for i, g := range groups {
		if err := AppendKey([]byte(w.keyOf(g)), builders); err != nil {
			return nil, err
		}
		start.Append(arrow.Timestamp(starts[i]))
		if ends != nil {
			end.Append(arrow.Timestamp(ends[i]))
		}
	}
	cols := make([]arrow.Array, 0, n+2+len(w.accs))
	for _, b := range builders {
		cols = append(cols, b.NewArray())
	}
	cols = append(cols, start.NewArray())
	if ends != nil {
		cols = append(cols, end.NewArray())
	}
	return cols, nil
}

// releaseKeys drops the groups' references to their keys.
func (w *WindowAgg) releaseKeys(groups []uint32) {
	for _, g := range groups {
		w.keys.release(w.keyID[g])
	}
}

// freeGroups resets the states of groups and returns their ids to the free list.
func (w *WindowAgg) freeGroups(groups []uint32) {
	if len(w.hollow) > 0 {
		for _, g := range groups {
			delete(w.hollow, g)
		}
	}
	for _, a := range w.accs {
		a.Reset(groups)
	}
	w.free = append(w.free, groups...)
}

// results builds the output batch of fired groups: key columns, window bounds and one
// result column per call.
func (w *WindowAgg) results(groups []uint32, starts, ends []int64) (arrow.RecordBatch, error) {
	cols, err := w.keyColumns(groups, starts, ends)
	if err != nil {
		return nil, err
	}
	for _, a := range w.accs {
		res, err := a.Final(groups)
		if err != nil {
			releaseAll(cols)
			return nil, err
		}
		cols = append(cols, res)
	}
	rec := array.NewRecordBatch(w.cfg.Out, cols, int64(len(groups)))
	releaseAll(cols)
	return rec, nil
}

// OnWatermark fires every window that ends at or before wm. A watermark at or below the last
// one (as a restored operator may be told again) fires nothing: those windows fired already.
func (w *WindowAgg) OnWatermark(wm int64, out Collector) error {
	if wm <= w.wm {
		return nil
	}
	w.wm = wm
	if w.cfg.Phase == Partial {
		return w.flushEnded(wm, out) // before the watermark, the groups of windows it ends
	}
	if w.sess != nil {
		return w.fireSessions(wm, out)
	}
	w.ends = w.timers.PopUpTo(wm, w.ends[:0])
	if len(w.ends) == 0 {
		return nil
	}
	if w.spill != nil {
		return w.fireSpilling(out)
	}
	var fired []uint32
	for _, e := range w.ends {
		g := w.byEnd[e]
		fired = append(fired, g...)
		delete(w.byEnd, e)
		delete(w.byStart, w.start[g[0]]) // one start per end: the window's groups go together
	}
	emit := w.filled(fired)
	var rec arrow.RecordBatch
	if len(emit) > 0 {
		starts, ends := w.bounds(emit, true)
		var err error
		if rec, err = w.results(emit, starts, ends); err != nil {
			return err
		}
	}
	w.releaseKeys(fired)
	w.freeGroups(fired)
	if rec == nil {
		return nil
	}
	return out.Collect(rec)
}

// Groups is the number of open (key, window) groups, for state size figures; with session
// windows, the number of open sessions over all keys.
func (w *WindowAgg) Groups() int {
	if w.sess != nil {
		return w.sess.open
	}
	return len(w.start) - len(w.free)
}

// StateBytes estimates the memory of the open groups: their aggregate states, their keys
// and the indexes over them.
func (w *WindowAgg) StateBytes() int64 {
	var n int64
	for _, a := range w.accs {
		n += a.SizeBytes()
	}
	if w.sess != nil {
		return n + w.sess.sizeBytes()
	}
	const perGroup = 8 + 4 + 16 // start, keyID and an index entry
	return n + w.keys.sizeBytes() + int64(cap(w.start))*perGroup
}

// releaseAll releases the columns that are set.
func releaseAll(cols []arrow.Array) {
	for _, c := range cols {
		if c != nil {
			c.Release()
		}
	}
}
