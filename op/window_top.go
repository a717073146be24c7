package op

import (
	"fmt"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

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

// Process folds rec's rows into their windows.
func (w *WindowTop) Process(_ int, rec arrow.RecordBatch, _ Collector) error {
	defer rec.Release()
	ends, ok := rec.Column(w.end).(*array.Timestamp)
	if !ok {
		return fmt.Errorf("window top: column %q is %s, not a timestamp", rec.ColumnName(w.end), rec.Column(w.end).DataType())
	}
	vals, ok := rec.Column(w.value).(*array.Int64)
	if !ok {
		return fmt.Errorf("window top: column %q is %s, not int64", rec.ColumnName(w.value), rec.Column(w.value).DataType())
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
			for _, r := range t.rows {
				r.Release()
			}
			t.max, t.rows = m, nil
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
		for _, r := range t.rows {
			r.Release()
		}
		delete(w.open, e)
	}
	return nil
}
