package op

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// Snapshots of a WindowJoin (see snapshot.go for the envelope, keyed_state.go for the body).
// Kind 'W', version 1; the state rows, one per kept row and window:
//
//	key       binary          the row's key, as KeyEncoder made it
//	start     timestamp[ms]   the start of the row's window
//	side      uint8           0 for a left row, 1 for a right row
//	time      timestamp[ms]   the row's event time
//	matched   bool            whether the row joined a row of the window yet
//	cols      binary          the columns the row keeps, as KeyEncoder encodes them
//
// Rows come by window start, then key, then side, each side's in order of arrival. The
// timers are rebuilt from the rows on Restore.

const kindWindowJoin byte = 'W'

const windowJoinStateVersion = 1

var windowJoinStateSchema = arrow.NewSchema([]arrow.Field{
	{Name: "key", Type: arrow.BinaryTypes.Binary},
	{Name: "start", Type: stateTime},
	{Name: "side", Type: arrow.PrimitiveTypes.Uint8},
	{Name: "time", Type: stateTime},
	{Name: "matched", Type: arrow.FixedWidthTypes.Boolean},
	{Name: "cols", Type: arrow.BinaryTypes.Binary},
}, nil)

// StateFingerprint names the join's definition: the window, outer sides, and the types of
// the keys and of the columns kept.
func (j *WindowJoin) StateFingerprint() string {
	c := j.cfg
	parts := []string{"window_join", strconv.Itoa(windowJoinStateVersion), c.Window.String(),
		fmt.Sprintf("outer %v %v", c.Outer[0], c.Outer[1])}
	for _, k := range c.Key[0] {
		parts = append(parts, "key "+c.Left.Field(k).Type.String())
	}
	var left, right []string
	for _, f := range c.Left.Fields() {
		left = append(left, f.Type.String())
	}
	for _, k := range c.Carry {
		right = append(right, c.Right.Field(k).Type.String())
	}
	parts = append(parts, "left "+strings.Join(left, ","), "right "+strings.Join(right, ","),
		fmt.Sprintf("time %d %d", c.Time[0], c.Time[1]))
	return fingerprint(parts...)
}

func (j *WindowJoin) state() *keyedState {
	types := make([]arrow.DataType, len(j.cfg.Key[0]))
	for i, k := range j.cfg.Key[0] {
		types[i] = j.cfg.Left.Field(k).Type
	}
	return &keyedState{kind: kindWindowJoin, version: windowJoinStateVersion, fingerprint: j.StateFingerprint(),
		schema: windowJoinStateSchema, keyTypes: types, mem: allocator(j.ctx)}
}

// stateRows encodes the kept rows, window by window in the order of their ids.
func (j *WindowJoin) stateRows() arrow.RecordBatch {
	b := array.NewRecordBuilder(allocator(j.ctx), windowJoinStateSchema)
	defer b.Release()
	keys := b.Field(0).(*array.BinaryBuilder)
	starts := b.Field(1).(*array.TimestampBuilder)
	sides := b.Field(2).(*array.Uint8Builder)
	times := b.Field(3).(*array.TimestampBuilder)
	matched := b.Field(4).(*array.BooleanBuilder)
	cols := b.Field(5).(*array.BinaryBuilder)
	order := make([]string, 0, len(j.windows))
	for id := range j.windows {
		order = append(order, id)
	}
	slices.Sort(order)
	for _, id := range order {
		w := j.windows[id]
		for side := range 2 {
			for _, r := range w.rows[side] {
				keys.AppendString(id[8:])
				starts.Append(arrow.Timestamp(w.start))
				sides.Append(uint8(side))
				times.Append(arrow.Timestamp(r.time))
				matched.Append(r.matched)
				cols.AppendString(r.cols)
			}
		}
	}
	return b.NewRecordBatch()
}

// Snapshot encodes the kept rows and the watermark for checkpoint id.
func (j *WindowJoin) Snapshot(id uint64) ([]byte, error) {
	return j.state().snapshot("window join", id, j.wm, j.stateRows)
}

// Restore loads what Snapshot wrote.
func (j *WindowJoin) Restore(state []byte) error {
	return j.RestoreParts([][]byte{state})
}

// RestoreParts loads snapshots of distinct keys, such as those of distinct key groups; see
// PartsRestorer.
func (j *WindowJoin) RestoreParts(parts [][]byte) error {
	return j.state().restore("window join", len(j.windows), "windows", parts, &j.wm, j.load)
}

// load keeps the state rows of rec and sets their windows' timers.
func (j *WindowJoin) load(rec arrow.RecordBatch) error {
	keys := rec.Column(0).(*array.Binary)
	starts := rec.Column(1).(*array.Timestamp)
	sides := rec.Column(2).(*array.Uint8)
	times := rec.Column(3).(*array.Timestamp)
	matched := rec.Column(4).(*array.Boolean)
	cols := rec.Column(5).(*array.Binary)
	for i := range int(rec.NumRows()) {
		side := int(sides.Value(i))
		if side > 1 || times.IsNull(i) || starts.IsNull(i) {
			return fmt.Errorf("state row %d: side %d, time null %v, window start null %v", i, side, times.IsNull(i), starts.IsNull(i))
		}
		start := int64(starts.Value(i))
		j.id = windowJoinID(j.id, start, keys.Value(i))
		w, ok := j.windows[string(j.id)]
		if !ok {
			w = &windowJoinRows{id: string(j.id), start: start}
			j.windows[w.id] = w
			j.due.push(joinTimer[string]{at: j.cfg.Window.End(start) - 1, key: w.id})
			j.size += int64(len(w.id))
		}
		r := joinRow{time: int64(times.Value(i)), matched: matched.Value(i), cols: string(cols.Value(i))}
		w.rows[side] = append(w.rows[side], r)
		j.rows++
		j.size += int64(len(r.cols))
	}
	return nil
}

// Rescale spreads the kept rows of the old subtasks over n by key; see Rescaler.
func (j *WindowJoin) Rescale(states [][]byte, n int, owner KeyOwner) ([][]byte, error) {
	out, err := j.state().rescale(states, n, owner)
	if err != nil {
		return nil, fmt.Errorf("rescale window join to %d subtasks: %w", n, err)
	}
	return out, nil
}

// SnapshotGroups writes the kept rows of each owner as a snapshot of its own; see
// GroupSnapshotter.
func (j *WindowJoin) SnapshotGroups(id uint64, n int, owner KeyOwner) ([][]byte, error) {
	rec := j.stateRows()
	defer rec.Release()
	out, err := j.state().split(id, j.wm, rec, n, owner, false)
	if err != nil {
		return nil, fmt.Errorf("snapshot window join by owner: %w", err)
	}
	return out, nil
}
