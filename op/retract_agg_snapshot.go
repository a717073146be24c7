package op

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
)

// Snapshots of a RetractAgg (see snapshot.go for the envelope, keyed_state.go for the body).
// Kind 'R', version 1; the state rows, one per group held, in the order of the keys' bytes:
//
//	key       binary    the key, as KeyEncoder made it
//	state     binary    the group's state:
//	                      rows       varint   the rows the group holds
//	                      per call, in order:
//	                      n          varint   the values counted or summed
//	                      sum        an integer sum: varint; a float sum: 8 bytes, the
//	                                 little-endian IEEE 754 bits; a decimal sum: 16 bytes,
//	                                 the low then the high 64 bits, little-endian
//	                      values     min and max: uvarint, the number of distinct values,
//	                                 then each in order: the value (an integer, timestamp
//	                                 or date as a varint, a float's 8 bytes, a decimal's
//	                                 16, a string's uvarint length and bytes) and its count
//	                                 as a varint

const kindRetractAgg byte = 'R'

const retractAggStateVersion = 1

var retractAggStateSchema = arrow.NewSchema([]arrow.Field{
	{Name: "key", Type: arrow.BinaryTypes.Binary},
	{Name: "state", Type: arrow.BinaryTypes.Binary},
}, nil)

// StateFingerprint names the aggregation's definition: the types of its keys and input
// columns, its calls, and when it emits.
func (r *RetractAgg) StateFingerprint() string {
	parts := []string{"changelog aggregate", strconv.Itoa(retractAggStateVersion), fmt.Sprintf("keys %d", r.cfg.Keys),
		fmt.Sprintf("updates %v", r.cfg.EmitUpdates)}
	for _, f := range r.cfg.In.Fields() {
		parts = append(parts, f.Type.String())
	}
	for _, c := range r.cfg.Calls {
		parts = append(parts, c.Text, fmt.Sprint(c.Args))
	}
	return fingerprint(parts...)
}

func (r *RetractAgg) state() *keyedState {
	types := make([]arrow.DataType, r.cfg.Keys)
	for i := range types {
		types[i] = r.cfg.In.Field(i).Type
	}
	return &keyedState{kind: kindRetractAgg, version: retractAggStateVersion, fingerprint: r.StateFingerprint(),
		schema: retractAggStateSchema, keyTypes: types, mem: allocator(r.ctx)}
}

// stateRows encodes the groups held, in the order of their keys' bytes.
func (r *RetractAgg) stateRows() arrow.RecordBatch {
	b := array.NewRecordBuilder(allocator(r.ctx), retractAggStateSchema)
	defer b.Release()
	keys := b.Field(0).(*array.BinaryBuilder)
	states := b.Field(1).(*array.BinaryBuilder)
	sorted := make([]string, 0, len(r.groups))
	for k := range r.groups {
		sorted = append(sorted, k)
	}
	slices.Sort(sorted)
	var buf []byte
	for _, k := range sorted {
		keys.AppendString(k)
		buf = r.encodeGroup(buf[:0], r.groups[k])
		states.Append(buf)
	}
	return b.NewRecordBatch()
}

// encodeGroup appends the state of g.
func (r *RetractAgg) encodeGroup(buf []byte, g *retractGroup) []byte {
	buf = binary.AppendVarint(buf, g.rows)
	for c, st := range g.calls {
		buf = binary.AppendVarint(buf, st.n)
		switch r.kinds[c] {
		case retractIntSum:
			buf = binary.AppendVarint(buf, st.i)
		case retractFloatSum:
			buf = binary.LittleEndian.AppendUint64(buf, math.Float64bits(st.f))
		case retractDecimalSum:
			buf = binary.LittleEndian.AppendUint64(buf, st.d.LowBits())
			buf = binary.LittleEndian.AppendUint64(buf, uint64(st.d.HighBits()))
		case retractMinMax:
			buf = binary.AppendUvarint(buf, uint64(len(st.vals)))
			for _, v := range st.vals {
				buf = appendRetractValue(buf, r.vkinds[c], v.v)
				buf = binary.AppendVarint(buf, v.n)
			}
		}
	}
	return buf
}

func appendRetractValue(buf []byte, kind arrow.Type, v topValue) []byte {
	switch kind {
	case arrow.FLOAT64:
		return binary.LittleEndian.AppendUint64(buf, math.Float64bits(v.f))
	case arrow.DECIMAL128:
		buf = binary.LittleEndian.AppendUint64(buf, v.d.LowBits())
		return binary.LittleEndian.AppendUint64(buf, uint64(v.d.HighBits()))
	case arrow.STRING:
		return append(binary.AppendUvarint(buf, uint64(len(v.s))), v.s...)
	}
	return binary.AppendVarint(buf, v.i)
}

// groupStateReader reads a group's state, remembering the first error.
type groupStateReader struct {
	b   []byte
	err error
}

var errShortState = errors.New("the state ends early")

func (s *groupStateReader) varint() int64 {
	v, n := binary.Varint(s.b)
	if n <= 0 {
		s.fail()
		return 0
	}
	s.b = s.b[n:]
	return v
}

func (s *groupStateReader) uvarint() uint64 {
	v, n := binary.Uvarint(s.b)
	if n <= 0 {
		s.fail()
		return 0
	}
	s.b = s.b[n:]
	return v
}

