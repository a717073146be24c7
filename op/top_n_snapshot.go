package op

import (
	"fmt"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// Snapshots of a TopN (see snapshot.go for the envelope, keyed_state.go for the body). Kind
// 'N', version 1; the state rows, one per row kept, partition by partition in the order of
// their keys' bytes, each partition's rows in rank order:
//
//	key       binary    the partition's key, as KeyEncoder made it
//	row       binary    the row, as KeyEncoder encodes its columns
//
// Restore decodes the rows to read their ranking values again.

const kindTopN byte = 'N'

const topNStateVersion = 1

var topNStateSchema = arrow.NewSchema([]arrow.Field{
	{Name: "key", Type: arrow.BinaryTypes.Binary},
	{Name: "row", Type: arrow.BinaryTypes.Binary},
}, nil)

// StateFingerprint names the top's definition: the rows' types, the keys, the ranking and N.
func (t *TopN) StateFingerprint() string {
	parts := []string{"top", strconv.Itoa(topNStateVersion), fmt.Sprintf("n %d by %d desc %v keys %v", t.cfg.N, t.cfg.By, t.cfg.Desc, t.cfg.Keys)}
	for _, o := range t.cfg.Then {
		parts = append(parts, fmt.Sprintf("then %d desc %v", o.Col, o.Desc))
	}
	for _, f := range t.cfg.In.Fields() {
		parts = append(parts, f.Type.String())
	}
	return fingerprint(parts...)
}

func (t *TopN) state() *keyedState {
	types := make([]arrow.DataType, len(t.cfg.Keys))
	for i, k := range t.cfg.Keys {
		types[i] = t.cfg.In.Field(k).Type
	}
	return &keyedState{kind: kindTopN, version: topNStateVersion, fingerprint: t.StateFingerprint(),
		schema: topNStateSchema, keyTypes: types, mem: allocator(t.ctx)}
}

// stateRows encodes the rows kept, partition by partition in the order of their keys' bytes.
func (t *TopN) stateRows() arrow.RecordBatch {
	b := array.NewRecordBuilder(allocator(t.ctx), topNStateSchema)
	defer b.Release()
	keys := b.Field(0).(*array.BinaryBuilder)
	rows := b.Field(1).(*array.BinaryBuilder)
	for _, id := range t.keys.sorted() {
		p := t.parts[id]
		for j := p.at; j < p.at+int(p.n); j++ {
			keys.Append(t.keys.key(id))
			rows.Append(t.rows.bytes(*t.slots.at(j)))
		}
	}
	return b.NewRecordBatch()
}

// Snapshot encodes the rows kept and the watermark for checkpoint id.
func (t *TopN) Snapshot(id uint64) ([]byte, error) {
	return t.state().snapshot("top", id, t.wm, t.stateRows)
}

// Restore loads what Snapshot wrote.
func (t *TopN) Restore(state []byte) error { return t.RestoreParts([][]byte{state}) }

// RestoreParts loads snapshots of distinct keys, such as those of distinct key groups; see
// PartsRestorer.
func (t *TopN) RestoreParts(parts [][]byte) error {
	return t.state().restore("top", t.keys.len(), "partitions", parts, &t.wm, t.load)
}

// load keeps the state rows of rec.
func (t *TopN) load(rec arrow.RecordBatch) error {
	keys := rec.Column(0).(*array.Binary)
	rows := rec.Column(1).(*array.Binary)
	all := make([]array.Builder, t.cfg.In.NumFields())
	for i, f := range t.cfg.In.Fields() {
		all[i] = array.NewBuilder(allocator(t.ctx), f.Type)
		defer all[i].Release()
	}
	for i := range int(rec.NumRows()) {
		if err := AppendKey(rows.Value(i), all); err != nil {
			return fmt.Errorf("state row %d: %w", i, err)
		}
	}
	rank := make([]arrow.Array, 0, len(t.kinds))
	for _, c := range append([]int{t.cfg.By}, thenColumns(t.cfg.Then)...) {
		col := all[c].NewArray()
		defer col.Release()
		rank = append(rank, col)
	}
	for i := range int(rec.NumRows()) {
		k, row := keys.Value(i), rows.Value(i)
		id, ok := t.keys.find(k)
		if !ok {
			id = t.partition(k)
		}
		t.cand = t.cand[:0]
		for c, col := range rank {
			t.cand = append(t.cand, t.ranked(t.kinds[c], value(col, i)))
		}
		p := t.parts[id]
		if n := int(p.n); n > 0 && t.compareSlot(p.at+n-1, t.cand, row) > 0 || n == t.cfg.N {
			return fmt.Errorf("state row %d: partition %x holds rows out of rank order, or more than %d", i, k, t.cfg.N)
		}
		t.place(id, int(p.n), row)
	}
	return nil
}

// Rescale spreads the partitions of the old subtasks over n by key; see Rescaler. Without
// key columns the one partition goes to subtask 0.
func (t *TopN) Rescale(states [][]byte, n int, owner KeyOwner) ([][]byte, error) {
	var out [][]byte
	var err error
	if len(t.cfg.Keys) == 0 {
		out, err = t.state().rescaleUnkeyed(states, n)
	} else {
		out, err = t.state().rescale(states, n, owner)
	}
	if err != nil {
		return nil, fmt.Errorf("rescale top to %d subtasks: %w", n, err)
	}
	return out, nil
}

// SnapshotGroups writes the partitions of each owner as a snapshot of its own; see
// GroupSnapshotter.
func (t *TopN) SnapshotGroups(id uint64, n int, owner KeyOwner) ([][]byte, error) {
	if len(t.cfg.Keys) == 0 {
		out := make([][]byte, n)
		var err error
		if t.keys.len() > 0 {
			out[0], err = t.Snapshot(id)
		}
		return out, err
	}
	rec := t.stateRows()
	defer rec.Release()
	out, err := t.state().split(id, t.wm, rec, n, owner, false)
	if err != nil {
		return nil, fmt.Errorf("snapshot top by owner: %w", err)
	}
	return out, nil
}
