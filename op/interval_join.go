package op

import (
	"cmp"
	"fmt"
	"math"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// IntervalJoin joins two keyed streams: a row of the left input (input 0) and a row of the
// right input (input 1) with equal keys join when the right row's event time minus the left
// row's lies in [Lower, Upper], both bounds included. Both inputs must reach a subtask by the
// same keyed exchange, so that rows with one key meet in one subtask.
//
// With UntilColumn, each left row's interval ends at its own Until column instead of at
// Upper: a right row joins it when its time minus the left row's is at least Lower and its
// time is at most the left row's Until (Nexmark q9's bids within each auction's lifetime).
//
// A pair is emitted as soon as its second row arrives. Each row waits in the state of its
// key until no row of the other input can join it any more: a left row at t until the
// watermark passes t + Upper (its Until with UntilColumn), a right row at t until it passes t - Lower (the watermark being
// the least over both inputs, and no row arriving behind its input's watermark). Then an
// outer side's row that joined nothing is emitted once, with the other side's columns null,
// and the row is dropped; an inner side's such row is counted by Dropped.
//
// An output row holds the left columns, then the right input's carried columns (all but its
// key), then the row's event time: the later of the two rows' times, or the one row's time
// for an unmatched row. A row only the right input has gets the left key columns from its
// own key, so the key is never null for want of a side. Unmatched rows come out behind the
// watermark they wait for, so the operator holds its output watermark back (HeldWatermark)
// to the earliest row of an outer side it still keeps.
type IntervalJoin struct {
	Base
	cfg   IntervalJoinConfig
	ctx   Context
	table joinTable
	// due holds, per side, a timer for every key with rows of that side: (the watermark its
	// earliest row waits for, the key's slot); see arm.
	due [2]keyTimers
	wm  int64

	enc     [2]KeyEncoder // key columns of the batch being processed
	rowEnc  KeyEncoder    // the columns a row keeps, of the batch being processed
	out     joinOutput
	dropped int64
}

// IntervalJoinConfig says what an IntervalJoin joins.
type IntervalJoinConfig struct {
	// Key lists the key columns of each input (0 left, 1 right), of equal types pairwise.
	Key [2][]int
	// Time is the event-time column (timestamp, ms) of each input.
	Time [2]int
	// Lower and Upper bound the right row's time minus the left row's, in ms, inclusive.
	Lower, Upper int64
	// Outer says, per input, whether its rows that join nothing are emitted.
	Outer [2]bool
	// UntilColumn bounds each left row's interval by its own timestamp column Until instead
	// of Upper: a right row joins it when its time is at most that value (and its time minus
	// the left row's at least Lower). A left row whose Until is null joins nothing. The left
	// side cannot then be outer.
	UntilColumn bool
	Until       int
	// Carry lists the right input's columns the output keeps, after the left's.
	Carry []int
	// Left and Right are the inputs' schemas.
	Left, Right *arrow.Schema
	// Out is the output schema: Left's fields, Right's Carry fields, then a timestamp.
	Out *arrow.Schema
}

// joinRow is a row kept in state: its event time, whether it joined a row yet, and its
// columns (all of a left row, the carried ones of a right row) as KeyEncoder encodes them.
type joinRow struct {
	time    int64
	matched bool
	cols    string
}

// NewIntervalJoin checks cfg and returns the operator.
func NewIntervalJoin(cfg IntervalJoinConfig) (*IntervalJoin, error) {
	if cfg.Lower > cfg.Upper && !cfg.UntilColumn {
		return nil, fmt.Errorf("interval join: lower bound %d ms is above upper bound %d ms", cfg.Lower, cfg.Upper)
	}
	if cfg.UntilColumn {
		if cfg.Until < 0 || cfg.Until >= cfg.Left.NumFields() || cfg.Left.Field(cfg.Until).Type.ID() != arrow.TIMESTAMP {
			return nil, fmt.Errorf("interval join: the upper bound's column %d is not a timestamp column of the left input (%d columns)", cfg.Until, cfg.Left.NumFields())
		}
		if cfg.Outer[0] {
			return nil, fmt.Errorf("interval join: an upper bound from column %q goes with an inner or right join, not a left or full one", cfg.Left.Field(cfg.Until).Name)
		}
	}
	if len(cfg.Key[0]) == 0 || len(cfg.Key[0]) != len(cfg.Key[1]) {
		return nil, fmt.Errorf("interval join: %d left and %d right key columns", len(cfg.Key[0]), len(cfg.Key[1]))
	}
	for i := range cfg.Key[0] {
		l, r := cfg.Left.Field(cfg.Key[0][i]), cfg.Right.Field(cfg.Key[1][i])
		if !arrow.TypeEqual(l.Type, r.Type) {
			return nil, fmt.Errorf("interval join: key column %q is %s on the left but %q is %s on the right", l.Name, l.Type, r.Name, r.Type)
		}
	}
	if want := cfg.Left.NumFields() + len(cfg.Carry) + 1; cfg.Out.NumFields() != want {
		return nil, fmt.Errorf("interval join: output has %d columns, want %d", cfg.Out.NumFields(), want)
	}
	for _, f := range append(slices.Clone(cfg.Left.Fields()), cfg.Right.Fields()...) {
		if !KeyType(f.Type) {
			return nil, fmt.Errorf("interval join: column %q is %s, which join state cannot hold", f.Name, f.Type)
		}
	}
	j := &IntervalJoin{cfg: cfg, table: newJoinTable(), wm: MinWatermark}
	j.due = [2]keyTimers{{t: &j.table}, {t: &j.table}}
	return j, nil
}

// KeyType reports whether KeyEncoder encodes values of type t, so that they may be keys or
// be held in the state of an interval join or a deduplication.
func KeyType(t arrow.DataType) bool {
	switch t.ID() {
	case arrow.STRING, arrow.INT32, arrow.INT64, arrow.TIMESTAMP, arrow.DATE32, arrow.BOOL, arrow.FLOAT64, arrow.DECIMAL128:
		return true
	}
	return false
}

// Open keeps the allocator.
func (j *IntervalJoin) Open(ctx Context) error {
	j.ctx = ctx
	j.ctx.Mem = allocator(ctx)
	return nil
}

// Dropped counts the rows of an inner side that joined nothing.
func (j *IntervalJoin) Dropped() int64 { return j.dropped }

// StateBytes estimates the memory of the kept rows and their keys and timers.
func (j *IntervalJoin) StateBytes() int64 {
	const perTimer = 16
	return j.table.size() + int64(cap(j.due[0].s)+cap(j.due[1].s))*perTimer
}

// HeldWatermark is the latest watermark the output may carry: the earliest event time of a
// row of an outer side still kept, which may yet come out unmatched.
func (j *IntervalJoin) HeldWatermark() int64 {
	held := int64(MaxWatermark)
	if j.cfg.Outer[0] && len(j.due[0].s) > 0 {
		held = min(held, j.due[0].s[0].at-j.cfg.Upper)
	}
	if j.cfg.Outer[1] && len(j.due[1].s) > 0 {
		held = min(held, j.due[1].s[0].at+j.cfg.Lower)
	}
	return held
}

// waitsFor is the watermark past which row r of side can join nothing more.
func (j *IntervalJoin) waitsFor(side int, r *keptRow) int64 {
	switch {
	case side == 1:
		return r.time - j.cfg.Lower
	case j.cfg.UntilColumn:
		return r.until
	}
	return r.time + j.cfg.Upper
}

// joins reports whether left row l and a right row at r are in the interval.
func (j *IntervalJoin) joins(l *keptRow, r int64) bool {
	d := r - l.time
	if j.cfg.UntilColumn {
		return d >= j.cfg.Lower && r <= l.until
	}
	return d >= j.cfg.Lower && d <= j.cfg.Upper
}

// Process joins the rows of rec, from input side, with the other side's kept rows, and
// keeps them.
func (j *IntervalJoin) Process(side int, rec arrow.RecordBatch, out Collector) error {
	defer rec.Release()
	if side != 0 && side != 1 {
		return fmt.Errorf("interval join: input %d; it has inputs 0 (left) and 1 (right)", side)
	}
	times, err := encodeJoinBatch("interval join", side, rec, &j.enc[side], &j.rowEnc, j.cfg.Key[side], j.cfg.Carry, j.cfg.Time[side])
	if err != nil {
		return err
	}
	other := 1 - side
	var untils *array.Timestamp
	if side == 0 && j.cfg.UntilColumn {
		var ok bool
		if untils, ok = rec.Column(j.cfg.Until).(*array.Timestamp); !ok {
			return fmt.Errorf("interval join: the upper bound's column %q is %s, not a timestamp", rec.ColumnName(j.cfg.Until), rec.Column(j.cfg.Until).DataType())
		}
	}
	j.out.reset(j.outShape())
	for r := range int(rec.NumRows()) {
		if times.IsNull(r) {
			return fmt.Errorf("interval join: input %d row %d has no event time", side, r)
		}
		t := int64(times.Value(r))
		id := j.table.find(j.enc[side].Key(r))
		row := keptRow{time: t}
		cols := j.rowEnc.Key(r)
		if untils != nil {
			row.until = math.MinInt64 // a null bound joins nothing
			if untils.IsValid(r) {
				row.until = int64(untils.Value(r))
			}
		}
		for o := j.table.keys[id].first[other]; o != noRow; o = j.table.rows[o].next {
			kept := &j.table.rows[o]
			left, l, rt := &row, t, kept.time
			if side == 1 {
				left, l, rt = kept, kept.time, t
			}
			if !j.joins(left, rt) {
				continue
			}
			kept.matched, row.matched = true, true
			lc, rc := cols, j.table.cols.bytes(kept.cols)
			if side == 1 {
				lc, rc = rc, lc
			}
			if err := j.out.pair(lc, rc, max(l, rt)); err != nil {
				return err
			}
		}
		j.keep(id, side, row, cols)
	}
	return j.out.flush(out)
}

// OnWatermark drops the rows that can join nothing more, emitting those of an outer side
// that joined nothing.
func (j *IntervalJoin) OnWatermark(wm int64, out Collector) error {
	if wm <= j.wm {
		return nil
	}
	j.wm = wm
	j.out.reset(j.outShape())
	for side := range 2 {
		h := &j.due[side]
		for len(h.s) > 0 && h.s[0].at < wm {
			t := h.pop()
			if !j.table.fired(t.id, side, t.at) {
				continue // a timer that an earlier one of its key replaced
			}
			if err := j.expire(t.id, side, wm); err != nil {
				return err
			}
		}
	}
	j.table.tidy()
	return j.out.flush(out)
}

// keep adds row, of columns cols, to side of key slot id, arming the key's timer for the
// side when the row waits for an earlier watermark than the side's other rows.
func (j *IntervalJoin) keep(id uint32, side int, row keptRow, cols []byte) {
	if at := j.waitsFor(side, &row); !j.table.has(id, side) || at < j.table.keys[id].timer[side] {
		j.arm(id, side, at)
	}
	j.table.append(id, side, row, cols)
}

// arm sets the timer of side of entry e to at. A key keeps one live timer per side, for its
// earliest row, so that the timers are as many as the keys rather than the rows; a timer
// replaced by an earlier one stays in the heap and is passed over when it fires. Each key
// still expires at the least watermark one of its rows waits for, so keys expire, and
// unmatched rows come out, in the order they would with a timer per row.
func (j *IntervalJoin) arm(id uint32, side int, at int64) {
	j.table.keys[id].timer[side] = at
	j.due[side].push(keyTimer{at: at, id: id})
}

// expire drops the rows of side of key slot id that wait for a watermark before wm, and
// arms the side's timer for the earliest of those left.
func (j *IntervalJoin) expire(id uint32, side int, wm int64) error {
	next := int64(math.MaxInt64)
	err := j.table.sweep(id, side, func(r *keptRow, cols []byte) (bool, error) {
		if at := j.waitsFor(side, r); at >= wm {
			next = min(next, at)
			return true, nil
		}
		switch {
		case r.matched:
			return false, nil
		case !j.cfg.Outer[side]:
			j.dropped++
			return false, nil
		case side == 0:
			return false, j.out.leftOnly(cols, r.time)
		}
		return false, j.out.rightOnly(j.table.key(id), cols, r.time)
	})
	if err == nil && j.table.keys[id].live && j.table.has(id, side) {
		j.arm(id, side, next)
	}
	return err
}

// outShape describes the join's output rows for joinOutput.
func (j *IntervalJoin) outShape() joinShape {
	return joinShape{mem: j.ctx.Mem, schema: j.cfg.Out, left: j.cfg.Left.NumFields(), carry: len(j.cfg.Carry), leftKey: j.cfg.Key[0]}
}

// joinShape is what a joinOutput builds: the output schema, made of the left input's left
// columns (among which the key columns leftKey), carry columns of the right input, then
// timestamps.
type joinShape struct {
	mem     memory.Allocator
	schema  *arrow.Schema
	left    int
	carry   int
	leftKey []int
}

// joinOutput builds the output rows of one call of a join: the left's columns, the right's
// carried ones, then the timestamps the join adds (the event time of an interval join, the
// window's bounds of a window join).
type joinOutput struct {
	left, right []array.Builder // the left's columns, the right's carried ones
	leftKey     []array.Builder // the left's key columns, among left
	isKey       []bool          // per left column
	tail        []*array.TimestampBuilder
	schema      *arrow.Schema
	n           int
}

// reset readies the builders, made once.
func (o *joinOutput) reset(s joinShape) {
	if o.schema != nil {
		return
	}
	o.schema = s.schema
	for i, f := range s.schema.Fields() {
		b := array.NewBuilder(s.mem, f.Type)
		switch {
		case i < s.left:
			o.left = append(o.left, b)
		case i < s.left+s.carry:
			o.right = append(o.right, b)
		default:
			o.tail = append(o.tail, b.(*array.TimestampBuilder))
		}
	}
	o.isKey = make([]bool, s.left)
	for _, c := range s.leftKey {
		o.leftKey = append(o.leftKey, o.left[c])
		o.isKey[c] = true
	}
}

// stamp appends the trailing timestamps of a row.
func (o *joinOutput) stamp(ts []int64) {
	for i, b := range o.tail {
		b.Append(arrow.Timestamp(ts[i]))
	}
	o.n++
}

func (o *joinOutput) pair(left, right []byte, ts ...int64) error {
	if err := AppendKey(left, o.left); err != nil {
		return fmt.Errorf("join: left row: %w", err)
	}
	if err := AppendKey(right, o.right); err != nil {
		return fmt.Errorf("join: right row: %w", err)
	}
	o.stamp(ts)
	return nil
}

func (o *joinOutput) leftOnly(left []byte, ts ...int64) error {
	if err := AppendKey(left, o.left); err != nil {
		return fmt.Errorf("join: left row: %w", err)
	}
	for _, b := range o.right {
		b.AppendNull()
	}
	o.stamp(ts)
	return nil
}

// rightOnly appends a right row: the left's key columns from key, its other columns null.
func (o *joinOutput) rightOnly(key, right []byte, ts ...int64) error {
	if err := AppendKey(key, o.leftKey); err != nil {
		return fmt.Errorf("join: key: %w", err)
	}
	for i, b := range o.left {
		if !o.isKey[i] {
			b.AppendNull()
		}
	}
	if err := AppendKey(right, o.right); err != nil {
		return fmt.Errorf("join: right row: %w", err)
	}
	o.stamp(ts)
	return nil
}

// flush sends the rows built so far, if any.
func (o *joinOutput) flush(out Collector) error {
	if o.n == 0 {
		return nil
	}
	cols := make([]arrow.Array, 0, o.schema.NumFields())
	for _, b := range o.left {
		cols = append(cols, newArrayWithRoom(b))
	}
	for _, b := range o.right {
		cols = append(cols, newArrayWithRoom(b))
	}
	for _, b := range o.tail {
		cols = append(cols, newArrayWithRoom(b))
	}
	rec := array.NewRecordBatch(o.schema, cols, int64(o.n))
	releaseAll(cols)
	o.n = 0
	return out.Collect(rec)
}

// release releases the builders.
func (o *joinOutput) release() {
	for _, b := range append(slices.Clone(o.left), o.right...) {
		b.Release()
	}
	for _, b := range o.tail {
		b.Release()
	}
}

// Close releases the output builders.
func (j *IntervalJoin) Close() error {
	j.out.release()
	return nil
}

// joinTimer says that the rows of key on one side may wait for no watermark past at.
type joinTimer[K cmp.Ordered] struct {
	at  int64
	key K
}

// joinHeap is a binary min-heap of timers by at, then key. Keys are strings in the temporal
// and window joins and ids of a keyIndex in a Dedup, whose timers then hold no pointers
// (the interval join's keyTimers order slots by their keys' bytes).
type joinHeap[K cmp.Ordered] []joinTimer[K]

func joinTimerLess[K cmp.Ordered](s []joinTimer[K], i, k int) bool {
	return s[i].at < s[k].at || s[i].at == s[k].at && s[i].key < s[k].key
}

func (h *joinHeap[K]) push(t joinTimer[K]) { heapPush((*[]joinTimer[K])(h), t, joinTimerLess[K]) }

func (h *joinHeap[K]) pop() joinTimer[K] { return heapPop((*[]joinTimer[K])(h), joinTimerLess[K]) }

// encodeJoinBatch prepares the encoders of a two-input join for rec, from input side: keys
// encodes its key columns, and row the columns a kept row carries (every column of the left
// input, the carried ones of the right). It returns rec's event times; what names the join
// in errors.
func encodeJoinBatch(what string, side int, rec arrow.RecordBatch, keys, row *KeyEncoder, key, carry []int, time int) (*array.Timestamp, error) {
	keyCols := make([]arrow.Array, len(key))
	for i, c := range key {
		keyCols[i] = rec.Column(c)
	}
	if err := keys.Reset(keyCols); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	kept := rec.Columns()
	if side == 1 {
		kept = make([]arrow.Array, len(carry))
		for i, c := range carry {
			kept[i] = rec.Column(c)
		}
	}
	if err := row.Reset(kept); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	times, ok := rec.Column(time).(*array.Timestamp)
	if !ok {
		return nil, fmt.Errorf("%s: event-time column %q of input %d is %s, not a timestamp", what, rec.ColumnName(time), side, rec.Column(time).DataType())
	}
	return times, nil
}
