package op

import (
	"fmt"
	"slices"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// Snapshots of a Materialize (see snapshot.go for the envelope, keyed_state.go for the
// body). Kind 'M', version 1; the state rows, one per row of the table, key by key in the
// order of the keys' bytes:
//
//	key       binary    the row's key, as KeyEncoder made it
//	row       binary    the row, as KeyEncoder encodes its columns

const kindMaterialize byte = 'M'

const materializeStateVersion = 1

var materializeStateSchema = arrow.NewSchema([]arrow.Field{
	{Name: "key", Type: arrow.BinaryTypes.Binary},
	{Name: "row", Type: arrow.BinaryTypes.Binary},
}, nil)

// StateFingerprint names the table's definition: its columns' types, keys and whether a key
// holds several rows.
func (m *Materialize) StateFingerprint() string {
	parts := []string{"materialize", strconv.Itoa(materializeStateVersion), fmt.Sprintf("op %d keys %v rows %v", m.cfg.Op, m.cfg.Keys, m.cfg.Rows)}
	for _, f := range m.cfg.In.Fields() {
		parts = append(parts, f.Type.String())
	}
	return fingerprint(parts...)
}

func (m *Materialize) state() *keyedState {
	types := make([]arrow.DataType, len(m.cfg.Keys))
	for i, k := range m.cfg.Keys {
		types[i] = m.cfg.In.Field(k).Type
	}
	return &keyedState{kind: kindMaterialize, version: materializeStateVersion, fingerprint: m.StateFingerprint(),
		schema: materializeStateSchema, keyTypes: types, mem: allocator(m.ctx)}
}

// stateRows encodes the table's rows, key by key in the order of their bytes.
func (m *Materialize) stateRows() arrow.RecordBatch {
	b := array.NewRecordBuilder(allocator(m.ctx), materializeStateSchema)
	defer b.Release()
	keys := b.Field(0).(*array.BinaryBuilder)
	rows := b.Field(1).(*array.BinaryBuilder)
	s := m.shard
	s.mu.RLock()
	defer s.mu.RUnlock()
	order := make([]string, 0, len(s.rows))
	for k := range s.rows {
		order = append(order, k)
	}
	slices.Sort(order)
	for _, k := range order {
		for _, r := range s.rows[k] {
			keys.AppendString(k)
			rows.AppendString(r)
		}
	}
	return b.NewRecordBatch()
}

// Snapshot encodes the table and the watermark for checkpoint id.
func (m *Materialize) Snapshot(id uint64) ([]byte, error) {
	return m.state().snapshot("materialized table", id, m.wm, m.stateRows)
}

// Restore loads what Snapshot wrote into the subtask's shard.
func (m *Materialize) Restore(state []byte) error { return m.RestoreParts([][]byte{state}) }

// RestoreParts loads snapshots of distinct keys, such as those of distinct key groups; see
// PartsRestorer.
func (m *Materialize) RestoreParts(parts [][]byte) error {
	return m.state().restore("materialized table", m.shard.Len(), "rows", parts, &m.wm, m.load)
}

// load keeps the state rows of rec.
func (m *Materialize) load(rec arrow.RecordBatch) error {
	keys := rec.Column(0).(*array.Binary)
	rows := rec.Column(1).(*array.Binary)
	s := m.shard
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range int(rec.NumRows()) {
		k := string(keys.Value(i))
		if !m.cfg.Rows && len(s.rows[k]) > 0 {
			return fmt.Errorf("state row %d: key %x holds a second row", i, k)
		}
		s.rows[k] = append(s.rows[k], string(rows.Value(i)))
		s.n++
	}
	return nil
}

// Rescale spreads the table's keys over n by key; see Rescaler. Without key columns the one
// key goes to subtask 0.
func (m *Materialize) Rescale(states [][]byte, n int, owner KeyOwner) ([][]byte, error) {
	var out [][]byte
	var err error
	if len(m.cfg.Keys) == 0 {
		out, err = m.state().rescaleUnkeyed(states, n)
	} else {
		out, err = m.state().rescale(states, n, owner)
	}
	if err != nil {
		return nil, fmt.Errorf("rescale materialized table to %d subtasks: %w", n, err)
	}
	return out, nil
}

// SnapshotGroups writes the keys of each owner as a snapshot of its own; see
// GroupSnapshotter.
func (m *Materialize) SnapshotGroups(id uint64, n int, owner KeyOwner) ([][]byte, error) {
	if len(m.cfg.Keys) == 0 {
		out := make([][]byte, n)
		var err error
		if m.shard.Len() > 0 {
			out[0], err = m.Snapshot(id)
		}
		return out, err
	}
	rec := m.stateRows()
	defer rec.Release()
	out, err := m.state().split(id, m.wm, rec, n, owner, false)
	if err != nil {
		return nil, fmt.Errorf("snapshot materialized table by owner: %w", err)
	}
	return out, nil
}
