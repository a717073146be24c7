package op

import (
	"fmt"
	"time"

	"millrace/window"
)

// Session windows in WindowAgg (Phase Single).
//
// Each key has a window.Sessions, and each open session owns one aggregate group, whose id is
// the session's ID. A row that opens a session takes a fresh group; a row that joins one
// updates its group; a row that bridges two sessions merges them: the later session's state
// is encoded with Partial, folded into the earlier one's with MergePartial, and its group is
// reset and freed.
//
// Firing. A session ends at its last event plus the gap, and that end moves later as events
// arrive, so timers are kept per key, not per session: a min-heap holds, for every key with
// open sessions, one live entry (due, key) with due <= the end of the key's first session.
// Ends only move later, except when an out-of-order row opens a session before the key's
// first, which pushes a new entry and leaves the old one stale (its due no longer matches).
// When an entry pops at the watermark, the key's first session either ends at due and fires,
// or ended later and is pushed again at its real end. Sessions so fire in order of their
// ends, over all keys, each exactly once.
//
// Correctness rests on the watermark contract: a row arrives with event time at or above
// every watermark passed before it (the source diverts the rest). A fired session ended at or
// before the watermark, so no later row can overlap, extend or bridge it.

// sessionState is the session bookkeeping of a WindowAgg.
type sessionState struct {
	gap   time.Duration
	slots map[string]uint32 // key bytes -> index into keys
	keys  []sessionKey
	free  []uint32 // unused indexes into keys
	heap  sessionHeap
	open  int // open sessions over all keys
	// keyBytes is the length of the keys held, kept as keys come and go.
	keyBytes int64

	merge  [2]uint32 // absorbed and surviving group of a merge
	popped []window.SessionWindow
	fired  []uint32
	done   []uint32 // slots whose last session fired, dropped once the rows are out
	starts []int64
	ends   []int64
}

// sessionKey holds the open sessions of one key.
type sessionKey struct {
	key  string
	s    window.Sessions
	live bool  // the key has open sessions and an entry in the heap
	due  int64 // the live heap entry's end, <= the first session's end
}

func newSessionState(gap time.Duration) *sessionState {
	return &sessionState{gap: gap, slots: map[string]uint32{}}
}

// slot returns the index of key bytes k in keys, making an entry with no sessions.
func (ss *sessionState) slot(k []byte) uint32 {
	if i, ok := ss.slots[string(k)]; ok {
		return i
	}
	key := string(k)
	var i uint32
	if n := len(ss.free); n > 0 {
		i, ss.free = ss.free[n-1], ss.free[:n-1]
		ss.keys[i].key = key // its Sessions is empty and keeps its memory
	} else {
		i = uint32(len(ss.keys))
		ss.keys = append(ss.keys, sessionKey{key: key, s: window.NewSessions(ss.gap)})
	}
	ss.slots[key] = i
	ss.keyBytes += int64(len(key))
	return i
}

// sizeBytes estimates the memory of the keys, their open sessions and the timer heap from
// figures kept as they change, so it costs nothing to ask.
func (ss *sessionState) sizeBytes() int64 {
	const perKey = 16 + 48 + 40 + 16 // key header, map entry, sessionKey, a heap entry
	const perSession = 24            // a SessionWindow
	return ss.keyBytes + int64(cap(ss.keys))*perKey + int64(ss.open)*perSession
}

// schedule makes (due, slot) the key's live heap entry.
func (ss *sessionState) schedule(slot uint32, due int64) {
	k := &ss.keys[slot]
	k.live, k.due = true, due
	ss.heap.push(sessionTimer{end: due, slot: slot})
}

// drop forgets a key whose last session fired.
func (ss *sessionState) drop(slot uint32) {
	k := &ss.keys[slot]
	delete(ss.slots, k.key)
	ss.keyBytes -= int64(len(k.key))
	k.key, k.live = "", false
	ss.free = append(ss.free, slot)
}

