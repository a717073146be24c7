package op

import (
	"fmt"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// Snapshots of a Changelog (see snapshot.go for the envelope, keyed_state.go for the body).
// Kind 'L', version 1; the state rows, one per key held, in the order of the keys' bytes:
//
//	key       binary    the key, as KeyEncoder made it
//	row       binary    the row last emitted for the key, as KeyEncoder encodes the row's
//	                    columns; null when the key has none in the table
//	next      binary    with OnWatermark, the key's latest row, waiting for the watermark;
//	                    null when none waits
//	keep      bool      whether the waiting row belongs in the table
//
// Restored, the waiting rows wait in the order of their keys' bytes.

const kindChangelog byte = 'L'

const changelogStateVersion = 1

var changelogStateSchema = arrow.NewSchema([]arrow.Field{
	{Name: "key", Type: arrow.BinaryTypes.Binary},
	{Name: "row", Type: arrow.BinaryTypes.Binary, Nullable: true},
	{Name: "next", Type: arrow.BinaryTypes.Binary, Nullable: true},
	{Name: "keep", Type: arrow.FixedWidthTypes.Boolean},
}, nil)

// StateFingerprint names the changelog's definition: the types of its keys and columns, which
// column says a row belongs, and when it emits.
func (c *Changelog) StateFingerprint() string {
	parts := []string{"changelog", strconv.Itoa(changelogStateVersion), fmt.Sprintf("keys %d", c.cfg.Keys),
		fmt.Sprintf("keep %d", c.cfg.Keep), fmt.Sprintf("on watermark %v", c.cfg.OnWatermark)}
	for _, f := range c.cfg.In.Fields() {
		parts = append(parts, f.Type.String())
	}
	return fingerprint(parts...)
}

func (c *Changelog) state() *keyedState {
	types := make([]arrow.DataType, c.cfg.Keys)
	for i := range types {
		types[i] = c.cfg.In.Field(i).Type
	}
	return &keyedState{kind: kindChangelog, version: changelogStateVersion, fingerprint: c.StateFingerprint(),
		schema: changelogStateSchema, keyTypes: types, mem: allocator(c.ctx)}
}

// stateRows encodes what the operator holds, key by key in the order of their bytes.
func (c *Changelog) stateRows() arrow.RecordBatch {
	b := array.NewRecordBuilder(allocator(c.ctx), changelogStateSchema)
	defer b.Release()
	keys := b.Field(0).(*array.BinaryBuilder)
	rows := b.Field(1).(*array.BinaryBuilder)
	next := b.Field(2).(*array.BinaryBuilder)
	keep := b.Field(3).(*array.BooleanBuilder)
	for _, k := range c.sortedKeys() {
		r := c.rows[k]
		keys.AppendString(k)
		if r.has {
			rows.AppendString(r.row)
		} else {
			rows.AppendNull()
		}
		if r.pending {
			next.AppendString(r.next)
		} else {
			next.AppendNull()
		}
		keep.Append(r.nextKeep)
	}
	return b.NewRecordBatch()
}

// Snapshot encodes the rows held and the watermark for checkpoint id.
func (c *Changelog) Snapshot(id uint64) ([]byte, error) {
	return c.state().snapshot("changelog", id, c.wm, c.stateRows)
}

// Restore loads what Snapshot wrote.
func (c *Changelog) Restore(state []byte) error { return c.RestoreParts([][]byte{state}) }

// RestoreParts loads snapshots of distinct keys, such as those of distinct key groups; see
// PartsRestorer.
func (c *Changelog) RestoreParts(parts [][]byte) error {
	return c.state().restore("changelog", len(c.rows), "keys", parts, &c.wm, c.load)
}

// load keeps the state rows of rec.
func (c *Changelog) load(rec arrow.RecordBatch) error {
	keys := rec.Column(0).(*array.Binary)
	rows := rec.Column(1).(*array.Binary)
	next := rec.Column(2).(*array.Binary)
	keep := rec.Column(3).(*array.Boolean)
	for i := range int(rec.NumRows()) {
		k := string(keys.Value(i))
		r := &changelogRow{has: rows.IsValid(i), pending: next.IsValid(i), nextKeep: keep.Value(i)}
		if !r.has && !r.pending {
			return fmt.Errorf("state row %d: key %x holds neither a row nor a waiting one", i, k)
		}
		if r.pending && !c.cfg.OnWatermark {
			return fmt.Errorf("state row %d: key %x has a row waiting for a watermark, which this changelog does not wait for", i, k)
		}
		if r.has {
			r.row = string(rows.Value(i))
		}
		if r.pending {
			r.next, r.waitingListed = string(next.Value(i)), true
			c.waiting = append(c.waiting, k)
		}
		c.rows[k] = r
		c.size += int64(len(k) + len(r.row) + len(r.next))
	}
	return nil
}

// Rescale spreads the keys of the old subtasks over n by key; see Rescaler. Without key
// columns the one table goes to subtask 0.
func (c *Changelog) Rescale(states [][]byte, n int, owner KeyOwner) ([][]byte, error) {
	var out [][]byte
	var err error
	if c.cfg.Keys == 0 {
		out, err = c.state().rescaleUnkeyed(states, n)
	} else {
		out, err = c.state().rescale(states, n, owner)
	}
	if err != nil {
		return nil, fmt.Errorf("rescale changelog to %d subtasks: %w", n, err)
	}
	return out, nil
}

// SnapshotGroups writes the keys of each owner as a snapshot of its own; see
// GroupSnapshotter.
func (c *Changelog) SnapshotGroups(id uint64, n int, owner KeyOwner) ([][]byte, error) {
	if c.cfg.Keys == 0 {
		out := make([][]byte, n)
		var err error
		if len(c.rows) > 0 {
			out[0], err = c.Snapshot(id)
		}
		return out, err
	}
	rec := c.stateRows()
	defer rec.Release()
	out, err := c.state().split(id, c.wm, rec, n, owner, false)
	if err != nil {
		return nil, fmt.Errorf("snapshot changelog by owner: %w", err)
	}
	return out, nil
}
