package window

import (
	"slices"
	"time"
)

// A SessionWindow is one open session of a key: the half-open interval [Start, End), where Start
// is the earliest event and End the latest event plus the gap. ID is the caller's name for it,
// typically the aggregate group that holds its state.
type SessionWindow struct {
	ID         uint32
	Start, End int64
}

// Placement tells the caller where an event went and what to do with aggregate state.
type Placement struct {
	// ID is the session the event now belongs to.
	ID uint32
	// Created is true when the event opened a new session, which took the caller's fresh id.
	Created bool
	// Merged is true when the event bridged two sessions: the later one, Absorbed, no longer
	// exists. The caller merges Absorbed's aggregate state into ID's and frees Absorbed.
	Merged   bool
	Absorbed uint32
}

// Sessions holds the open sessions of one key, ordered by start. Sessions never overlap: each
// ends at or before the next one starts. Events may arrive in any order; an event that falls
// between two sessions and overlaps both merges them into one.
//
// An event at t covers [t, t+gap). It joins every open session it overlaps (strictly: a session
// ending exactly at t is not extended), which is never more than two, because every session is
// at least gap long and the event's own interval is exactly gap long.
type Sessions struct {
	gap  int64
	open []SessionWindow
}

// NewSessions returns an empty set of sessions closing after gap of inactivity. The gap must be
// positive and a whole number of milliseconds, as Spec.Validate checks.
func NewSessions(gap time.Duration) Sessions { return Sessions{gap: gap.Milliseconds()} }

// Insert places an event with event time ts. fresh is the id to give a session this event opens
// (for example the next free aggregate group); Placement.Created says whether it was used.
// Lateness is the caller's concern: check Late before inserting.
func (s *Sessions) Insert(ts int64, fresh uint32) Placement {
	end := ts + s.gap
	// The first session that ends after ts is the only one that can hold or precede ts; the
	// one after it may overlap [ts, end) from the right.
	i, _ := slices.BinarySearchFunc(s.open, ts, func(w SessionWindow, t int64) int {
		if w.End <= t {
			return -1
		}
		return 1
	})
	overlapsAt := func(j int) bool { return j < len(s.open) && s.open[j].Start < end }
	switch {
	case !overlapsAt(i):
		s.open = slices.Insert(s.open, i, SessionWindow{ID: fresh, Start: ts, End: end})
		return Placement{ID: fresh, Created: true}
	case overlapsAt(i + 1):
		a, b := &s.open[i], s.open[i+1]
		a.Start = min(a.Start, ts)
		a.End = max(b.End, end)
		s.open = slices.Delete(s.open, i+1, i+2)
		return Placement{ID: a.ID, Merged: true, Absorbed: b.ID}
	default:
		w := &s.open[i]
		w.Start = min(w.Start, ts)
		w.End = max(w.End, end)
		return Placement{ID: w.ID}
	}
}

// PopFired removes the sessions that fire at watermark (End <= watermark, see Fires), appends
// them to dst in order of their ends and returns dst.
func (s *Sessions) PopFired(watermark int64, dst []SessionWindow) []SessionWindow {
	n := 0
	for n < len(s.open) && Fires(s.open[n].End, watermark) {
		n++
	}
	dst = append(dst, s.open[:n]...)
	s.open = slices.Delete(s.open, 0, n)
	return dst
}

// Next returns the end of the session that fires first, and false when none is open. Sessions
// are disjoint and ordered, so it is the first one's end.
func (s *Sessions) Next() (int64, bool) {
	if len(s.open) == 0 {
		return 0, false
	}
	return s.open[0].End, true
}

// Len returns the number of open sessions.
func (s *Sessions) Len() int { return len(s.open) }

// Open returns the open sessions in order, for snapshots and inspection. The slice aliases the
// Sessions' memory and is valid until the next Insert or PopFired.
func (s *Sessions) Open() []SessionWindow { return s.open }
