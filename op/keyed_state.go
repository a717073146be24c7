package op

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// Keyed state rows. The stream joins, the deduplication, changelogs, top-N and materialized
// tables keep their state as rows whose first column is the key, as the bytes KeyEncoder
// made of the key columns. Their snapshots share one body:
//
//	watermark   varint    the last watermark the operator saw (MinWatermark before any)
//	rows        an Arrow IPC stream of the state rows, key first
//
// Splitting such a snapshot by owner (for rescaling, or by key group for a cluster) decodes
// each key into the key columns, asks the KeyOwner, and writes each owner's rows, in their
// order, as a snapshot of its own. keyedState does that for each of them.

// keyedState describes the snapshots of one keyed operator.
type keyedState struct {
	kind, version byte
	fingerprint   string
	schema        *arrow.Schema    // of the state rows; field 0 is the key bytes
	keyTypes      []arrow.DataType // of the key columns the key bytes encode
	mem           memory.Allocator
}

// seal writes rec, the state rows, and the watermark as the snapshot of checkpoint id.
func (s *keyedState) seal(id uint64, wm int64, rec arrow.RecordBatch) ([]byte, error) {
	sw := newStateWriter(s.kind, s.version, id, s.fingerprint)
	sw.varint(wm)
	if err := sw.records(s.mem, s.schema, rec); err != nil {
		return nil, err
	}
	return sw.seal(), nil
}

// snapshot seals the state rows that rows makes and the watermark wm as the snapshot of
// checkpoint id; what names the operator in the error.
func (s *keyedState) snapshot(what string, id uint64, wm int64, rows func() arrow.RecordBatch) ([]byte, error) {
	rec := rows()
	defer rec.Release()
	out, err := s.seal(id, wm, rec)
	if err != nil {
		return nil, fmt.Errorf("snapshot %s: %w", what, err)
	}
	return out, nil
}

// restore loads parts, snapshots of distinct keys (such as those of distinct key groups),
// into an operator that holds nothing yet: held counts what it holds, in units. load takes
// the gathered state rows; once it has, *wm is set to their watermark. With every part nil
// nothing changes. what names the operator in errors.
func (s *keyedState) restore(what string, held int, units string, parts [][]byte, wm *int64, load func(arrow.RecordBatch) error) error {
	if held > 0 {
		return fmt.Errorf("restore %s: the operator already holds %d %s", what, held, units)
	}
	rec, w, _, err := s.gather(parts, true)
	if err != nil {
		return fmt.Errorf("restore %s: %w", what, err)
	}
	if rec == nil {
		return nil
	}
	defer rec.Release()
	if err := load(rec); err != nil {
		return fmt.Errorf("restore %s: %w", what, err)
	}
	*wm = w
	return nil
}

// gather reads snapshots (nil entries are skipped) into one batch of state rows, which the
// caller releases, the lowest of their watermarks and the highest checkpoint id; rec is nil
// when every entry is nil. With apart set, a key in two snapshots is refused.
func (s *keyedState) gather(states [][]byte, apart bool) (rec arrow.RecordBatch, wm int64, id uint64, err error) {
	var recs []arrow.RecordBatch
	var partOf []int // the index in states of each batch of recs
	defer func() {
		for _, r := range recs {
			r.Release()
		}
	}()
	wm, found := int64(MaxWatermark), false
	for i, st := range states {
		if st == nil {
			continue
		}
		r, err := openState(st, s.kind, s.version, s.fingerprint)
		if err != nil {
			return nil, 0, 0, fmt.Errorf("part %d: %w", i, err)
		}
		w, err := r.varint("watermark")
		if err != nil {
			return nil, 0, 0, fmt.Errorf("part %d: %w", i, err)
		}
		rs, err := r.records(s.mem, s.schema)
		if err != nil {
			return nil, 0, 0, fmt.Errorf("part %d: %w", i, err)
		}
		recs = append(recs, rs...)
		for range rs {
			partOf = append(partOf, i)
		}
		wm, id, found = min(wm, w), max(id, r.checkpoint), true
	}
	if !found {
		return nil, 0, 0, nil
	}
	if apart {
		seen := map[string]int{}
		for b, r := range recs {
			keys := r.Column(0).(*array.Binary)
			for row := range keys.Len() {
				k := string(keys.Value(row))
				if p, ok := seen[k]; ok && p != partOf[b] {
					return nil, 0, 0, fmt.Errorf("key %x is in parts %d and %d", k, p, partOf[b])
				}
				seen[k] = partOf[b]
			}
		}
	}
	all, err := concatRecords(s.mem, s.schema, recs)
	if err != nil {
		return nil, 0, 0, err
	}
	return all, wm, id, nil
}

// owners is the owner, among n, of each state row of rec, decoded from its key bytes.
func (s *keyedState) owners(rec arrow.RecordBatch, n int, owner KeyOwner) ([]int, error) {
	keys := rec.Column(0).(*array.Binary)
	return keyOwners(s.mem, s.keyTypes, keys.Len(), keys.Value, n, owner)
}

// split writes the rows of rec as n snapshots, entry i holding the rows owner gives i in
// their order. An owner without rows gets nil, or, with keepEmpty, a snapshot without rows.
func (s *keyedState) split(id uint64, wm int64, rec arrow.RecordBatch, n int, owner KeyOwner, keepEmpty bool) ([][]byte, error) {
	subs, err := s.owners(rec, n, owner)
	if err != nil {
		return nil, err
	}
	rows := make([][]int32, n)
	for i, o := range subs {
		rows[o] = append(rows[o], int32(i))
	}
	out := make([][]byte, n)
	for o := range n {
		if len(rows[o]) == 0 && !keepEmpty {
			continue
		}
		part, err := takeRows(s.mem, rec, rows[o])
		if err != nil {
			return nil, err
		}
		out[o], err = s.seal(id, wm, part)
		part.Release()
		if err != nil {
			return nil, fmt.Errorf("owner %d: %w", o, err)
		}
	}
	return out, nil
}

// rescale spreads the snapshots of the old subtasks over n new ones by key; see Rescaler.
// Every new subtask starts from the lowest of the old watermarks.
func (s *keyedState) rescale(states [][]byte, n int, owner KeyOwner) ([][]byte, error) {
	rec, wm, id, err := s.gather(states, false)
	if err != nil {
		return nil, err
	}
	if rec == nil {
		return make([][]byte, n), nil
	}
	defer rec.Release()
	return s.split(id, wm, rec, n, owner, true)
}

// rescaleUnkeyed gives the rows of an operator without key columns, which one subtask runs,
// to subtask 0, and the others snapshots without rows.
func (s *keyedState) rescaleUnkeyed(states [][]byte, n int) ([][]byte, error) {
	rec, wm, id, err := s.gather(states, false)
	if err != nil || rec == nil {
		return make([][]byte, n), err
	}
	defer rec.Release()
	out := make([][]byte, n)
	for i := range out {
		part := rec
		if i > 0 {
			part = rec.NewSlice(0, 0)
			defer part.Release()
		}
		if out[i], err = s.seal(id, wm, part); err != nil {
			return nil, err
		}
	}
	return out, nil
}
