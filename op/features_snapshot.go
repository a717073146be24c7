package op

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"maps"
	"math"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"

	"millrace/take"
)

// The snapshot of a Features (kind 'F', version 1) holds the state of its keys and the rows
// it has not emitted yet:
//
//	+-------------------------------+---------------------------------------------+
//	| keys: uvarint n, n B          | rows: Arrow IPC stream to the end           |
//	| Arrow IPC stream of           | (__key binary, the input's columns...)      |
//	| (key binary, state binary)    | the rows held for the watermark             |
//	+-------------------------------+---------------------------------------------+
//
// key is the KeyEncoder bytes of the key columns, as in every keyed snapshot of this
// package, so the state splits by key group. state is one key's figures:
//
//	flags (1 B: bit 0, the running figures hold rows), last event time (varint),
//	rows in range m (uvarint), their event times (varint, each after the first as the
//	difference from the one before), then per call in order:
//	  count_if        m bytes, 1 where the condition was true
//	  sum, avg        non-null rows (uvarint), the sum (16 B decimal or 8 B float64 bits),
//	                  then per row in range a byte (1: not null) and the value (16 or 8 B)
//	  count_distinct  per row in range a byte (1: not null) and the value (uvarint n, n B)
//	  zscore          count (uvarint), mean, sum of squared deviations (8 B float64 bits)
//	  first_seen      values (uvarint), each as uvarint n, n B, in byte order
//	  km/kmh_from_prev a byte (1: a previous position), its event time (varint), its
//	                  latitude and longitude (8 B float64 bits)
//	  count, seconds_since_prev nothing
//
// Fixed-width numbers are little-endian. The rows held are kept with their key's bytes and
// their input columns only: their arguments are computed again when they are restored.

const (
	kindFeatures         byte = 'F'
	featuresStateVersion byte = 1
)

// featPart is the state of some keys: what one snapshot holds.
type featPart struct {
	keys   []string
	states [][]byte
	rows   []arrow.RecordBatch // __key, then the input's columns
}

func (p *featPart) release() {
	for _, r := range p.rows {
		r.Release()
	}
	p.rows = nil
}

// featKeySchema is the schema of the keys' stream of a snapshot.
func featKeySchema() *arrow.Schema {
	return arrow.NewSchema([]arrow.Field{{Name: "key", Type: arrow.BinaryTypes.Binary}, {Name: "state", Type: arrow.BinaryTypes.Binary}}, nil)
}

// rowSchema is the schema of the held rows of a snapshot.
func (f *Features) rowSchema() *arrow.Schema {
	fields := append([]arrow.Field{{Name: "__key", Type: arrow.BinaryTypes.Binary}}, f.cfg.In.Fields()...)
	return arrow.NewSchema(fields, nil)
}

// Snapshot writes the keys' state and the rows held.
func (f *Features) Snapshot(id uint64) ([]byte, error) {
	encode, err := f.CaptureSnapshot(id)
	if err != nil {
		return nil, err
	}
	return encode()
}

// CaptureSnapshot notes the rows held and freezes the keys that changed since the last
// capture; the function it returns copies the rows and those keys' figures beside the
// operator, which copies first any key it is about to change, and writes the snapshot as
// Snapshot does. A checkpoint holds the operator for the rows' numbers and keys, not for
// the keys' state. See Capturer.
func (f *Features) CaptureSnapshot(id uint64) (func() ([]byte, error), error) {
	part := f.capture()
	return func() ([]byte, error) {
		p, err := part()
		if err != nil {
			return nil, fmt.Errorf("snapshot features: rows held: %w", err)
		}
		defer p.release()
		st, err := f.encode(p, id)
		if err != nil {
			return nil, fmt.Errorf("snapshot features: %w", err)
		}
		return st, nil
	}, nil
}

// SnapshotGroups writes the state of each owner's keys as a snapshot of its own; see
// GroupSnapshotter.
func (f *Features) SnapshotGroups(id uint64, n int, owner KeyOwner) ([][]byte, error) {
	p, err := f.capture()()
	if err != nil {
		return nil, fmt.Errorf("snapshot features by owner: rows held: %w", err)
	}
	defer p.release()
	out, err := f.split(p, n, owner, id)
	if err != nil {
		return nil, fmt.Errorf("snapshot features by owner: %w", err)
	}
	return out, nil
}

