package engine

import (
	"sync"

	"millrace/format"
	"sync/atomic"
	"time"
)

// NodeStats counts what one subtask of a node did, updated as it runs.
type NodeStats struct {
	Name        string
	Parallelism int
	Subtask     int

	RowsIn, RowsOut       atomic.Int64
	BatchesIn, BatchesOut atomic.Int64
	// BusyNanos is time spent handling messages; BackpressureNanos time spent blocked on a
	// full downstream channel.
	BusyNanos, BackpressureNanos atomic.Int64
	// Dropped counts rows operators filtered out (a view's where, an inner join's misses).
	Dropped atomic.Int64

	// Sources only: the ledger of what was read.
	Read, Accepted, Rejected, Late atomic.Int64
}

// NodeReport is a snapshot of a node's figures: the sums over its subtasks, and each
// subtask's own in Subtasks.
type NodeReport struct {
	Name                           string
	Parallelism                    int
	Subtask                        int // for a subtask's report
	Subtasks                       []NodeReport
	RowsIn, RowsOut                int64
	BatchesIn, BatchesOut          int64
	Busy, Backpressure             time.Duration
	Dropped                        int64
	Read, Accepted, Rejected, Late int64
}

// nodeReport sums the subtasks of a node.
func nodeReport(subs []*NodeStats) NodeReport {
	total := NodeReport{Name: subs[0].Name, Parallelism: subs[0].Parallelism}
	for _, s := range subs {
		r := s.snapshot()
		total.Subtasks = append(total.Subtasks, r)
		total.RowsIn += r.RowsIn
		total.RowsOut += r.RowsOut
		total.BatchesIn += r.BatchesIn
		total.BatchesOut += r.BatchesOut
		total.Busy += r.Busy
		total.Backpressure += r.Backpressure
		total.Dropped += r.Dropped
		total.Read += r.Read
		total.Accepted += r.Accepted
		total.Rejected += r.Rejected
		total.Late += r.Late
	}
	return total
}

func (s *NodeStats) snapshot() NodeReport {
	return NodeReport{
		Name: s.Name, Parallelism: s.Parallelism, Subtask: s.Subtask,
		RowsIn: s.RowsIn.Load(), RowsOut: s.RowsOut.Load(),
		BatchesIn: s.BatchesIn.Load(), BatchesOut: s.BatchesOut.Load(),
		Busy: time.Duration(s.BusyNanos.Load()), Backpressure: time.Duration(s.BackpressureNanos.Load()),
		Dropped: s.Dropped.Load(),
		Read:    s.Read.Load(), Accepted: s.Accepted.Load(), Rejected: s.Rejected.Load(), Late: s.Late.Load(),
	}
}

// Stats is what a run did, node by node, in graph order.
type Stats struct {
	Elapsed time.Duration
	Nodes   []NodeReport
}

// Node returns the report of the named node.
func (s *Stats) Node(name string) (NodeReport, bool) {
	for _, n := range s.Nodes {
		if n.Name == name {
			return n, true
		}
	}
	return NodeReport{}, false
}

// Monitor lets other goroutines read the figures of a run while it goes on: a metrics
// endpoint, a dashboard. Give it to Run in Options.
type Monitor struct {
	mu    sync.Mutex
	run   *run
	start time.Time
	final *Stats
	dead  []SourceDeadLetter // the latest, oldest first
}

// SourceDeadLetter is a dead letter and the source that refused it.
type SourceDeadLetter struct {
	Source string
	format.DeadLetter
}

// keptDeadLetters is how many recent dead letters a Monitor keeps; keptRawBytes bounds each
// one's raw record.
const (
	keptDeadLetters = 100
	keptRawBytes    = 1024
)

// DeadLetters returns up to limit of the most recent dead letters, newest first.
func (m *Monitor) DeadLetters(limit int) []SourceDeadLetter {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]SourceDeadLetter, 0, min(limit, len(m.dead)))
	for i := len(m.dead) - 1; i >= 0 && len(out) < limit; i-- {
		out = append(out, m.dead[i])
	}
	return out
}

// sample keeps copies of the newest dead letters of a batch.
func (m *Monitor) sample(src string, dead []format.DeadLetter) {
	if len(dead) > keptDeadLetters {
		dead = dead[len(dead)-keptDeadLetters:]
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, d := range dead {
		d.Raw = append([]byte(nil), d.Raw[:min(len(d.Raw), keptRawBytes)]...)
		m.dead = append(m.dead, SourceDeadLetter{Source: src, DeadLetter: d})
	}
	if extra := len(m.dead) - keptDeadLetters; extra > 0 {
		m.dead = append(m.dead[:0], m.dead[extra:]...)
	}
}

// Snapshot returns the figures now, the final ones once the run has ended, or nil before it
// starts.
func (m *Monitor) Snapshot() *Stats {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch {
	case m.final != nil:
		return m.final
	case m.run != nil:
		return m.run.snapshot(time.Since(m.start))
	}
	return nil
}

func (m *Monitor) attach(r *run, start time.Time) {
	m.mu.Lock()
	m.run, m.start = r, start
	m.mu.Unlock()
}

func (m *Monitor) finish(st *Stats) {
	m.mu.Lock()
	m.final, m.run = st, nil
	m.mu.Unlock()
}
