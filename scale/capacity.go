package scale

import (
	"time"

	"millrace/engine"
)

// Capacity is one operator's measured load over a window: the true processing rate as Flink's
// autoscaler and the DS2 paper define it (records per second of busy time, busy meaning
// working, not blocked on backpressure), the observed input rate, and for sources the backlog
// and its growth.
type Capacity struct {
	// Node is the node's name and Parallelism its subtasks at the end of the window.
	Node        string
	Parallelism int
	// TrueRate is the records/s one subtask handles when busy all the time: the records over
	// the time its subtasks worked, busy but not blocked on backpressure (RowsIn /
	// (Busy-Backpressure) per subtask). It is 0 when unknown: nothing was worked on in the
	// window, or the run does not measure busy time.
	TrueRate float64
	// InputRate is the records/s the node took in (a source: read) over the window.
	InputRate float64
	// Utilization is the share of the window the subtasks spent working, averaged over them,
	// in [0, 1].
	Utilization float64
	// Backlog is the bytes of input a source has not read at the end of the window, -1 if
	// unknown (not a source, or a source that does not know its size).
	Backlog float64
	// BacklogGrowth is how fast the backlog grew over the window, in bytes/s (negative as it
	// shrinks); 0 unless the backlog is known at both ends.
	BacklogGrowth float64
}

// Measure computes every node's Capacity between two snapshots of the same run, in cur's
// order of nodes. A nil prev, or one from another run (its Elapsed beyond cur's), measures
// from the start of the run. A node missing from prev, or whose counters went back (its
// subtasks started again), is measured from zero over the whole window; its true rate is
// still right, its input rate and utilisation too low. The records of a node are the rows it
// took in, and those of a source the rows it read.
func Measure(prev, cur *engine.Stats) []Capacity {
	if cur == nil {
		return nil
	}
	if prev != nil && prev.Elapsed > cur.Elapsed {
		prev = nil
	}
	window := cur.Elapsed
	before := make(map[string]engine.NodeReport)
	if prev != nil {
		window -= prev.Elapsed
		for _, n := range prev.Nodes {
			before[n.Name] = n
		}
	}
	secs := window.Seconds()
	out := make([]Capacity, 0, len(cur.Nodes))
	for _, n := range cur.Nodes {
		p, known := before[n.Name]
		if known && (n.RowsIn < p.RowsIn || n.Read < p.Read || n.Busy < p.Busy || n.Backpressure < p.Backpressure) {
			p, known = engine.NodeReport{}, false
		}
		c := Capacity{Node: n.Name, Parallelism: n.Parallelism, Backlog: float64(n.Backlog())}
		records := float64(n.RowsIn - p.RowsIn + n.Read - p.Read)
		working := max((n.Busy-p.Busy)-(n.Backpressure-p.Backpressure), 0)
		if working > 0 {
			c.TrueRate = records / working.Seconds()
		}
		if secs > 0 {
			c.InputRate = records / secs
			c.Utilization = min(working.Seconds()/(float64(max(n.Parallelism, 1))*secs), 1)
			if was := p.Backlog(); known && was >= 0 && c.Backlog >= 0 {
				c.BacklogGrowth = (c.Backlog - float64(was)) / secs
			}
		}
		out = append(out, c)
	}
	return out
}

// Window keeps the snapshots of the last d and measures over them (sliding window). Its time
// is the run's Elapsed, so snapshots need no wall clock; a snapshot from an earlier point of
// the run than the newest starts the window again, as a new run. The window always keeps the
// newest snapshot at or before its start, so that once the run is older than d the
// measurement spans at least d.
//
// A Window is not safe for concurrent use. It keeps the snapshots it is given, which must not
// change afterwards.
type Window struct {
	span  time.Duration
	snaps []*engine.Stats // oldest first
}

// NewWindow returns a window over the last d; with d of 0 or less it measures between the last
// two snapshots.
func NewWindow(d time.Duration) *Window {
	return &Window{span: max(d, 0)}
}

// Add adds the newest snapshot and forgets those the window no longer needs. A nil snapshot
// is ignored.
func (w *Window) Add(st *engine.Stats) {
	if st == nil {
		return
	}
	if k := len(w.snaps); k > 0 && st.Elapsed < w.snaps[k-1].Elapsed {
		clear(w.snaps)
		w.snaps = w.snaps[:0]
	}
	w.snaps = append(w.snaps, st)
	// The oldest goes while the next one is already at or before the window's start; the
	// newest stays, and the one before it, so that there is always a window to measure.
	start := st.Elapsed - w.span
	drop := 0
	for drop+1 < len(w.snaps)-1 && w.snaps[drop+1].Elapsed <= start {
		drop++
	}
	if drop > 0 {
		n := copy(w.snaps, w.snaps[drop:])
		clear(w.snaps[n:])
		w.snaps = w.snaps[:n]
	}
}

// Len is the number of snapshots the window keeps.
func (w *Window) Len() int { return len(w.snaps) }

// Span is the time between the window's oldest snapshot and its newest.
func (w *Window) Span() time.Duration {
	if len(w.snaps) < 2 {
		return 0
	}
	return w.snaps[len(w.snaps)-1].Elapsed - w.snaps[0].Elapsed
}

// Capacities measures every node between the oldest and the newest snapshot kept: over the
// window, or with a single snapshot over the run so far. It is nil before any snapshot.
func (w *Window) Capacities() []Capacity {
	switch len(w.snaps) {
	case 0:
		return nil
	case 1:
		return Measure(nil, w.snaps[0])
	}
	return Measure(w.snaps[0], w.snaps[len(w.snaps)-1])
}