// Rescale spreads the keys of the old subtasks' snapshots over n by their keys.
func (f *Features) Rescale(states [][]byte, n int, owner KeyOwner) ([][]byte, error) {
	all := &featPart{}
	defer all.release()
	id := uint64(0)
	for i, st := range states {
		if st == nil {
			continue
		}
		p, cp, err := f.decode(st)
		if err != nil {
			return nil, fmt.Errorf("rescale features to %d subtasks: subtask %d: %w", n, i, err)
		}
		all.keys = append(all.keys, p.keys...)
		all.states = append(all.states, p.states...)
		all.rows = append(all.rows, p.rows...)
		id = max(id, cp)
	}
	out, err := f.split(all, n, owner, id)
	if err != nil {
		return nil, fmt.Errorf("rescale features to %d subtasks: %w", n, err)
	}
	return out, nil
}

// Restore loads a snapshot.
func (f *Features) Restore(state []byte) error { return f.RestoreParts([][]byte{state}) }

// RestoreParts loads snapshots of distinct keys; see PartsRestorer.
func (f *Features) RestoreParts(parts [][]byte) error {
	for i, st := range parts {
		if st == nil {
			continue
		}
		if err := f.restorePart(st); err != nil {
			return fmt.Errorf("restore features: part %d: %w", i, err)
		}
	}
	return nil
}

func (f *Features) restorePart(st []byte) error {
	p, _, err := f.decode(st)
	if err != nil {
		return err
	}
	defer p.release()
	if err := f.restoreKeys(p); err != nil {
		return err
	}
	for _, r := range p.rows {
		cols := r.Columns()[1:]
		rec := array.NewRecordBatch(f.cfg.In, cols, r.NumRows())
		if err := f.add(rec); err != nil {
			return err
		}
	}
	return nil
}

// restoreKeys loads the keys' state of p, under kept.mu.
func (f *Features) restoreKeys(p *featPart) error {
	f.kept.mu.Lock()
	defer f.kept.mu.Unlock()
	for i, k := range p.keys {
		if _, ok := f.slots[k]; ok {
			return fmt.Errorf("key %x is in two parts", k)
		}
		s := f.slot([]byte(k))
		if err := f.decodeKey(s, p.states[i]); err != nil {
			return fmt.Errorf("key %x: %w", k, err)
		}
	}
	return nil
}

// stateChunk is the size of the buffers the copy writes new keys' figures into.
const stateChunk = 1 << 20

// capture takes the operator's state as it stands: it notes the rows held and freezes
// the keys that changed since the last capture, whatever their number. The function it
// returns copies the rows held and the frozen keys' figures the operator has not copied
// meanwhile, and makes a part with every key; it may run on another goroutine until the
// next capture.
func (f *Features) capture() func() (*featPart, error) {
	held := f.holdRows()
	f.kept.mu.Lock()
	f.kept.freeze()
	f.kept.mu.Unlock()
	return func() (*featPart, error) {
		rows, err := f.heldRows(held)
		for f.copyPending(copyTurn) { // also on an error: the frozen keys are unfrozen only here
		}
		if err != nil {
			return nil, err
		}
		p := f.kept.part()
		p.rows = rows
		return p, nil
	}
}

// featHeld is a batch's rows held for the watermark at a capture, with their keys' bytes.
type featHeld struct {
	rec  arrow.RecordBatch // retained
	rows []int32
	keys []string
}

// holdRows notes the rows held for the watermark, for heldRows to copy: it retains their
// batches, which nothing changes, and takes the rows' numbers and keys.
func (f *Features) holdRows() []featHeld {
	var held []featHeld
	for _, b := range f.pend {
		if len(b.left) == 0 {
			continue
		}
		h := featHeld{rec: b.rec, rows: slices.Clone(b.left), keys: make([]string, len(b.left))}
		for i, r := range b.left {
			h.keys[i] = f.keys[b.slot[r]].key
		}
		h.rec.Retain()
		held = append(held, h)
	}
	return held
}

