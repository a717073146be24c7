package op

import (
	"fmt"
	"math"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
)

// TemporalJoin joins a stream with a table that changes over time, read from a second
// stream (an as-of join): each row of the right input (input 1) is a version of the table row
// of its key, valid from its event time until the next version of the key. A row of the left
// input (input 0) at time t joins the version of its key valid at t: the one of the latest
// event time at or before t. Both inputs must reach a subtask by the same keyed exchange.
//
// A left row waits in state until the watermark (the least over both inputs) passes its
// time, when no version at or before it can come any more; then it is emitted with the
// version's carried columns, or, when its key had no version yet, with them null (an outer
// join) or dropped and counted by Dropped (an inner one). Of two versions of a key at one
// event time, the later to arrive is the one valid.
//
// Versions expire behind the watermark: once a later version of its key is behind the
// watermark, no row still to come can take a version, so it is dropped. The latest version
// of every key stays, as the table's current row.
//
// An output row holds the left columns, then the right input's carried columns; its event
// time is the left row's. Rows come out on the watermark that passes them, before it, so the
// join never holds the watermark back.
type TemporalJoin struct {
	Base
	cfg  TemporalJoinConfig
	ctx  Context
	keys map[string]*temporalKey
	// due holds a timer for every key with something due: (the earliest time due, the key);
	// see arm.
	due      joinHeap[string]
	wm       int64
	waiting  int64 // left rows waiting, over every key
	versions int64 // versions kept, over every key
	size     int64 // bytes of the keys and rows kept

	enc     [2]KeyEncoder
	rowEnc  KeyEncoder
	out     joinOutput
	dropped int64
}

// TemporalJoinConfig says what a TemporalJoin joins.
type TemporalJoinConfig struct {
	// Key lists the key columns of each input (0 left, 1 right), of equal types pairwise.
	Key [2][]int
	// Time is the event-time column (timestamp, ms) of each input.
	Time [2]int
	// Outer emits a left row that finds no version, with the right's columns null.
	Outer bool
	// Carry lists the right input's columns the output keeps, after the left's.
	Carry []int
	// Left and Right are the inputs' schemas.
	Left, Right *arrow.Schema
	// Out is the output schema: Left's fields, then Right's Carry fields.
	Out *arrow.Schema
}

// temporalKey holds the versions of a key, by event time, its left rows waiting, in order
// of arrival, and the watermark its timer is armed for: the earliest time due of the
// waiting rows' times and the times of the versions that have an earlier one (when the
// earlier one may expire), math.MaxInt64 when nothing is due.
type temporalKey struct {
	key      string
	versions []joinRow
	waiting  []joinRow
	timer    int64
}

// NewTemporalJoin checks cfg and returns the operator.
func NewTemporalJoin(cfg TemporalJoinConfig) (*TemporalJoin, error) {
	if len(cfg.Key[0]) == 0 || len(cfg.Key[0]) != len(cfg.Key[1]) {
		return nil, fmt.Errorf("temporal join: %d left and %d right key columns", len(cfg.Key[0]), len(cfg.Key[1]))
	}
	for i := range cfg.Key[0] {
		l, r := cfg.Left.Field(cfg.Key[0][i]), cfg.Right.Field(cfg.Key[1][i])
		if !arrow.TypeEqual(l.Type, r.Type) {
			return nil, fmt.Errorf("temporal join: key column %q is %s on the left but %q is %s on the right", l.Name, l.Type, r.Name, r.Type)
		}
	}
	if want := cfg.Left.NumFields() + len(cfg.Carry); cfg.Out.NumFields() != want {
		return nil, fmt.Errorf("temporal join: output has %d columns, want %d", cfg.Out.NumFields(), want)
	}
	for _, f := range append(slices.Clone(cfg.Left.Fields()), cfg.Right.Fields()...) {
		if !KeyType(f.Type) {
			return nil, fmt.Errorf("temporal join: column %q is %s, which join state cannot hold", f.Name, f.Type)
		}
	}
	return &TemporalJoin{cfg: cfg, keys: map[string]*temporalKey{}, wm: MinWatermark}, nil
}

// Open keeps the allocator.
func (j *TemporalJoin) Open(ctx Context) error {
	j.ctx = ctx
	j.ctx.Mem = allocator(ctx)
	return nil
}

// Dropped counts the left rows of an inner join that found no version.
func (j *TemporalJoin) Dropped() int64 { return j.dropped }

// StateBytes estimates the memory of the kept versions and waiting rows, their keys and
// timers.
func (j *TemporalJoin) StateBytes() int64 {
	const perKey, perRow, perTimer = 16 + 72, 40, 32 // map entry and temporalKey; joinRow; a timer
	return j.size + int64(len(j.keys))*perKey + (j.waiting+j.versions)*perRow + int64(len(j.due))*perTimer
}

func (j *TemporalJoin) outShape() joinShape {
	return joinShape{mem: j.ctx.Mem, schema: j.cfg.Out, left: j.cfg.Left.NumFields(), carry: len(j.cfg.Carry), leftKey: j.cfg.Key[0]}
}

// entry returns the state of key, made if new.
func (j *TemporalJoin) entry(key []byte) *temporalKey {
	e, ok := j.keys[string(key)]
	if !ok {
		e = &temporalKey{key: string(key), timer: math.MaxInt64}
		j.keys[e.key] = e
		j.size += int64(len(e.key))
	}
	return e
}

