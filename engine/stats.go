package engine

import (
	"maps"
	"sync"
	"sync/atomic"
	"time"

	"millrace/op"
)

// NodeStats counts what one subtask of a node did, updated as it runs.
type NodeStats struct {
	Name        string
	Parallelism int
	Subtask     int

	RowsIn, RowsOut       atomic.Int64
	BatchesIn, BatchesOut atomic.Int64
	// BusyNanos is time spent handling messages, including BackpressureNanos, the time spent
	// blocked on a full downstream channel. IdleNanos is time spent waiting for input.
	BusyNanos, BackpressureNanos, IdleNanos atomic.Int64
	// Dropped counts rows operators filtered out (a view's where, an inner join's misses).
	Dropped atomic.Int64
	// Duplicates counts rows a deduplication dropped for repeating a key.
	Duplicates atomic.Int64
	// Errors counts the rows an operator rejected to its error port (ErrorPort), which
	// RowsOut does not count.
	Errors atomic.Int64
	// Watermark is the subtask's event-time watermark, in ms since the epoch.
	Watermark atomic.Int64
	// StateBytes estimates the memory of the subtask's operator state, sampled about once a
	// second, or after every message under a memory budget.
	StateBytes atomic.Int64
	// MemoryPauses counts the times a source subtask paused because the run's state was
	// above the memory budget's high-water mark.
	MemoryPauses atomic.Int64
	// Latency is the time latency markers took from their source to this subtask.
	Latency latencyHistogram
	// Pause is the time each checkpoint held the subtask while it took its part: the copy
	// of an op.Capturer's state, or the whole snapshot of another operator's.
	Pause latencyHistogram
	// ReadAge is, for sources that know when their records were appended (brokers'), the
	// age of each batch's oldest record when the subtask read it.
	ReadAge latencyHistogram
	// Hold is, for operators that keep rows in event-time order, how long each row waited
	// in the subtask for the watermark to release it (op.HoldMeter).
	Hold latencyHistogram

	// Sources only: the ledger of what was read, kept under a lock so that a snapshot
	// always balances.
	ledgerMu sync.Mutex
	ledger   ledgerTally
	// Sources only: the bytes of input the subtask's partitions hold, when the source knows
	// (source.Sized), and how many it has read.
	InputBytes, InputBytesRead atomic.Int64
	// Sources that know it only: each partition's lag in records (source.Progress.Lag).
	lagMu sync.Mutex
	lag   map[int]int64
	// Broker sources only: why each partition whose reader cannot reach its broker cannot
	// (source.Progress.Unreachable); a partition that reaches it has no entry.
	unreachable map[int]string

	inbox chan envelope // operators only
}

// setLag records the lag of a source partition.
func (s *NodeStats) setLag(partition int, lag int64) {
	s.lagMu.Lock()
	if s.lag == nil {
		s.lag = make(map[int]int64)
	}
	s.lag[partition] = lag
	s.lagMu.Unlock()
}

// setUnreachable records why a source partition's reader cannot reach its broker, or, with
// "", that it can.
func (s *NodeStats) setUnreachable(partition int, why string) {
	s.lagMu.Lock()
	defer s.lagMu.Unlock()
	if why == "" {
		delete(s.unreachable, partition)
		return
	}
	if s.unreachable == nil {
		s.unreachable = make(map[int]string)
	}
	s.unreachable[partition] = why
}

// ledgerTally is a source's ledger counts of one batch.
type ledgerTally struct{ read, accepted, rejected, late int64 }

// count adds a batch's ledger counts.
func (s *NodeStats) count(t ledgerTally) {
	if t == (ledgerTally{}) {
		return
	}
	s.ledgerMu.Lock()
	s.ledger.read += t.read
	s.ledger.accepted += t.accepted
	s.ledger.rejected += t.rejected
	s.ledger.late += t.late
	s.ledgerMu.Unlock()
}

func newNodeStats(n *Node, sub int, inbox chan envelope) *NodeStats {
	s := &NodeStats{Name: n.Name, Parallelism: n.Parallelism, Subtask: sub, inbox: inbox}
	s.Watermark.Store(op.MinWatermark)
	return s
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
	Busy, Backpressure, Idle       time.Duration
	Dropped                        int64
	Duplicates                     int64
	Errors                         int64
	Read, Accepted, Rejected, Late int64
	InputBytes, InputBytesRead     int64
	// Queued is how many messages wait in the input channels, of QueueCapacity.
	Queued, QueueCapacity int
	// Watermark is the least over the subtasks (op.MinWatermark until every subtask has one).
	Watermark  int64
	StateBytes int64
	// MemoryPauses counts the times a source's subtasks paused for the memory budget.
	MemoryPauses int64
	// Lag maps each partition of a source that knows its lag (a broker's) to the records
	// the partition holds past the reader's position; nil for other nodes.
	Lag map[int]int64
	// Unreachable maps each partition of a broker source whose reader cannot reach its
	// broker now to why; nil while every partition's can.
	Unreachable map[int]string
	Latency     Latency
	// Pause is the time checkpoints held the subtasks while each took its part.
	Pause Latency
	// ReadAge is the age of each batch's oldest record when a source read it, for sources
	// that know when their records were appended.
	ReadAge Latency
	// Hold is how long each row waited in an operator that keeps rows in event-time order
	// until the watermark released it.
	Hold Latency
	// HotKeys are the most frequent keys of a node fed by hash edges, most frequent first.
	HotKeys []HotKey
}