// heldRows copies the rows holdRows noted, each with its key's bytes, and releases their
// batches.
func (f *Features) heldRows(held []featHeld) ([]arrow.RecordBatch, error) {
	defer func() {
		for _, h := range held {
			h.rec.Release()
		}
	}()
	mem := allocator(f.ctx)
	schema := f.rowSchema()
	out := &featPart{}
	for _, h := range held {
		rows, err := take.Rows(h.rec, h.rows)
		if err != nil {
			out.release()
			return nil, err
		}
		kb := array.NewBinaryBuilder(mem, arrow.BinaryTypes.Binary)
		kb.Reserve(len(h.keys))
		for _, k := range h.keys {
			kb.Append([]byte(k))
		}
		kcol := kb.NewArray()
		kb.Release()
		cols := append([]arrow.Array{kcol}, rows.Columns()...)
		out.rows = append(out.rows, array.NewRecordBatch(schema, cols, int64(len(h.rows))))
		kcol.Release()
		rows.Release()
	}
	return out.rows, nil
}

// encode writes a part as a snapshot.
func (f *Features) encode(p *featPart, id uint64) ([]byte, error) {
	mem := allocator(f.ctx)
	kb := array.NewBinaryBuilder(mem, arrow.BinaryTypes.Binary)
	sb := array.NewBinaryBuilder(mem, arrow.BinaryTypes.Binary)
	for i, k := range p.keys {
		kb.Append([]byte(k))
		sb.Append(p.states[i])
	}
	kcol, scol := kb.NewArray(), sb.NewArray()
	kb.Release()
	sb.Release()
	keys := array.NewRecordBatch(featKeySchema(), []arrow.Array{kcol, scol}, int64(len(p.keys)))
	kcol.Release()
	scol.Release()
	defer keys.Release()
	inner := &stateWriter{}
	if err := inner.records(mem, featKeySchema(), keys); err != nil {
		return nil, err
	}
	sw := newStateWriter(kindFeatures, featuresStateVersion, id, f.fp)
	sw.uvarint(uint64(inner.buf.Len()))
	sw.buf.Write(inner.buf.Bytes())
	if err := sw.records(mem, f.rowSchema(), p.rows...); err != nil {
		return nil, err
	}
	return sw.seal(), nil
}

// decode reads a snapshot into a part, and returns the checkpoint it was taken at.
func (f *Features) decode(state []byte) (*featPart, uint64, error) {
	r, err := openState(state, kindFeatures, featuresStateVersion, f.fp)
	if err != nil {
		return nil, 0, err
	}
	kbytes, err := r.bytes("keys")
	if err != nil {
		return nil, 0, err
	}
	mem := allocator(f.ctx)
	kr := &stateReader{body: kbytes}
	krecs, err := kr.records(mem, featKeySchema())
	if err != nil {
		return nil, 0, fmt.Errorf("keys: %w", err)
	}
	p := &featPart{}
	for _, rec := range krecs {
		ks, ss := rec.Column(0).(*array.Binary), rec.Column(1).(*array.Binary)
		for i := range int(rec.NumRows()) {
			p.keys = append(p.keys, string(ks.Value(i)))
			p.states = append(p.states, bytes.Clone(ss.Value(i)))
		}
		rec.Release()
	}
	if p.rows, err = r.records(mem, f.rowSchema()); err != nil {
		return nil, 0, fmt.Errorf("rows held: %w", err)
	}
	return p, r.checkpoint, nil
}

// split writes the keys and rows of p as the snapshots of the n owners owner gives their
// keys, nil for an owner with none.
func (f *Features) split(p *featPart, n int, owner KeyOwner, id uint64) ([][]byte, error) {
	of, err := f.keyOwners(p.keys, n, owner)
	if err != nil {
		return nil, err
	}
	parts := make([]featPart, n)
	defer func() {
		for i := range parts {
			parts[i].release()
		}
	}()
	byKey := make(map[string]int, len(p.keys))
	for i, k := range p.keys {
		o := of[i]
		byKey[k] = o
		parts[o].keys = append(parts[o].keys, k)
		parts[o].states = append(parts[o].states, p.states[i])
	}
	for _, rec := range p.rows {
		rows := make([][]int32, n)
		ks := rec.Column(0).(*array.Binary)
		for i := range int(rec.NumRows()) {
			o, ok := byKey[string(ks.Value(i))]
			if !ok {
				return nil, fmt.Errorf("a held row's key %x has no state", ks.Value(i))
			}
			rows[o] = append(rows[o], int32(i))
		}
		for o, rs := range rows {
			if len(rs) == 0 {
				continue
			}
			t, err := take.Rows(rec, rs)
			if err != nil {
				return nil, err
			}
			parts[o].rows = append(parts[o].rows, t)
		}
	}
	out := make([][]byte, n)
	for o := range parts {
		if len(parts[o].keys) == 0 {
			continue
		}
		if out[o], err = f.encode(&parts[o], id); err != nil {
			return nil, fmt.Errorf("owner %d: %w", o, err)
		}
	}
	return out, nil
}

