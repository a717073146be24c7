package op

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// Snapshots of a TemporalJoin (see snapshot.go for the envelope, keyed_state.go for the
// body). Kind 'T', version 1; the state rows, one per version and waiting row:
//
//	key       binary          the row's key, as KeyEncoder made it
//	side      uint8           0 for a left row waiting, 1 for a version
//	time      timestamp[ms]   the row's event time
//	cols      binary          the columns the row keeps, as KeyEncoder encodes them
//
// Rows come by key, then side; waiting rows in order of arrival, versions by time. The
// timers are rebuilt from the rows on Restore.

const kindTemporalJoin byte = 'T'

const temporalJoinStateVersion = 1

var temporalJoinStateSchema = arrow.NewSchema([]arrow.Field{
	{Name: "key", Type: arrow.BinaryTypes.Binary},
	{Name: "side", Type: arrow.PrimitiveTypes.Uint8},
	{Name: "time", Type: stateTime},
	{Name: "cols", Type: arrow.BinaryTypes.Binary},
}, nil)

// StateFingerprint names the join's definition: outer or not, and the types of the keys
// and of the columns kept.
func (j *TemporalJoin) StateFingerprint() string {
	c := j.cfg
	parts := []string{"temporal_join", strconv.Itoa(temporalJoinStateVersion), fmt.Sprintf("outer %v", c.Outer)}
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

func (j *TemporalJoin) state() *keyedState {
	types := make([]arrow.DataType, len(j.cfg.Key[0]))
	for i, k := range j.cfg.Key[0] {
		types[i] = j.cfg.Left.Field(k).Type
	}
	return &keyedState{kind: kindTemporalJoin, version: temporalJoinStateVersion, fingerprint: j.StateFingerprint(),
		schema: temporalJoinStateSchema, keyTypes: types, mem: allocator(j.ctx)}
}

// stateRows encodes the kept rows, key by key in the order of their keys' bytes.
func (j *TemporalJoin) stateRows() arrow.RecordBatch {
	b := array.NewRecordBuilder(allocator(j.ctx), temporalJoinStateSchema)
	defer b.Release()
	keys := b.Field(0).(*array.BinaryBuilder)
	sides := b.Field(1).(*array.Uint8Builder)
	times := b.Field(2).(*array.TimestampBuilder)
	cols := b.Field(3).(*array.BinaryBuilder)
	order := make([]string, 0, len(j.keys))
	for k := range j.keys {
		order = append(order, k)
	}
	slices.Sort(order)
	for _, k := range order {
		e := j.keys[k]
		for side, rows := range [2][]joinRow{e.waiting, e.versions} {
			for _, r := range rows {
				keys.AppendString(k)
				sides.Append(uint8(side))
				times.Append(arrow.Timestamp(r.time))
				cols.AppendString(r.cols)
			}
		}
	}
	return b.NewRecordBatch()
}

// Snapshot encodes the kept rows and the watermark for checkpoint id.
func (j *TemporalJoin) Snapshot(id uint64) ([]byte, error) {
	return j.state().snapshot("temporal join", id, j.wm, j.stateRows)
}

// Restore loads what Snapshot wrote.
func (j *TemporalJoin) Restore(state []byte) error {
	return j.RestoreParts([][]byte{state})
}

// RestoreParts loads snapshots of distinct keys, such as those of distinct key groups; see
// PartsRestorer.
func (j *TemporalJoin) RestoreParts(parts [][]byte) error {
	return j.state().restore("temporal join", len(j.keys), "keys", parts, &j.wm, j.load)
}

// load keeps the state rows of rec.
func (j *TemporalJoin) load(rec arrow.RecordBatch) error {
	keys := rec.Column(0).(*array.Binary)
	sides := rec.Column(1).(*array.Uint8)
	times := rec.Column(2).(*array.Timestamp)
	cols := rec.Column(3).(*array.Binary)
	for i := range int(rec.NumRows()) {
		side := sides.Value(i)
		if side > 1 || times.IsNull(i) {
			return fmt.Errorf("state row %d: side %d, time null %v", i, side, times.IsNull(i))
		}
		row := joinRow{time: int64(times.Value(i)), cols: string(cols.Value(i))}
		e := j.entry(keys.Value(i))
		if side == 0 {
			j.wait(e, row)
		} else {
			j.version(e, row)
		}
	}
	return nil
}

// Rescale spreads the kept rows of the old subtasks over n by key; see Rescaler.
func (j *TemporalJoin) Rescale(states [][]byte, n int, owner KeyOwner) ([][]byte, error) {
	out, err := j.state().rescale(states, n, owner)
	if err != nil {
		return nil, fmt.Errorf("rescale temporal join to %d subtasks: %w", n, err)
	}
	return out, nil
}

// SnapshotGroups writes the kept rows of each owner as a snapshot of its own; see
// GroupSnapshotter.
func (j *TemporalJoin) SnapshotGroups(id uint64, n int, owner KeyOwner) ([][]byte, error) {
	rec := j.stateRows()
	defer rec.Release()
	out, err := j.state().split(id, j.wm, rec, n, owner, false)
	if err != nil {
		return nil, fmt.Errorf("snapshot temporal join by owner: %w", err)
	}
	return out, nil
}
