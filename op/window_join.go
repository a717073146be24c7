package op

import (
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"

	"millrace/window"
)

// WindowJoin joins two keyed streams window by window: a row of the left input (input 0) and
// a row of the right input (input 1) join when their keys are equal and both fall in one
// tumbling or hopping window, once per window they share. Both inputs must reach a subtask by
// the same keyed exchange, so that rows with one key meet in one subtask.
//
// A pair is emitted as soon as its second row arrives. The rows of a key in a window wait in
// state until the watermark reaches the window's end, when no row of that window can come
// any more (the watermark being the least over both inputs); then an outer side's row that
// joined nothing in that window is emitted once, with the other side's columns null, and the
// window's rows are dropped. An inner side's such row is counted by Dropped, once per window.
//
// An output row holds the left columns, then the right input's carried columns (all but its
// key), then the window's start and end. A row only the right input has gets the left key
// columns from its own key. Every row the join emits lies at its window's end, which the
// watermark has not passed when it comes out, so the join never holds the watermark back.
type WindowJoin struct {
	Base
	cfg WindowJoinConfig
	ctx Context
	// windows holds the rows of each key and window, by windowJoinID.
	windows map[string]*windowJoinRows
	due     joinHeap[string] // per window of a key: (its end - 1, its id)
	wm      int64
	rows    int64 // rows kept, both sides, once per window
	size    int64 // bytes of the ids and rows kept

	enc     [2]KeyEncoder
	rowEnc  KeyEncoder
	out     joinOutput
	ts      []int64
	at      []int32
	starts  []int64
	id      []byte
	dropped int64
}

// WindowJoinConfig says what a WindowJoin joins.
type WindowJoinConfig struct {
	// Key lists the key columns of each input (0 left, 1 right), of equal types pairwise.
	Key [2][]int
	// Time is the event-time column (timestamp, ms) of each input.
	Time [2]int
	// Window is a tumbling or hopping window.
	Window window.Spec
	// Outer says, per input, whether its rows that join nothing in a window are emitted.
	Outer [2]bool
	// Carry lists the right input's columns the output keeps, after the left's.
	Carry []int
	// Left and Right are the inputs' schemas.
	Left, Right *arrow.Schema
	// Out is the output schema: Left's fields, Right's Carry fields, then the window's start
	// and end as timestamps.
	Out *arrow.Schema
}

// windowJoinRows holds the rows of one key in one window, per side in order of arrival.
type windowJoinRows struct {
	id    string // windowJoinID(start, key)
	start int64
	rows  [2][]joinRow
}

// windowJoinID is the map key of a window of a key: the window's start, 8 bytes big-endian,
// then the key's bytes.
func windowJoinID(dst []byte, start int64, key []byte) []byte {
	dst = binary.BigEndian.AppendUint64(dst[:0], uint64(start))
	return append(dst, key...)
}

// NewWindowJoin checks cfg and returns the operator.
func NewWindowJoin(cfg WindowJoinConfig) (*WindowJoin, error) {
	if err := cfg.Window.Validate(); err != nil {
		return nil, fmt.Errorf("window join: %w", err)
	}
	if cfg.Window.Kind != window.Tumble && cfg.Window.Kind != window.Hop {
		return nil, fmt.Errorf("window join: a %s window; want tumble or hop", cfg.Window.Kind)
	}
	if len(cfg.Key[0]) == 0 || len(cfg.Key[0]) != len(cfg.Key[1]) {
		return nil, fmt.Errorf("window join: %d left and %d right key columns", len(cfg.Key[0]), len(cfg.Key[1]))
	}
	for i := range cfg.Key[0] {
		l, r := cfg.Left.Field(cfg.Key[0][i]), cfg.Right.Field(cfg.Key[1][i])
		if !arrow.TypeEqual(l.Type, r.Type) {
			return nil, fmt.Errorf("window join: key column %q is %s on the left but %q is %s on the right", l.Name, l.Type, r.Name, r.Type)
		}
	}
	if want := cfg.Left.NumFields() + len(cfg.Carry) + 2; cfg.Out.NumFields() != want {
		return nil, fmt.Errorf("window join: output has %d columns, want %d", cfg.Out.NumFields(), want)
	}
	for _, f := range append(slices.Clone(cfg.Left.Fields()), cfg.Right.Fields()...) {
		if !KeyType(f.Type) {
			return nil, fmt.Errorf("window join: column %q is %s, which join state cannot hold", f.Name, f.Type)
		}
	}
	return &WindowJoin{cfg: cfg, windows: map[string]*windowJoinRows{}, wm: MinWatermark}, nil
}