// keyOwners is the owner, among n, of each key: what owner says of the key columns decoded
// from the key bytes.
func (f *Features) keyOwners(keys []string, n int, owner KeyOwner) ([]int, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	types := make([]arrow.DataType, len(f.cfg.Keys))
	for i, k := range f.cfg.Keys {
		types[i] = f.cfg.In.Field(k).Type
	}
	return keyOwners(allocator(f.ctx), types, len(keys), func(i int) []byte { return []byte(keys[i]) }, n, owner)
}

// appendKey appends the state of slot to b; see the format above.
func (f *Features) appendKey(b []byte, slot uint32) []byte {
	k := &f.keys[slot]
	flags := byte(0)
	if k.run {
		flags = 1
	}
	b = append(b, flags)
	b = binary.AppendVarint(b, k.last)
	in := k.wts[k.head:]
	b = binary.AppendUvarint(b, uint64(len(in)))
	prev := int64(0)
	for i, t := range in {
		if i == 0 {
			b = binary.AppendVarint(b, t)
		} else {
			b = binary.AppendVarint(b, t-prev)
		}
		prev = t
	}
	h := k.head
	f64 := func(v float64) { b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v)) }
	dec := func(v decimal128.Num) {
		b = binary.LittleEndian.AppendUint64(b, v.LowBits())
		b = binary.LittleEndian.AppendUint64(b, uint64(v.HighBits()))
	}
	flag := func(v bool) {
		if v {
			b = append(b, 1)
		} else {
			b = append(b, 0)
		}
	}
	str := func(s string) {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	for ci := range f.calls {
		c := &f.calls[ci]
		st := &c.st
		switch c.kind {
		case fCountIf:
			for _, ok := range st.ok[slot][h:] {
				flag(ok)
			}
		case fSum, fAvg:
			b = binary.AppendUvarint(b, uint64(st.nn[slot]))
			if c.exact {
				dec(st.dsum[slot])
			} else {
				f64(st.fsum[slot])
			}
			for j, ok := range st.ok[slot][h:] {
				flag(ok)
				if !ok {
					continue
				}
				if c.exact {
					dec(st.d[slot][h+j])
				} else {
					f64(st.f[slot][h+j])
				}
			}
		case fCountDistinct:
			for j, ok := range st.ok[slot][h:] {
				flag(ok)
				if ok {
					str(st.s[slot][h+j])
				}
			}
		case fZScore:
			b = binary.AppendUvarint(b, uint64(st.n[slot]))
			f64(st.mean[slot])
			f64(st.m2[slot])
		case fFirstSeen:
			b = binary.AppendUvarint(b, uint64(len(st.seen[slot])))
			for _, v := range slices.Sorted(maps.Keys(st.seen[slot])) {
				str(v)
			}
		case fKmFromPrev, fKmhFromPrev:
			flag(st.has[slot])
			b = binary.AppendVarint(b, st.pts[slot])
			f64(st.lat[slot])
			f64(st.lon[slot])
		}
	}
	return b
}