// processSessions places the rows of the current batch (event times in w.times) in their
// keys' sessions and folds them into the sessions' groups. Rows are folded in runs; a merge
// first folds the run so far, so the absorbed group holds all its rows when it is merged.
func (w *WindowAgg) processSessions() error {
	ss := w.sess
	w.groups, w.rows = w.groups[:0], w.rows[:0]
	from := 0
	for r, ts := range w.times {
		slot := ss.slot(w.keyEnc.Key(r))
		k := &ss.keys[slot]
		p := k.s.Insert(ts, w.nextGroup())
		switch {
		case p.Created:
			w.newGroup(slot, ts)
			ss.open++
			if first, _ := k.s.Next(); !k.live || first < k.due {
				ss.schedule(slot, first)
			}
		case p.Merged:
			if err := w.update(w.groups[from:], w.rows[from:]); err != nil {
				return err
			}
			from = len(w.groups)
			if err := w.mergeGroups(p.Absorbed, p.ID); err != nil {
				return err
			}
			ss.open--
		}
		w.groups = append(w.groups, p.ID)
		w.rows = append(w.rows, int32(r))
	}
	return w.update(w.groups[from:], w.rows[from:])
}

// mergeGroups folds the state of group absorbed into group into and frees absorbed.
func (w *WindowAgg) mergeGroups(absorbed, into uint32) error {
	ss := w.sess
	ss.merge = [2]uint32{absorbed, into}
	src, dst := ss.merge[0:1], ss.merge[1:2]
	for i, a := range w.accs {
		st, err := a.Partial(src)
		if err != nil {
			return fmt.Errorf("%s: merge sessions: %w", w.cfg.Calls[i].Name, err)
		}
		err = a.MergePartial(dst, st)
		st.Release()
		if err != nil {
			return fmt.Errorf("%s: merge sessions: %w", w.cfg.Calls[i].Name, err)
		}
	}
	w.freeGroups(src)
	return nil
}

// fireSessions emits every session that ends at or before wm, in order of their ends, and
// frees their groups and the keys left without sessions.
func (w *WindowAgg) fireSessions(wm int64, out Collector) error {
	ss := w.sess
	ss.fired, ss.starts, ss.ends, ss.done = ss.fired[:0], ss.starts[:0], ss.ends[:0], ss.done[:0]
	for len(ss.heap) > 0 && window.Fires(ss.heap[0].end, wm) {
		t := ss.heap.pop()
		k := &ss.keys[t.slot]
		if !k.live || k.due != t.end {
			continue // superseded by an earlier session of the key, or the key is gone
		}
		first, _ := k.s.Next()
		if first != t.end {
			ss.schedule(t.slot, first) // the session grew since; wait for its real end
			continue
		}
		ss.popped = k.s.PopFired(first, ss.popped[:0])
		sw := ss.popped[0]
		ss.fired = append(ss.fired, sw.ID)
		ss.starts = append(ss.starts, sw.Start)
		ss.ends = append(ss.ends, sw.End)
		if next, ok := k.s.Next(); ok {
			ss.schedule(t.slot, next)
		} else {
			k.live = false // its key is dropped once the rows are out: they carry its bytes
			ss.done = append(ss.done, t.slot)
		}
	}
	if len(ss.fired) == 0 {
		return nil
	}
	rec, err := w.results(ss.fired, ss.starts, ss.ends)
	if err != nil {
		return err
	}
	for _, slot := range ss.done {
		ss.drop(slot)
	}
	w.freeGroups(ss.fired)
	ss.open -= len(ss.fired)
	return out.Collect(rec)
}

// sessionTimer says that the key at slot may have a session ending at end.
type sessionTimer struct {
	end  int64
	slot uint32
}

// sessionHeap is a binary min-heap of timers by end, then slot, so that sessions ending
// together fire in a deterministic order.
type sessionHeap []sessionTimer

func (h sessionHeap) less(i, j int) bool {
	return h[i].end < h[j].end || h[i].end == h[j].end && h[i].slot < h[j].slot
}

func (h *sessionHeap) push(t sessionTimer) {
	*h = append(*h, t)
	s := *h
	for i := len(s) - 1; i > 0; {
		p := (i - 1) / 2
		if !s.less(i, p) {
			break
		}
		s[i], s[p] = s[p], s[i]
		i = p
	}
}

func (h *sessionHeap) pop() sessionTimer {
	s := *h
	top := s[0]
	n := len(s) - 1
	s[0] = s[n]
	s = s[:n]
	for i := 0; ; {
		c := 2*i + 1
		if c >= n {
			break
		}
		if c+1 < n && s.less(c+1, c) {
			c++
		}
		if !s.less(c, i) {
			break
		}
		s[i], s[c] = s[c], s[i]
		i = c
	}
	*h = s
	return top
}