// Process keeps the rows of rec: versions from the right input, rows waiting for their
// version from the left.
func (j *TemporalJoin) Process(side int, rec arrow.RecordBatch, _ Collector) error {
	defer rec.Release()
	if side != 0 && side != 1 {
		return fmt.Errorf("temporal join: input %d; it has inputs 0 (left) and 1 (right)", side)
	}
	times, err := encodeJoinBatch("temporal join", side, rec, &j.enc[side], &j.rowEnc, j.cfg.Key[side], j.cfg.Carry, j.cfg.Time[side])
	if err != nil {
		return err
	}
	for r := range int(rec.NumRows()) {
		if times.IsNull(r) {
			return fmt.Errorf("temporal join: input %d row %d has no event time", side, r)
		}
		row := joinRow{time: int64(times.Value(r)), cols: string(j.rowEnc.Key(r))}
		e := j.entry(j.enc[side].Key(r))
		if side == 0 {
			j.wait(e, row)
		} else {
			j.version(e, row)
		}
	}
	return nil
}

// wait keeps a left row until the watermark passes it.
func (j *TemporalJoin) wait(e *temporalKey, row joinRow) {
	e.waiting = append(e.waiting, row)
	j.arm(e, row.time)
	j.waiting++
	j.size += int64(len(row.cols))
}

// version keeps a version in time order; one at the time of a kept one replaces it.
func (j *TemporalJoin) version(e *temporalKey, row joinRow) {
	i, found := slices.BinarySearchFunc(e.versions, row.time, func(v joinRow, t int64) int { return cmpInt64(v.time, t) })
	if found {
		j.size += int64(len(row.cols) - len(e.versions[i].cols))
		e.versions[i] = row
		return
	}
	e.versions = slices.Insert(e.versions, i, row)
	j.versions++
	j.size += int64(len(row.cols))
	if len(e.versions) > 1 {
		// Once the watermark passes the later of two versions, the earlier one expires.
		j.arm(e, e.versions[1].time)
	}
}

// arm sets the timer of e to at when at is earlier than the one it has. A key keeps one live
// timer, for its earliest time due, so that the timers are as many as the keys rather than
// the rows and versions; a timer replaced by an earlier one stays in the heap and is passed
// over when it fires. Each key still settles at the least watermark past one of its times
// due, so keys settle, and their rows come out, in the order they would with a timer per
// row and version.
func (j *TemporalJoin) arm(e *temporalKey, at int64) {
	if at < e.timer {
		e.timer = at
		j.due.push(joinTimer[string]{at: at, key: e.key}) // the map's copy of the key
	}
}

func cmpInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// OnWatermark emits the left rows the watermark passed, each with the version valid at its
// time, and drops the versions no row can take any more.
func (j *TemporalJoin) OnWatermark(wm int64, out Collector) error {
	if wm <= j.wm {
		return nil
	}
	j.wm = wm
	j.out.reset(j.outShape())
	for len(j.due) > 0 && j.due[0].at < wm {
		t := j.due.pop()
		e, ok := j.keys[t.key]
		if !ok || t.at != e.timer {
			continue // a timer that an earlier one of its key replaced
		}
		if err := j.settle(e, wm); err != nil {
			return err
		}
		if len(e.waiting) == 0 && len(e.versions) == 0 {
			delete(j.keys, e.key)
			j.size -= int64(len(e.key))
		}
	}
	return j.out.flush(out)
}

// settle emits the waiting rows of e behind wm, drops its versions that a later version
// behind wm replaced, and arms its timer for the earliest time due left.
func (j *TemporalJoin) settle(e *temporalKey, wm int64) error {
	keep := e.waiting[:0]
	e.timer = math.MaxInt64
	next := int64(math.MaxInt64)
	for _, r := range e.waiting {
		if r.time >= wm {
			keep = append(keep, r)
			next = min(next, r.time)
			continue
		}
		j.waiting--
		j.size -= int64(len(r.cols))
		// The valid version is the last one at or before r.time.
		i, found := slices.BinarySearchFunc(e.versions, r.time, func(v joinRow, t int64) int { return cmpInt64(v.time, t) })
		if found {
			i++
		}
		var err error
		switch {
		case i > 0:
			err = j.out.pair([]byte(r.cols), []byte(e.versions[i-1].cols))
		case j.cfg.Outer:
			err = j.out.leftOnly([]byte(r.cols))
		default:
			j.dropped++
		}
		if err != nil {
			return err
		}
	}
	clear(e.waiting[len(keep):])
	e.waiting = keep
	// Rows still to come lie at or after wm: they take the last version before wm or a
	// later one.
	i, _ := slices.BinarySearchFunc(e.versions, wm, func(v joinRow, t int64) int { return cmpInt64(v.time, t) })
	if gone := i - 1; gone > 0 {
		for _, v := range e.versions[:gone] {
			j.size -= int64(len(v.cols))
		}
		j.versions -= int64(gone)
		e.versions = slices.Delete(e.versions, 0, gone)
	}
	if len(e.versions) > 1 {
		next = min(next, e.versions[1].time)
	}
	j.arm(e, next)
	return nil
}

// Close releases the output builders.
func (j *TemporalJoin) Close() error {
	j.out.release()
	return nil
}
