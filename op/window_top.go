package op

import (
	"fmt"
	"slices"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"millrace/take"
)

// WindowTop keeps, for each window, the rows whose value is the window's largest, and
// emits them when the watermark reaches the window's end: SQL's
// `QUALIFY v = max(v) OVER (PARTITION BY window_end)`. A row's window is named by its
// window-end column, so it serves windows of raw rows (computed by a Map before it) and the
// output of a window aggregation alike. It composes with itself in two phases: run per
// subtask, then once over their outputs.
type WindowTop struct {
	Base
	end, value int // columns: window end (timestamp) and the value compared (int64)
	open       map[int64]*topRows
	ends       []int64
	mem        memory.Allocator
}

// topRows are the rows holding a window's largest value so far.
type topRows struct {
	max  int64
	rows []arrow.RecordBatch
}

// NewWindowTop returns a WindowTop over the window-end column end and the int64 column value.
func NewWindowTop(end, value int) *WindowTop {
	return &WindowTop{end: end, value: value, open: map[int64]*topRows{}}
}

// StateBytes is the memory of the rows held for the open windows.
func (w *WindowTop) StateBytes() int64 {
	var n int64
	for _, t := range w.open {
		for _, r := range t.rows {
			for _, c := range r.Columns() {
				for _, b := range c.Data().Buffers() {
					if b != nil {
						n += int64(b.Len())
					}
				}
			}
		}
	}
	return n
}

// Open keeps the allocator that Restore reads rows into.
func (w *WindowTop) Open(ctx Context) error {
	w.mem = allocator(ctx)
	return nil
}

// columns returns the window-end and value columns of rec.
func (w *WindowTop) columns(rec arrow.RecordBatch) (*array.Timestamp, *array.Int64, error) {
	if w.end >= int(rec.NumCols()) || w.value >= int(rec.NumCols()) {
		return nil, nil, fmt.Errorf("window top: rows of %d columns have no column %d or %d", rec.NumCols(), w.end, w.value)
	}
	ends, ok := rec.Column(w.end).(*array.Timestamp)
	if !ok {
		return nil, nil, fmt.Errorf("window top: column %q is %s, not a timestamp", rec.ColumnName(w.end), rec.Column(w.end).DataType())
	}
	vals, ok := rec.Column(w.value).(*array.Int64)
	if !ok {
		return nil, nil, fmt.Errorf("window top: column %q is %s, not int64", rec.ColumnName(w.value), rec.Column(w.value).DataType())
	}
	return ends, vals, nil
}

// Process folds rec's rows into their windows.
func (w *WindowTop) Process(_ int, rec arrow.RecordBatch, _ Collector) error {
	defer rec.Release()
	ends, vals, err := w.columns(rec)
	if err != nil {
		return err
	}
	// The batch's own maximum per window first (a batch spans few windows), then the rows
	// that reach it.
	best := map[int64]int64{}
	for i, e := range ends.TimestampValues() {
		if vals.IsNull(i) {
			continue
		}
		if m, seen := best[int64(e)]; !seen || vals.Value(i) > m {
			best[int64(e)] = vals.Value(i)
		}
	}
	for e, m := range best {
		t := w.open[e]
		switch {
		case t == nil:
			t = &topRows{max: m}
			w.open[e] = t
		case m < t.max:
			continue
		case m > t.max:
			t.release()
			t.max = m
		}
		var idx []int32
		for i, v := range vals.Int64Values() {
			if int64(ends.Value(i)) == e && v == m && vals.IsValid(i) {
				idx = append(idx, int32(i))
			}
		}
		rows, err := take.Rows(rec, idx)
		if err != nil {
			return err
		}
		t.rows = append(t.rows, rows)
	}
	return nil
}

// OnWatermark emits the top rows of every window that ends at or before wm, in end order.
func (w *WindowTop) OnWatermark(wm int64, out Collector) error {
	w.ends = w.ends[:0]
	for e := range w.open {
		if e <= wm {
			w.ends = append(w.ends, e)
		}
	}
	slices.Sort(w.ends)
	for _, e := range w.ends {
		t := w.open[e]
		delete(w.open, e)
		for i, r := range t.rows {
			if err := out.Collect(r); err != nil {
				for _, rest := range t.rows[i+1:] {
					rest.Release()
				}
				return err
			}
		}
	}
	return nil
}

// Close drops what never fired.
func (w *WindowTop) Close() error {
	for e, t := range w.open {
		t.release()
		delete(w.open, e)
	}
	return nil
}

// release drops the rows held.
func (t *topRows) release() {
	for _, r := range t.rows {
		r.Release()
	}
	t.rows = nil
}

// windowTopStateVersion is the version of the snapshot body this build writes and the newest
// it reads.
const windowTopStateVersion = 1

// StateFingerprint names the schema of the state: the positions of the window-end and value
// columns. The held rows keep their own columns, in the snapshot's Arrow schema.
func (w *WindowTop) StateFingerprint() string {
	return fingerprint("window_top", strconv.Itoa(windowTopStateVersion), strconv.Itoa(w.end), strconv.Itoa(w.value))
}