// decodeKey loads the state appendKey wrote into slot, a fresh one.
func (f *Features) decodeKey(slot uint32, state []byte) error {
	r := &stateReader{body: state}
	fixed := func(n int, what string) ([]byte, error) {
		if len(r.body) < n {
			return nil, fmt.Errorf("state is cut short: no %s", what)
		}
		v := r.body[:n]
		r.body = r.body[n:]
		return v, nil
	}
	f64 := func(what string) (float64, error) {
		v, err := fixed(8, what)
		if err != nil {
			return 0, err
		}
		return math.Float64frombits(binary.LittleEndian.Uint64(v)), nil
	}
	dec := func(what string) (decimal128.Num, error) {
		v, err := fixed(16, what)
		if err != nil {
			return decimal128.Num{}, err
		}
		return decimal128.New(int64(binary.LittleEndian.Uint64(v[8:])), binary.LittleEndian.Uint64(v)), nil
	}
	flag := func(what string) (bool, error) {
		v, err := fixed(1, what)
		if err != nil {
			return false, err
		}
		return v[0] == 1, nil
	}
	k := &f.keys[slot]
	run, err := flag("flags")
	if err != nil {
		return err
	}
	if k.last, err = r.varint("last event time"); err != nil {
		return err
	}
	k.run = run
	m, err := r.uvarint("rows in range")
	if err != nil {
		return err
	}
	if m > uint64(len(r.body)) {
		return fmt.Errorf("state is cut short: %d rows in range in %d bytes", m, len(r.body))
	}
	prev := int64(0)
	for i := range int(m) {
		d, err := r.varint("event time in range")
		if err != nil {
			return err
		}
		if i > 0 {
			d += prev
		}
		k.wts = append(k.wts, d)
		prev = d
	}
	f.sizes.entries += int64(m)
	for ci := range f.calls {
		c := &f.calls[ci]
		st := &c.st
		switch c.kind {
		case fCountIf:
			for range m {
				ok, err := flag("count_if value")
				if err != nil {
					return err
				}
				st.ok[slot] = append(st.ok[slot], ok)
				if ok {
					st.nn[slot]++
				}
			}
		case fSum, fAvg:
			nn, err := r.uvarint("non-null rows")
			if err != nil {
				return err
			}
			st.nn[slot] = int64(nn)
			if c.exact {
				if st.dsum[slot], err = dec("sum"); err != nil {
					return err
				}
			} else if st.fsum[slot], err = f64("sum"); err != nil {
				return err
			}
			for range m {
				ok, err := flag("null flag")
				if err != nil {
					return err
				}
				st.ok[slot] = append(st.ok[slot], ok)
				if c.exact {
					v := decimal128.Num{}
					if ok {
						if v, err = dec("value"); err != nil {
							return err
						}
					}
					st.d[slot] = append(st.d[slot], v)
				} else {
					v := 0.0
					if ok {
						if v, err = f64("value"); err != nil {
							return err
						}
					}
					st.f[slot] = append(st.f[slot], v)
				}
			}
		case fCountDistinct:
			for range m {
				ok, err := flag("null flag")
				if err != nil {
					return err
				}
				v := ""
				if ok {
					raw, err := r.bytes("value")
					if err != nil {
						return err
					}
					v = string(raw)
					if st.dist[slot] == nil {
						st.dist[slot] = map[string]int32{}
					}
					if st.dist[slot][v] == 0 {
						f.sizes.strBytes += int64(len(v))
						f.sizes.sets++
					}
					st.dist[slot][v]++
				}
				st.ok[slot] = append(st.ok[slot], ok)
				st.s[slot] = append(st.s[slot], v)
			}
		case fZScore:
			n, err := r.uvarint("count")
			if err != nil {
				return err
			}
			st.n[slot] = int64(n)
			if st.mean[slot], err = f64("mean"); err != nil {
				return err
			}
			if st.m2[slot], err = f64("squared deviations"); err != nil {
				return err
			}
		case fFirstSeen:
			n, err := r.uvarint("values seen")
			if err != nil {
				return err
			}
			if n > uint64(len(r.body)) {
				return fmt.Errorf("state is cut short: %d values seen in %d bytes", n, len(r.body))
			}
			if n > 0 {
				st.seen[slot] = make(map[string]struct{}, n)
			}
			for range n {
				raw, err := r.bytes("value seen")
				if err != nil {
					return err
				}
				st.seen[slot][string(raw)] = struct{}{}
				f.sizes.strBytes += int64(len(raw))
				f.sizes.sets++
			}
		case fKmFromPrev, fKmhFromPrev:
			if st.has[slot], err = flag("position flag"); err != nil {
				return err
			}
			if st.pts[slot], err = r.varint("position time"); err != nil {
				return err
			}
			if st.lat[slot], err = f64("latitude"); err != nil {
				return err
			}
			if st.lon[slot], err = f64("longitude"); err != nil {
				return err
			}
		}
	}
	if len(r.body) > 0 {
		return fmt.Errorf("state has %d bytes past its end", len(r.body))
	}
	return nil
}
