package engine

import (
	"sync/atomic"
	"time"
)

// NodeStats counts what a node's subtasks did, updated as they run.
type NodeStats struct {
	Name        string
	Parallelism int

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

// NodeReport is a snapshot of NodeStats.
type NodeReport struct {
	Name                           string
	Parallelism                    int
	RowsIn, RowsOut                int64
	BatchesIn, BatchesOut          int64
	Busy, Backpressure             time.Duration
	Dropped                        int64
	Read, Accepted, Rejected, Late int64
}

func (s *NodeStats) snapshot() NodeReport {
	return NodeReport{
		Name: s.Name, Parallelism: s.Parallelism,
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