// Snapshot encodes the rows held for the open windows for checkpoint id.
//
// The body (kind 'T', version 1; see snapshot.go for the envelope) is empty when no window
// is open, and otherwise an Arrow IPC stream of the held batches of rows, in the input's
// schema: the windows by end, each window's batches in the order they arrived. The rows of
// one batch share their window end and value, which are the window and its largest value,
// so nothing else is kept.
func (w *WindowTop) Snapshot(id uint64) ([]byte, error) {
	sw := newStateWriter(kindWindowTop, windowTopStateVersion, id, w.StateFingerprint())
	w.ends = w.ends[:0]
	for e := range w.open {
		w.ends = append(w.ends, e)
	}
	slices.Sort(w.ends)
	var recs []arrow.RecordBatch
	for _, e := range w.ends {
		recs = append(recs, w.open[e].rows...)
	}
	if len(recs) > 0 {
		schema := recs[0].Schema()
		for _, r := range recs[1:] {
			if !r.Schema().Equal(schema) {
				return nil, fmt.Errorf("snapshot window top: held rows have columns %s and %s", schemaString(schema), schemaString(r.Schema()))
			}
		}
		if err := sw.records(w.allocator(), schema, recs...); err != nil {
			return nil, fmt.Errorf("snapshot window top: %w", err)
		}
	}
	return sw.seal(), nil
}

// Restore loads a snapshot into an operator that holds no rows yet.
func (w *WindowTop) Restore(state []byte) error {
	if err := w.restore(state); err != nil {
		return fmt.Errorf("restore window top: %w", err)
	}
	return nil
}

func (w *WindowTop) restore(state []byte) error {
	if len(w.open) > 0 {
		return fmt.Errorf("the operator already holds %d windows", len(w.open))
	}
	r, err := openState(state, kindWindowTop, windowTopStateVersion, w.StateFingerprint())
	if err != nil {
		return err
	}
	return w.restoreFrom(r)
}

// restoreFrom adds the rows of a snapshot's body to the open windows.
func (w *WindowTop) restoreFrom(r *stateReader) error {
	if len(r.body) == 0 {
		return nil
	}
	recs, err := r.records(w.allocator(), nil)
	if err != nil {
		return err
	}
	for i, rec := range recs {
		if err := w.restoreRows(rec); err != nil {
			for _, rest := range recs[i:] {
				rest.Release()
			}
			return err
		}
	}
	return nil
}

// restoreRows adds a held batch back to its window, taking ownership of it.
func (w *WindowTop) restoreRows(rec arrow.RecordBatch) error {
	ends, vals, err := w.columns(rec)
	if err != nil {
		return err
	}
	if rec.NumRows() == 0 || vals.IsNull(0) {
		return fmt.Errorf("state holds a batch without rows or with a null value")
	}
	e, m := int64(ends.Value(0)), vals.Value(0)
	for i := range int(rec.NumRows()) {
		if int64(ends.Value(i)) != e || vals.IsNull(i) || vals.Value(i) != m {
			return fmt.Errorf("state holds a batch whose rows differ in window end or value (row %d)", i)
		}
	}
	t := w.open[e]
	switch {
	case t == nil:
		t = &topRows{max: m}
		w.open[e] = t
	case m < t.max: // held by another subtask before a rescale
		rec.Release()
		return nil
	case m > t.max:
		t.release()
		t.max = m
	}
	t.rows = append(t.rows, rec)
	return nil
}

// Rescale hands the rows subtask i held to new subtask i mod n: a window top is not keyed,
// and a subtask given the rows of several keeps, per window, those of the largest value.
func (w *WindowTop) Rescale(states [][]byte, n int, _ KeyOwner) ([][]byte, error) {
	tops := make([]*WindowTop, n)
	for s := range tops {
		tops[s] = NewWindowTop(w.end, w.value)
		tops[s].mem = w.allocator()
	}
	defer func() {
		for _, t := range tops {
			_ = t.Close() // it only releases rows
		}
	}()
	var id uint64
	for i, st := range states {
		if st == nil {
			continue
		}
		r, err := openState(st, kindWindowTop, windowTopStateVersion, w.StateFingerprint())
		if err != nil {
			return nil, fmt.Errorf("rescale window top: subtask %d: %w", i, err)
		}
		id = max(id, r.checkpoint)
		if err := tops[i%n].restoreFrom(r); err != nil {
			return nil, fmt.Errorf("rescale window top: subtask %d: %w", i, err)
		}
	}
	out := make([][]byte, n)
	for s, t := range tops {
		var err error
		if out[s], err = t.Snapshot(id); err != nil {
			return nil, fmt.Errorf("rescale window top: %w", err)
		}
	}
	return out, nil
}

// allocator is the allocator from Open, Go's heap before it.
func (w *WindowTop) allocator() memory.Allocator {
	if w.mem == nil {
		return memory.DefaultAllocator
	}
	return w.mem
}
