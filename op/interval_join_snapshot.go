package op

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// Snapshots of an IntervalJoin (see snapshot.go for the envelope, keyed_state.go for the
// body). Kind 'J', version 1; the state rows, one per kept row:
//
//	key       binary          the row's key, as KeyEncoder made it
//	side      uint8           0 for a left row, 1 for a right row
//	time      timestamp[ms]   the row's event time
//	matched   bool            whether the row joined a row yet
//	cols      binary          the columns the row keeps, as KeyEncoder encodes them
//	until     timestamp[ms]   with an upper bound from a column only: a left row's bound
//	                          (null when the column was null), null for a right row
//
// Rows come by key, then by side, each side's in order of arrival. The timers are rebuilt
// from the rows on Restore.

const kindIntervalJoin byte = 'J'

const intervalJoinStateVersion = 1

var (
	joinStateSchema = arrow.NewSchema(joinStateFields, nil)
	// joinUntilStateSchema is the state of a join whose upper bound comes from a column.
	joinUntilStateSchema = arrow.NewSchema(append(slices.Clone(joinStateFields),
		arrow.Field{Name: "until", Type: stateTime, Nullable: true}), nil)
)

var joinStateFields = []arrow.Field{
	{Name: "key", Type: arrow.BinaryTypes.Binary},
	{Name: "side", Type: arrow.PrimitiveTypes.Uint8},
	{Name: "time", Type: stateTime},
	{Name: "matched", Type: arrow.FixedWidthTypes.Boolean},
	{Name: "cols", Type: arrow.BinaryTypes.Binary},
}

// stateSchema is the schema of the join's state rows.
func (j *IntervalJoin) stateSchema() *arrow.Schema {
	if j.cfg.UntilColumn {
		return joinUntilStateSchema
	}
	return joinStateSchema
}

// StateFingerprint names the join's definition: bounds, outer sides, and the types of the
// keys and of the columns kept.
func (j *IntervalJoin) StateFingerprint() string {
	c := j.cfg
	parts := []string{"interval_join", strconv.Itoa(intervalJoinStateVersion),
		fmt.Sprintf("within [%d, %d]", c.Lower, c.Upper), fmt.Sprintf("outer %v %v", c.Outer[0], c.Outer[1])}
	if c.UntilColumn {
		parts[2] = fmt.Sprintf("within [%d, column %d]", c.Lower, c.Until)
	}
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

func (j *IntervalJoin) state() *keyedState {
	types := make([]arrow.DataType, len(j.cfg.Key[0]))
	for i, k := range j.cfg.Key[0] {
		types[i] = j.cfg.Left.Field(k).Type
	}
	return &keyedState{kind: kindIntervalJoin, version: intervalJoinStateVersion, fingerprint: j.StateFingerprint(),
		schema: j.stateSchema(), keyTypes: types, mem: allocator(j.ctx)}
}

// stateRows encodes the kept rows, key by key in the order of their keys' bytes.
func (j *IntervalJoin) stateRows() arrow.RecordBatch {
	mem := allocator(j.ctx)
	b := array.NewRecordBuilder(mem, j.stateSchema())
	defer b.Release()
	keys := b.Field(0).(*array.BinaryBuilder)
	sides := b.Field(1).(*array.Uint8Builder)
	times := b.Field(2).(*array.TimestampBuilder)
	matched := b.Field(3).(*array.BooleanBuilder)
	cols := b.Field(4).(*array.BinaryBuilder)
	for _, id := range j.table.sorted() {
		for side := range 2 {
			for i := j.table.keys[id].first[side]; i != noRow; i = j.table.rows[i].next {
				r := &j.table.rows[i]
				keys.Append(j.table.key(id))
				sides.Append(uint8(side))
				times.Append(arrow.Timestamp(r.time))
				matched.Append(r.matched)
				cols.Append(j.table.cols.bytes(r.cols))
				if j.cfg.UntilColumn {
					until := b.Field(5).(*array.TimestampBuilder)
					if side == 1 || r.until == math.MinInt64 {
						until.AppendNull()
					} else {
						until.Append(arrow.Timestamp(r.until))
					}
				}
			}
		}
	}
	return b.NewRecordBatch()
}

// Snapshot encodes the kept rows and the watermark for checkpoint id.
func (j *IntervalJoin) Snapshot(id uint64) ([]byte, error) {
	return j.state().snapshot("interval join", id, j.wm, j.stateRows)
}

// Restore loads what Snapshot wrote.
func (j *IntervalJoin) Restore(state []byte) error {
	return j.RestoreParts([][]byte{state})
}

// RestoreParts loads snapshots of distinct keys, such as those of distinct key groups; see
// PartsRestorer.
func (j *IntervalJoin) RestoreParts(parts [][]byte) error {
	return j.state().restore("interval join", j.table.live, "keys", parts, &j.wm, j.load)
}

// load keeps the state rows of rec and sets their timers.
func (j *IntervalJoin) load(rec arrow.RecordBatch) error {
	keys := rec.Column(0).(*array.Binary)
	sides := rec.Column(1).(*array.Uint8)
	times := rec.Column(2).(*array.Timestamp)
	matched := rec.Column(3).(*array.Boolean)
	cols := rec.Column(4).(*array.Binary)
	for i := range int(rec.NumRows()) {
		side := int(sides.Value(i))
		if side > 1 || times.IsNull(i) {
			return fmt.Errorf("state row %d: side %d, time null %v", i, side, times.IsNull(i))
		}
		id := j.table.find(keys.Value(i))
		r := keptRow{time: int64(times.Value(i)), matched: matched.Value(i)}
		if j.cfg.UntilColumn && side == 0 {
			r.until = math.MinInt64
			if until := rec.Column(5).(*array.Timestamp); until.IsValid(i) {
				r.until = int64(until.Value(i))
			}
		}
		j.keep(id, side, r, cols.Value(i))
	}
	return nil
}

// Rescale spreads the kept rows of the old subtasks over n by key; see Rescaler.
func (j *IntervalJoin) Rescale(states [][]byte, n int, owner KeyOwner) ([][]byte, error) {
	out, err := j.state().rescale(states, n, owner)
	if err != nil {
		return nil, fmt.Errorf("rescale interval join to %d subtasks: %w", n, err)
	}
	return out, nil
}

// SnapshotGroups writes the kept rows of each owner as a snapshot of its own; see
// GroupSnapshotter.
func (j *IntervalJoin) SnapshotGroups(id uint64, n int, owner KeyOwner) ([][]byte, error) {
	rec := j.stateRows()
	defer rec.Release()
	out, err := j.state().split(id, j.wm, rec, n, owner, false)
	if err != nil {
		return nil, fmt.Errorf("snapshot interval join by owner: %w", err)
	}
	return out, nil
}