// Open keeps the allocator.
func (j *WindowJoin) Open(ctx Context) error {
	j.ctx = ctx
	j.ctx.Mem = allocator(ctx)
	return nil
}

// Dropped counts the rows of an inner side that joined nothing, once per window.
func (j *WindowJoin) Dropped() int64 { return j.dropped }

// StateBytes estimates the memory of the kept rows, their windows and timers.
func (j *WindowJoin) StateBytes() int64 {
	const perWindow, perRow = 16 + 64 + 56 + 24, 40 // map entry, windowJoinRows, a timer; joinRow
	return j.size + int64(len(j.windows))*perWindow + j.rows*perRow
}

func (j *WindowJoin) outShape() joinShape {
	return joinShape{mem: j.ctx.Mem, schema: j.cfg.Out, left: j.cfg.Left.NumFields(), carry: len(j.cfg.Carry), leftKey: j.cfg.Key[0]}
}

// Process joins the rows of rec, from input side, with the other side's rows of the same
// key and window, and keeps them.
func (j *WindowJoin) Process(side int, rec arrow.RecordBatch, out Collector) error {
	defer rec.Release()
	if side != 0 && side != 1 {
		return fmt.Errorf("window join: input %d; it has inputs 0 (left) and 1 (right)", side)
	}
	times, err := encodeJoinBatch("window join", side, rec, &j.enc[side], &j.rowEnc, j.cfg.Key[side], j.cfg.Carry, j.cfg.Time[side])
	if err != nil {
		return err
	}
	j.ts = j.ts[:0]
	for r := range int(rec.NumRows()) {
		if times.IsNull(r) {
			return fmt.Errorf("window join: input %d row %d has no event time", side, r)
		}
		j.ts = append(j.ts, int64(times.Value(r)))
	}
	j.at, j.starts = j.cfg.Window.Assign(j.ts, j.at[:0], j.starts[:0])
	other := 1 - side
	j.out.reset(j.outShape())
	last, cols := int32(-1), ""
	for k, r := range j.at {
		if r != last { // a hopping window assigns a row to its windows one after another
			last, cols = r, string(j.rowEnc.Key(int(r)))
		}
		start := j.starts[k]
		j.id = windowJoinID(j.id, start, j.enc[side].Key(int(r)))
		w, ok := j.windows[string(j.id)]
		if !ok {
			w = &windowJoinRows{id: string(j.id), start: start}
			j.windows[w.id] = w
			j.due.push(joinTimer[string]{at: j.cfg.Window.End(start) - 1, key: w.id})
			j.size += int64(len(w.id))
		}
		row := joinRow{time: j.ts[r], cols: cols}
		end := j.cfg.Window.End(start)
		for i := range w.rows[other] {
			o := &w.rows[other][i]
			o.matched, row.matched = true, true
			lc, rc := row.cols, o.cols
			if side == 1 {
				lc, rc = o.cols, row.cols
			}
			if err := j.out.pair([]byte(lc), []byte(rc), start, end); err != nil {
				return err
			}
		}
		w.rows[side] = append(w.rows[side], row)
		j.rows++
		j.size += int64(len(row.cols))
	}
	return j.out.flush(out)
}

// OnWatermark closes the windows the watermark reached, emitting the rows of an outer side
// that joined nothing in them.
func (j *WindowJoin) OnWatermark(wm int64, out Collector) error {
	if wm <= j.wm {
		return nil
	}
	j.wm = wm
	j.out.reset(j.outShape())
	for len(j.due) > 0 && j.due[0].at < wm {
		t := j.due.pop()
		w, ok := j.windows[t.key]
		if !ok {
			continue
		}
		if err := j.close(w); err != nil {
			return err
		}
		delete(j.windows, t.key)
		j.size -= int64(len(t.key))
	}
	return j.out.flush(out)
}

// close drops the rows of window w, emitting an outer side's unmatched ones.
func (j *WindowJoin) close(w *windowJoinRows) error {
	end := j.cfg.Window.End(w.start)
	key := w.id[8:]
	for side := range 2 {
		for _, r := range w.rows[side] {
			j.rows--
			j.size -= int64(len(r.cols))
			if r.matched {
				continue
			}
			if !j.cfg.Outer[side] {
				j.dropped++
				continue
			}
			var err error
			if side == 0 {
				err = j.out.leftOnly([]byte(r.cols), w.start, end)
			} else {
				err = j.out.rightOnly([]byte(key), []byte(r.cols), w.start, end)
			}
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// Close releases the output builders.
func (j *WindowJoin) Close() error {
	j.out.release()
	return nil
}
