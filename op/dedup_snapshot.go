package op

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// Snapshots of a Dedup (see snapshot.go for the envelope, keyed_state.go for the body).
// Kind 'D', version 1; the state rows, one per open interval:
//
//	key       binary          the interval's key, as KeyEncoder made it
//	start     timestamp[ms]   the time of the row that opened it
//	last      timestamp[ms]   keeping the last, the time of the row it keeps
//	cols      binary          keeping the last, that row's columns as KeyEncoder encodes
//	                          them; null keeping the first
//
// Rows come by key, each key's intervals in the order they opened. The timers are rebuilt
// from the rows on Restore.

const kindDedup byte = 'D'

const dedupStateVersion = 1

var dedupStateSchema = arrow.NewSchema([]arrow.Field{
	{Name: "key", Type: arrow.BinaryTypes.Binary},
	{Name: "start", Type: stateTime},
	{Name: "last", Type: stateTime},
	{Name: "cols", Type: arrow.BinaryTypes.Binary, Nullable: true},
}, nil)

// StateFingerprint names the deduplication's definition: interval, which row it keeps, and
// the types of the keys and (keeping the last) of the columns.
func (d *Dedup) StateFingerprint() string {
	c := d.cfg
	parts := []string{"dedup", strconv.Itoa(dedupStateVersion), fmt.Sprintf("within %d", c.Within),
		fmt.Sprintf("last %v", c.KeepLast), fmt.Sprintf("time %d", c.Time)}
	for _, k := range c.Key {
		parts = append(parts, "key "+c.Schema.Field(k).Type.String())
	}
	if c.KeepLast {
		var cols []string
		for _, f := range c.Schema.Fields() {
			cols = append(cols, f.Type.String())
		}
		parts = append(parts, "cols "+strings.Join(cols, ","))
	}
	return fingerprint(parts...)
}

func (d *Dedup) state() *keyedState {
	types := make([]arrow.DataType, len(d.cfg.Key))
	for i, k := range d.cfg.Key {
		types[i] = d.cfg.Schema.Field(k).Type
	}
	return &keyedState{kind: kindDedup, version: dedupStateVersion, fingerprint: d.StateFingerprint(),
		schema: dedupStateSchema, keyTypes: types, mem: allocator(d.ctx)}
}

// stateRows encodes the open intervals, key by key in the order of their keys' bytes.
func (d *Dedup) stateRows() arrow.RecordBatch {
	b := array.NewRecordBuilder(allocator(d.ctx), dedupStateSchema)
	defer b.Release()
	keys := b.Field(0).(*array.BinaryBuilder)
	starts := b.Field(1).(*array.TimestampBuilder)
	lasts := b.Field(2).(*array.TimestampBuilder)
	cols := b.Field(3).(*array.BinaryBuilder)
	for _, id := range d.keys.sorted() {
		for i := d.lists[id].first; i >= 0; i = d.ivs[i].next {
			iv := &d.ivs[i]
			keys.Append(d.keys.key(id))
			starts.Append(arrow.Timestamp(iv.start))
			lasts.Append(arrow.Timestamp(iv.last))
			if d.cfg.KeepLast {
				cols.Append(d.rows.bytes(iv.row))
			} else {
				cols.AppendNull()
			}
		}
	}
	return b.NewRecordBatch()
}

// Snapshot encodes the open intervals and the watermark for checkpoint id.
func (d *Dedup) Snapshot(id uint64) ([]byte, error) {
	return d.state().snapshot("dedup", id, d.wm, d.stateRows)
}

// Restore loads what Snapshot wrote.
func (d *Dedup) Restore(state []byte) error { return d.RestoreParts([][]byte{state}) }

// RestoreParts loads snapshots of distinct keys, such as those of distinct key groups; see
// PartsRestorer.
func (d *Dedup) RestoreParts(parts [][]byte) error {
	return d.state().restore("dedup", d.keys.len(), "keys", parts, &d.wm, d.load)
}

// load keeps the state rows of rec.
func (d *Dedup) load(rec arrow.RecordBatch) error {
	keys := rec.Column(0).(*array.Binary)
	starts := rec.Column(1).(*array.Timestamp)
	lasts := rec.Column(2).(*array.Timestamp)
	cols := rec.Column(3).(*array.Binary)
	for i := range int(rec.NumRows()) {
		if d.cfg.KeepLast == cols.IsNull(i) {
			return fmt.Errorf("state row %d: kept columns null %v, keeping the last %v", i, cols.IsNull(i), d.cfg.KeepLast)
		}
		iv := dedupInterval{start: int64(starts.Value(i)), last: int64(lasts.Value(i))}
		if d.cfg.KeepLast {
			iv.row = d.rows.add(cols.Value(i))
		}
		d.openInterval(d.key(keys.Value(i)), iv)
	}
	return nil
}

// Rescale spreads the open intervals of the old subtasks over n by key; see Rescaler.
func (d *Dedup) Rescale(states [][]byte, n int, owner KeyOwner) ([][]byte, error) {
	out, err := d.state().rescale(states, n, owner)
	if err != nil {
		return nil, fmt.Errorf("rescale dedup to %d subtasks: %w", n, err)
	}
	return out, nil
}

// SnapshotGroups writes the open intervals of each owner as a snapshot of its own; see
// GroupSnapshotter.
func (d *Dedup) SnapshotGroups(id uint64, n int, owner KeyOwner) ([][]byte, error) {
	rec := d.stateRows()
	defer rec.Release()
	out, err := d.state().split(id, d.wm, rec, n, owner, false)
	if err != nil {
		return nil, fmt.Errorf("snapshot dedup by owner: %w", err)
	}
	return out, nil
}