func (s *groupStateReader) u64() uint64 {
	if len(s.b) < 8 {
		s.fail()
		return 0
	}
	v := binary.LittleEndian.Uint64(s.b)
	s.b = s.b[8:]
	return v
}

func (s *groupStateReader) bytes(n uint64) string {
	if uint64(len(s.b)) < n {
		s.fail()
		return ""
	}
	v := string(s.b[:n])
	s.b = s.b[n:]
	return v
}

func (s *groupStateReader) fail() {
	if s.err == nil {
		s.err = errShortState
	}
	s.b = nil
}

func (s *groupStateReader) value(kind arrow.Type) topValue {
	switch kind {
	case arrow.FLOAT64:
		return topValue{f: math.Float64frombits(s.u64())}
	case arrow.DECIMAL128:
		lo := s.u64()
		return topValue{d: decimal128.New(int64(s.u64()), lo)}
	case arrow.STRING:
		return topValue{s: s.bytes(s.uvarint())}
	}
	return topValue{i: s.varint()}
}

// decodeGroup reads what encodeGroup wrote.
func (r *RetractAgg) decodeGroup(b []byte) (*retractGroup, int64, error) {
	s := &groupStateReader{b: b}
	g := &retractGroup{rows: s.varint(), calls: make([]retractState, len(r.cfg.Calls))}
	var size int64
	for c := range g.calls {
		st := &g.calls[c]
		st.n = s.varint()
		switch r.kinds[c] {
		case retractIntSum:
			st.i = s.varint()
		case retractFloatSum:
			st.f = math.Float64frombits(s.u64())
		case retractDecimalSum:
			lo := s.u64()
			st.d = decimal128.New(int64(s.u64()), lo)
		case retractMinMax:
			n := s.uvarint()
			if n > uint64(len(b)) {
				return nil, 0, fmt.Errorf("%s: %d values in %d bytes", r.cfg.Calls[c].Text, n, len(b))
			}
			for range n {
				v := s.value(r.vkinds[c])
				st.vals = append(st.vals, retractValue{v: v, n: s.varint()})
				size += retractValueBytes + int64(len(v.s))
				if k := len(st.vals) - 1; s.err == nil && (st.vals[k].n <= 0 || k > 0 && compareValue(r.vkinds[c], st.vals[k-1].v, v) >= 0) {
					return nil, 0, fmt.Errorf("%s: value %d is held %d times, or out of order", r.cfg.Calls[c].Text, k, st.vals[k].n)
				}
			}
		}
	}
	if s.err != nil {
		return nil, 0, s.err
	}
	if len(s.b) > 0 {
		return nil, 0, fmt.Errorf("%d bytes after the state", len(s.b))
	}
	if g.rows <= 0 {
		return nil, 0, fmt.Errorf("the group holds %d rows", g.rows)
	}
	return g, size, nil
}

// Snapshot encodes the groups held and the watermark for checkpoint id.
func (r *RetractAgg) Snapshot(id uint64) ([]byte, error) {
	return r.state().snapshot("changelog aggregate", id, r.wm, r.stateRows)
}

// Restore loads what Snapshot wrote.
func (r *RetractAgg) Restore(state []byte) error { return r.RestoreParts([][]byte{state}) }

// RestoreParts loads snapshots of distinct keys, such as those of distinct key groups; see
// PartsRestorer.
func (r *RetractAgg) RestoreParts(parts [][]byte) error {
	return r.state().restore("changelog aggregate", len(r.groups), "groups", parts, &r.wm, r.load)
}

// load keeps the groups of rec.
func (r *RetractAgg) load(rec arrow.RecordBatch) error {
	keys := rec.Column(0).(*array.Binary)
	states := rec.Column(1).(*array.Binary)
	for i := range int(rec.NumRows()) {
		k := string(keys.Value(i))
		g, size, err := r.decodeGroup(states.Value(i))
		if err != nil {
			return fmt.Errorf("state row %d, key %x: %w", i, k, err)
		}
		r.groups[k] = g
		r.size += int64(len(k)) + size
	}
	return nil
}

// Rescale spreads the groups of the old subtasks over n by key; see Rescaler. Without key
// columns the one group goes to subtask 0.
func (r *RetractAgg) Rescale(states [][]byte, n int, owner KeyOwner) ([][]byte, error) {
	var out [][]byte
	var err error
	if r.cfg.Keys == 0 {
		out, err = r.state().rescaleUnkeyed(states, n)
	} else {
		out, err = r.state().rescale(states, n, owner)
	}
	if err != nil {
		return nil, fmt.Errorf("rescale changelog aggregate to %d subtasks: %w", n, err)
	}
	return out, nil
}

// SnapshotGroups writes the groups of each owner as a snapshot of its own; see
// GroupSnapshotter.
func (r *RetractAgg) SnapshotGroups(id uint64, n int, owner KeyOwner) ([][]byte, error) {
	if r.cfg.Keys == 0 {
		out := make([][]byte, n)
		var err error
		if len(r.groups) > 0 {
			out[0], err = r.Snapshot(id)
		}
		return out, err
	}
	rec := r.stateRows()
	defer rec.Release()
	out, err := r.state().split(id, r.wm, rec, n, owner, false)
	if err != nil {
		return nil, fmt.Errorf("snapshot changelog aggregate by owner: %w", err)
	}
	return out, nil
}