// HotKey is a key that takes a large share of a keyed node's input.
type HotKey struct {
	Key string
	// Share is the fraction of the node's recent input surely with this key (a lower bound).
	Share float64
	// Subtask is the subtask that owns the key.
	Subtask int
}

// Backlog is the bytes of input a source has left, or -1 when it does not know.
func (r NodeReport) Backlog() int64 {
	if r.InputBytes <= 0 {
		return -1
	}
	return max(r.InputBytes-r.InputBytesRead, 0)
}

// nodeReport sums the subtasks of a node.
func nodeReport(subs []*NodeStats) NodeReport {
	total := NodeReport{Name: subs[0].Name, Parallelism: subs[0].Parallelism, Watermark: op.MaxWatermark}
	for _, s := range subs {
		r := s.snapshot()
		total.Subtasks = append(total.Subtasks, r)
		total.RowsIn += r.RowsIn
		total.RowsOut += r.RowsOut
		total.BatchesIn += r.BatchesIn
		total.BatchesOut += r.BatchesOut
		total.Busy += r.Busy
		total.Backpressure += r.Backpressure
		total.Idle += r.Idle
		total.Dropped += r.Dropped
		total.Duplicates += r.Duplicates
		total.Errors += r.Errors
		total.Read += r.Read
		total.Accepted += r.Accepted
		total.Rejected += r.Rejected
		total.Late += r.Late
		total.InputBytes += r.InputBytes
		total.InputBytesRead += r.InputBytesRead
		total.Queued += r.Queued
		total.QueueCapacity += r.QueueCapacity
		total.Watermark = min(total.Watermark, r.Watermark)
		total.StateBytes += r.StateBytes
		total.MemoryPauses += r.MemoryPauses
		total.Latency = total.Latency.add(r.Latency)
		total.Pause = total.Pause.add(r.Pause)
		total.ReadAge = total.ReadAge.add(r.ReadAge)
		total.Hold = total.Hold.add(r.Hold)
		for p, lag := range r.Lag {
			if total.Lag == nil {
				total.Lag = make(map[int]int64)
			}
			total.Lag[p] = lag
		}
		for p, why := range r.Unreachable {
			if total.Unreachable == nil {
				total.Unreachable = make(map[int]string)
			}
			total.Unreachable[p] = why
		}
	}
	return total
}

func (s *NodeStats) snapshot() NodeReport {
	r := NodeReport{
		Name: s.Name, Parallelism: s.Parallelism, Subtask: s.Subtask,
		RowsIn: s.RowsIn.Load(), RowsOut: s.RowsOut.Load(),
		BatchesIn: s.BatchesIn.Load(), BatchesOut: s.BatchesOut.Load(),
		Busy: time.Duration(s.BusyNanos.Load()), Backpressure: time.Duration(s.BackpressureNanos.Load()),
		Idle:       time.Duration(s.IdleNanos.Load()),
		Dropped:    s.Dropped.Load(),
		Duplicates: s.Duplicates.Load(),
		Errors:     s.Errors.Load(),
		InputBytes: s.InputBytes.Load(), InputBytesRead: s.InputBytesRead.Load(),
		Watermark: s.Watermark.Load(), StateBytes: s.StateBytes.Load(), MemoryPauses: s.MemoryPauses.Load(),
		Latency: s.Latency.snapshot(), Pause: s.Pause.snapshot(), ReadAge: s.ReadAge.snapshot(),
		Hold: s.Hold.snapshot(),
	}
	s.ledgerMu.Lock()
	l := s.ledger
	s.ledgerMu.Unlock()
	r.Read, r.Accepted, r.Rejected, r.Late = l.read, l.accepted, l.rejected, l.late
	s.lagMu.Lock()
	if s.lag != nil {
		r.Lag = make(map[int]int64, len(s.lag))
		for p, lag := range s.lag {
			r.Lag[p] = lag
		}
	}
	if len(s.unreachable) > 0 {
		r.Unreachable = maps.Clone(s.unreachable)
	}
	s.lagMu.Unlock()
	if s.inbox != nil {
		r.Queued, r.QueueCapacity = len(s.inbox), cap(s.inbox)
	}
	return r
}

// Stats is what a run did, node by node, in graph order.
type Stats struct {
	// Taken is the wall-clock time of the snapshot; Elapsed the time since the run started.
	Taken       time.Time
	Elapsed     time.Duration
	Nodes       []NodeReport
	Checkpoints CheckpointReport
}

// CheckpointReport is how a run's checkpoints went.
type CheckpointReport struct {
	Completed, Failed int64
	// Last is the id of the newest completed checkpoint, LastDuration the time from its
	// trigger until it was durable.
	Last         uint64
	LastDuration time.Duration
}

// checkpointCounts keeps a run's CheckpointReport for snapshots from other goroutines.
type checkpointCounts struct {
	mu sync.Mutex
	r  CheckpointReport
}

func (c *checkpointCounts) record(s *Snapshot, err error, took time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil {
		c.r.Failed++
		return
	}
	c.r.Completed++
	c.r.Last, c.r.LastDuration = s.ID, took
}

func (c *checkpointCounts) report() CheckpointReport {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.r
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
