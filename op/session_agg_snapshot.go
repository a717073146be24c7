package op

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"millrace/window"
)

// Snapshots of a WindowAgg over session windows (see snapshot.go for the envelope).
//
// The body, kind 'S', version 1:
//
//	watermark   varint    the last watermark the operator saw (MinWatermark before any)
//	slots       uvarint   the number of key slots, used and free
//	free        uvarint n, then n uvarints: the free slots, the last reused first
//	rows        an Arrow IPC stream of one record batch, a row per open session:
//	              key              binary          the session's key, as KeyEncoder made it
//	              slot             uint32          the key's slot
//	              window_start     timestamp[ms]   the session's first event
//	              window_end       timestamp[ms]   its last event plus the gap
//	              state_<i>_<fn>   agg state type  call i's state, as Partial encodes it
//
// Rows come by slot, and within a key by start. Sessions ending at the same instant fire in
// the order of their keys' slots, so the snapshot keeps the slots, and the free ones in the
// order they will be reused, to make a restored operator emit exactly what the original would
// have. A step that splits the state for rescaling renumbers the slots of the keys it keeps
// and may then order such ties differently; every session still fires once, with the same
// rows.
//
// Restore rebuilds each session through window.Sessions.Insert: an event at its start opens
// it, and events at most gap - 1 ms apart up to end - gap stretch it to its end. The work is
// (end - start) / (gap - 1ms) inserts per session, never more than the events the session
// took to grow that long.

// sessionSlots is the slot layout a session snapshot records.
type sessionSlots struct {
	n    uint64
	free []uint32
}

// snapshotSessions encodes the open sessions for checkpoint id.
func (w *WindowAgg) snapshotSessions(id uint64) ([]byte, error) {
	ss := w.sess
	mem := allocator(w.ctx)
	keys := array.NewBinaryBuilder(mem, arrow.BinaryTypes.Binary)
	defer keys.Release()
	slots := array.NewUint32Builder(mem)
	defer slots.Release()
	starts := array.NewTimestampBuilder(mem, stateTime)
	defer starts.Release()
	ends := array.NewTimestampBuilder(mem, stateTime)
	defer ends.Release()
	groups := w.snapGroups[:0]
	used := 0
	for slot := range ss.keys {
		k := &ss.keys[slot]
		open := k.s.Open()
		if len(open) == 0 {
			continue
		}
		used++
		for _, s := range open {
			keys.AppendString(k.key)
			slots.Append(uint32(slot))
			starts.Append(arrow.Timestamp(s.Start))
			ends.Append(arrow.Timestamp(s.End))
			groups = append(groups, s.ID)
		}
	}
	w.snapGroups = groups
	if used+len(ss.free) != len(ss.keys) {
		return nil, fmt.Errorf("snapshot %s aggregation: %d keys with sessions and %d free slots, but %d slots", w.cfg.Window, used, len(ss.free), len(ss.keys))
	}
	cols := []arrow.Array{keys.NewArray(), slots.NewArray(), starts.NewArray(), ends.NewArray()}
	return w.writeState(kindSessionAgg, id, groups, cols, func(sw *stateWriter) {
		sw.uvarint(uint64(len(ss.keys)))
		sw.uvarint(uint64(len(ss.free)))
		for _, f := range ss.free {
			sw.uvarint(uint64(f))
		}
	})
}

// readSessionSlots reads the slot layout that precedes the rows.
func readSessionSlots(r *stateReader) (*sessionSlots, error) {
	n, err := r.uvarint("slot count")
	if err != nil {
		return nil, err
	}
	nfree, err := r.uvarint("free slot count")
	if err != nil {
		return nil, err
	}
	if nfree > n || nfree > uint64(len(r.body)) {
		return nil, fmt.Errorf("state lists %d free slots of %d in %d bytes", nfree, n, len(r.body))
	}
	s := &sessionSlots{n: n, free: make([]uint32, nfree)}
	for i := range s.free {
		f, err := r.uvarint("free slot")
		if err != nil {
			return nil, err
		}
		if f >= n {
			return nil, fmt.Errorf("state lists free slot %d of %d", f, n)
		}
		s.free[i] = uint32(f)
	}
	return s, nil
}

