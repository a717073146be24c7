package op

import (
	"encoding/binary"
	"fmt"

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

// AggCall is one aggregate function of a WindowAgg.
type AggCall struct {
	Name string
	// Args are input columns holding the evaluated arguments (raw phases), -1 for a constant
	// argument; Const holds the value of each constant argument, as agg.New takes them.
	Args     []int
	ArgTypes []arrow.DataType
	Const    []any
}

// WindowAggConfig describes a keyed window aggregation.
//
// Raw input (Single, Partial) has the key columns first, then the event time column Time
// and the aggregate arguments. Partial state input (Final) is what Partial emits: the key
// columns, window_start, and one state column per call. Fired windows come out as the key
// columns, window_start, window_end and one result column per call, in Out's schema.
type WindowAggConfig struct {
	Window window.Spec
	Keys   int
	Time   int
	Calls  []AggCall
	Phase  Phase
	Out    *arrow.Schema
}

// WindowAgg aggregates rows per key and event-time window. Windows fire when the watermark
// reaches their end; their states are then dropped. Only tumbling and hopping windows.
type WindowAgg struct {
	Base
	cfg    WindowAggConfig
	ctx    Context
	accs   []agg.Accumulator
	keyEnc KeyEncoder
	ids    map[string]uint32 // key bytes + window start -> group
	keyOf  []string
	start  []int64
	free   []uint32
	byEnd  map[int64][]uint32
	timers window.Timers

	touched []uint32 // Partial: groups of the current batch
	times   []int64
	rows    []int32
	starts  []int64
	groups  []uint32
	keyBuf  []byte
	ends    []int64
}

// NewWindowAgg checks cfg and builds the accumulators.
func NewWindowAgg(cfg WindowAggConfig) (*WindowAgg, error) {
	if err := cfg.Window.Validate(); err != nil {
		return nil, err
	}
	if cfg.Window.Kind == window.Session {
		return nil, fmt.Errorf("session windows are not supported by the window aggregation yet")
	}
	w := &WindowAgg{cfg: cfg, ids: map[string]uint32{}, byEnd: map[int64][]uint32{}}
	for _, c := range cfg.Calls {
		a, err := agg.New(c.Name, c.ArgTypes, c.Const)
		if err != nil {
			return nil, err
		}
		w.accs = append(w.accs, a)
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
func (w *WindowAgg) group(k []byte, start int64) uint32 {
	w.keyBuf = binary.LittleEndian.AppendUint64(append(w.keyBuf[:0], k...), uint64(start))
	if id, ok := w.ids[string(w.keyBuf)]; ok {
		return id
	}
	var id uint32
	if n := len(w.free); n > 0 {
		id, w.free = w.free[n-1], w.free[:n-1]
		w.keyOf[id], w.start[id] = string(k), start
	} else {
		id = uint32(len(w.keyOf))
		w.keyOf = append(w.keyOf, string(k))
		w.start = append(w.start, start)
	}
	w.ids[string(w.keyBuf)] = id
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

// Process folds rec into the groups.
func (w *WindowAgg) Process(_ int, rec arrow.RecordBatch, out Collector) error {
	defer rec.Release()
	if err := w.keyEnc.Reset(rec.Columns()[:w.cfg.Keys]); err != nil {
		return err
	}
	if w.cfg.Phase == Final {
		return w.merge(rec)
	}
	ts, ok := rec.Column(w.cfg.Time).(*array.Timestamp)
	if !ok {
		return fmt.Errorf("event time column %q is %s", rec.ColumnName(w.cfg.Time), rec.Column(w.cfg.Time).DataType())
	}
	w.times = w.times[:0]
	for _, v := range ts.TimestampValues() {
		w.times = append(w.times, int64(v))
	}
	w.rows, w.starts = w.cfg.Window.Assign(w.times, w.rows[:0], w.starts[:0])
	w.groups = w.groups[:0]
	for k, row := range w.rows {
		w.groups = append(w.groups, w.group(w.keyEnc.Key(int(row)), w.starts[k]))
	}
	for i, a := range w.accs {
		args := make([]arrow.Array, len(w.cfg.Calls[i].Args))
		for j, c := range w.cfg.Calls[i].Args {
			if c >= 0 {
				args[j] = rec.Column(c)
			}
		}
		if err := a.Update(w.groups, args, w.rows); err != nil {
			return fmt.Errorf("%s: %w", w.cfg.Calls[i].Name, err)
		}
	}
	if w.cfg.Phase == Partial {
		return w.flushPartial(out)
	}
	return nil
}

// merge folds partial state rows into the groups.
func (w *WindowAgg) merge(rec arrow.RecordBatch) error {
	starts := rec.Column(w.cfg.Keys).(*array.Timestamp)
	w.groups = w.groups[:0]
	for r := range int(rec.NumRows()) {
		w.groups = append(w.groups, w.group(w.keyEnc.Key(r), int64(starts.Value(r))))
	}
	for i, a := range w.accs {
		if err := a.MergePartial(w.groups, rec.Column(w.cfg.Keys+1+i)); err != nil {
			return fmt.Errorf("%s: %w", w.cfg.Calls[i].Name, err)
		}
	}
	return nil
}

// flushPartial emits the states of the groups the batch touched and forgets them.
func (w *WindowAgg) flushPartial(out Collector) error {
	if len(w.touched) == 0 {
		return nil
	}
	cols, err := w.keyColumns(w.touched, false)
	if err != nil {
		return err
	}
	for _, a := range w.accs {
		st, err := a.Partial(w.touched)
		if err != nil {
			releaseAll(cols)
			return err
		}
		cols = append(cols, st)
	}
	rec := array.NewRecordBatch(w.cfg.Out, cols, int64(len(w.touched)))
	releaseAll(cols)
	w.forget(w.touched)
	w.touched = w.touched[:0]
	return out.Collect(rec)
}

// keyColumns builds the key columns and window_start (and window_end) of groups.
func (w *WindowAgg) keyColumns(groups []uint32, withEnd bool) ([]arrow.Array, error) {
	n := w.cfg.Keys
	builders := make([]array.Builder, n)
	for i := range n {
		builders[i] = array.NewBuilder(w.ctx.Mem, w.cfg.Out.Field(i).Type)
	}
	start := array.NewTimestampBuilder(w.ctx.Mem, w.cfg.Out.Field(n).Type.(*arrow.TimestampType))
	end := array.NewTimestampBuilder(w.ctx.Mem, w.cfg.Out.Field(n).Type.(*arrow.TimestampType))
	defer func() {
		for _, b := range builders {
			b.Release()
		}
		start.Release()
		end.Release()
	}()
	for _, g := range groups {
		if err := AppendKey([]byte(w.keyOf[g]), builders); err != nil {
			return nil, err
		}
		start.Append(arrow.Timestamp(w.start[g]))
		end.Append(arrow.Timestamp(w.cfg.Window.End(w.start[g])))
	}
	cols := make([]arrow.Array, 0, n+2+len(w.accs))
	for _, b := range builders {
		cols = append(cols, b.NewArray())
	}
	cols = append(cols, start.NewArray())
	if withEnd {
		cols = append(cols, end.NewArray())
	}
	return cols, nil
}

// forget returns groups to the free list.
func (w *WindowAgg) forget(groups []uint32) {
	for _, a := range w.accs {
		a.Reset(groups)
	}
	for _, g := range groups {
		w.keyBuf = binary.LittleEndian.AppendUint64(append(w.keyBuf[:0], w.keyOf[g]...), uint64(w.start[g]))
		delete(w.ids, string(w.keyBuf))
		w.keyOf[g] = ""
		w.free = append(w.free, g)
	}
}

// OnWatermark fires every window that ends at or before wm.
func (w *WindowAgg) OnWatermark(wm int64, out Collector) error {
	if w.cfg.Phase == Partial {
		return nil
	}
	w.ends = w.timers.PopUpTo(wm, w.ends[:0])
	if len(w.ends) == 0 {
		return nil
	}
	var fired []uint32
	for _, e := range w.ends {
		fired = append(fired, w.byEnd[e]...)
		delete(w.byEnd, e)
	}
	cols, err := w.keyColumns(fired, true)
	if err != nil {
		return err
	}
	for _, a := range w.accs {
		res, err := a.Final(fired)
		if err != nil {
			releaseAll(cols)
			return err
		}
		cols = append(cols, res)
	}
	rec := array.NewRecordBatch(w.cfg.Out, cols, int64(len(fired)))
	releaseAll(cols)
	w.forget(fired)
	return out.Collect(rec)
}

// Groups is the number of open (key, window) groups, for state size figures.
func (w *WindowAgg) Groups() int { return len(w.ids) }

func releaseAll(cols []arrow.Array) {
	for _, c := range cols {
		c.Release()
	}
}