// restoreSessions rebuilds the keys, sessions, groups and timers that layout and the rows of
// rec describe, and merges the sessions' states in.
func (w *WindowAgg) restoreSessions(layout *sessionSlots, rec arrow.RecordBatch) error {
	ss := w.sess
	rows := int(rec.NumRows())
	keys := rec.Column(0).(*array.Binary)
	slotCol := rec.Column(1).(*array.Uint32)
	starts := rec.Column(2).(*array.Timestamp)
	ends := rec.Column(3).(*array.Timestamp)
	if slotCol.NullN() > 0 || ends.NullN() > 0 {
		return fmt.Errorf("state slots or session ends have nulls")
	}
	// Every slot is either free or holds a key with sessions, so there are at most as many
	// slots as free ones and rows.
	if layout.n > uint64(len(layout.free)+rows) {
		return fmt.Errorf("state has %d slots but only %d free ones and %d sessions", layout.n, len(layout.free), rows)
	}
	n := int(layout.n)
	ss.keys = make([]sessionKey, n)
	for i := range ss.keys {
		ss.keys[i].s = window.NewSessions(ss.gap)
	}
	taken := make([]bool, n)
	for _, f := range layout.free {
		if taken[f] {
			return fmt.Errorf("state lists free slot %d twice", f)
		}
		taken[f] = true
	}
	ss.free = layout.free
	ss.slots = make(map[string]uint32, n-len(layout.free))
	gap := ss.gap.Milliseconds()
	w.groups = w.groups[:0]
	prev := -1
	for i := range rows {
		slot := int(slotCol.Value(i))
		key := keys.Value(i)
		if slot != prev {
			if slot >= n || taken[slot] {
				return fmt.Errorf("state gives key %x slot %d, which is free, taken or not among the %d slots", key, slot, n)
			}
			taken[slot] = true
			if _, dup := ss.slots[string(key)]; dup {
				return fmt.Errorf("state holds key %x in two slots", key)
			}
			ss.keys[slot].key = string(key)
			ss.slots[ss.keys[slot].key] = uint32(slot)
			ss.keyBytes += int64(len(key))
			prev = slot
		} else if string(key) != ss.keys[slot].key {
			return fmt.Errorf("state holds keys %x and %x in slot %d", ss.keys[slot].key, key, slot)
		}
		start, end := int64(starts.Value(i)), int64(ends.Value(i))
		g, err := w.restoreSession(uint32(slot), start, end, gap)
		if err != nil {
			return fmt.Errorf("session [%d, %d) of key %x: %w", start, end, key, err)
		}
		w.groups = append(w.groups, g)
	}
	for slot := range ss.keys {
		if !taken[slot] {
			return fmt.Errorf("state leaves slot %d neither free nor used", slot)
		}
		if first, ok := ss.keys[slot].s.Next(); ok {
			ss.schedule(uint32(slot), first)
		}
	}
	return w.mergeStates(rec, 4)
}

// restoreSession opens the session [start, end) of key k in a fresh group and returns it.
func (w *WindowAgg) restoreSession(slot uint32, start, end, gap int64) (uint32, error) {
	k := &w.sess.keys[slot]
	if end-start < gap {
		return 0, fmt.Errorf("shorter than the gap of %d ms", gap)
	}
	if gap == 1 && end-start > 1 {
		return 0, fmt.Errorf("longer than 1 ms, which no session with a gap of 1 ms grows to")
	}
	g := w.nextGroup()
	if p := k.s.Insert(start, g); !p.Created {
		return 0, fmt.Errorf("overlaps another session of the key")
	}
	w.newGroup(slot, start)
	w.sess.open++
	for t, last := start, end-gap; t < last; {
		t = min(t+gap-1, last)
		if p := k.s.Insert(t, g); p.Created || p.Merged || p.ID != g {
			return 0, fmt.Errorf("overlaps another session of the key")
		}
	}
	return g, nil
}
