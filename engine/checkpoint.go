package engine

import (
	"context"
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	"millrace/op"
)

// Checkpointing makes a run take checkpoints: aligned barriers, as in Flink. Every Interval
// the sources record where they stand and send a barrier; each operator subtask snapshots
// its state once the barrier has come on all its inputs, and passes it on. When every
// subtask has taken its part, Complete makes the checkpoint durable and Committers (sinks)
// publish what they readied. After the last subtask finishes, a final checkpoint holds
// everyone's final state.
type Checkpointing struct {
	// Interval is the time between checkpoints (one is in flight at a time).
	Interval time.Duration
	// Restore, when set, is the checkpoint the run resumes from: sources reopen their
	// partitions where it left them and operators load their state. It may have been taken
	// at another parallelism (see rescaled).
	Restore *Snapshot
	// Complete makes a checkpoint durable. It is called from one goroutine, in order of id.
	// An error is logged and the run goes on (the next checkpoint tries again), except for
	// the final checkpoint, whose error ends the run.
	Complete func(*Snapshot) error
	// ByKeyGroup makes every keyed node (all its inputs hash-partitioned) whose operator is
	// an op.GroupSnapshotter take its part by key group: Snapshot.Parts then holds one
	// entry per key group of the graph for it, the state of that key group (nil where it
	// has none), as if the node ran at one subtask per key group. Restoring such a
	// snapshot hands each subtask the parts of its key groups.
	ByKeyGroup bool
}

// Snapshot is the state of a run at one checkpoint.
type Snapshot struct {
	ID    uint64
	Taken time.Time
	// Final is set on the checkpoint taken after every subtask finished over input that
	// ended: there is nothing left to resume. A run stopped gracefully ends with a
	// checkpoint that is not final.
	Final bool
	// Last is set on the checkpoint of everyone's final state, taken once every subtask has
	// finished (Final or stopped): its Committers' parts were taken with
	// op.FinalCheckpoint. It is the last checkpoint of the run.
	Last bool
	// Finished says, for each node, which subtasks' parts are the state they finished with
	// (op.FinalCheckpoint for Committers), which stands for them in every checkpoint
	// after they finished.
	Finished map[string][]bool
	// Parts holds each node's state, one entry per subtask (nil where a subtask keeps
	// none): a source's positions, an operator's state, a sink's pre-committed files.
	Parts map[string][][]byte
	// Watermarks holds, for each node that had one, the least watermark over its subtasks
	// when they took their part (milliseconds of event time): a window ending after it was
	// still open.
	Watermarks map[string]int64
}

// ack is a subtask's part of a checkpoint; final marks the state it finished with, which
// stands for it in every checkpoint from then on.
type ack struct {
	node      *Node
	sub       int
	id        uint64
	state     []byte
	groups    [][]byte // by key group, instead of state, for a node snapshotted by key group
	watermark int64    // the subtask's, when it took its part
	final     bool
}

// commitSignal tells a subtask the latest durable checkpoint.
type commitSignal struct {
	id     atomic.Uint64
	notify chan struct{}
}

// ready is closed-over by select: it yields when a newer checkpoint is durable. A nil
// signal (checkpointing off) never yields.
func (c *commitSignal) ready() <-chan struct{} {
	if c == nil {
		return nil
	}
	return c.notify
}

func (c *commitSignal) latest() uint64 {
	if c == nil {
		return 0
	}
	return c.id.Load()
}

func (c *commitSignal) set(id uint64) {
	c.id.Store(id)
	select {
	case c.notify <- struct{}{}:
	default: // a signal is pending; the reader will load the newest id
	}
}

// coordinator triggers checkpoints, gathers the subtasks' parts and completes them.
type coordinator struct {
	r        *run
	cfg      Checkpointing
	acks     chan ack
	triggers map[*Node][]chan uint64
	commits  map[*Node][]*commitSignal
	subtasks int

	next     uint64
	inflight *Snapshot
	missing  int               // subtasks yet to ack the checkpoint in flight
	acked    map[*Node][]bool  // which have, for the checkpoint in flight
	finals   map[*Node][]ack   // each subtask's final part
	wms      map[*Node][]int64 // each subtask's watermark, for the checkpoint in flight
	finished map[*Node][]bool
	done     int // subtasks finished
	// byGroup holds the nodes that take their parts by key group (Checkpointing.ByKeyGroup).
	byGroup map[*Node]bool
	// bundles holds, for nodes whose state the run resumes from is given to subtasks as
	// several parts (see rescaled), each subtask's parts.
	bundles map[*Node][][][]byte
}

func newCoordinator(r *run, cfg Checkpointing) (*coordinator, error) {
	if cfg.Interval <= 0 {
		return nil, fmt.Errorf("engine: checkpoint interval %s: want a positive duration", cfg.Interval)
	}
	c := &coordinator{r: r, cfg: cfg, triggers: map[*Node][]chan uint64{}, commits: map[*Node][]*commitSignal{},
		acked: map[*Node][]bool{}, finals: map[*Node][]ack{}, wms: map[*Node][]int64{}, finished: map[*Node][]bool{}, next: 1,
		byGroup: map[*Node]bool{}}
	for _, n := range r.g.Nodes {
		c.subtasks += n.Parallelism
		c.acked[n] = make([]bool, n.Parallelism)
		c.finals[n] = make([]ack, n.Parallelism)
		c.wms[n] = make([]int64, n.Parallelism)
		c.finished[n] = make([]bool, n.Parallelism)
		if n.Source != nil {
			if !n.Source.Capabilities().Resumable {
				return nil, fmt.Errorf("engine: source %q cannot resume from a checkpoint; run without checkpoints", n.Name)
			}
			for range n.Parallelism {
				c.triggers[n] = append(c.triggers[n], make(chan uint64, 1))
			}
		}
		for range n.Parallelism {
			c.commits[n] = append(c.commits[n], &commitSignal{notify: make(chan struct{}, 1)})
		}
		if cfg.ByKeyGroup {
			by, err := snapshotsByKeyGroup(r.g, n)
			if err != nil {
				return nil, err
			}
			c.byGroup[n] = by
		}
	}
	if s := cfg.Restore; s != nil {
		c.next = s.ID + 1
		rs, bundles, err := rescaled(r.g, s)
		if err != nil {
			return nil, err
		}
		c.cfg.Restore, c.bundles = rs, bundles
	}
	c.acks = make(chan ack, 2*c.subtasks)
	return c, nil
}

// restored is the state subtask sub of n resumes from, if the run resumes.
func (c *coordinator) restored(n *Node, sub int) ([]byte, bool) {
	if c == nil || c.cfg.Restore == nil || c.bundles[n] != nil {
		return nil, false
	}
	parts, ok := c.cfg.Restore.Parts[n.Name]
	if !ok || parts[sub] == nil {
		return nil, false
	}
	return parts[sub], true
}

// restoredParts is the parts subtask sub of n resumes from, when the run gives n's
// subtasks several parts each (see rescaled); nil otherwise.
func (c *coordinator) restoredParts(n *Node, sub int) [][]byte {
	if c == nil || c.bundles[n] == nil {
		return nil
	}
	return c.bundles[n][sub]
}

// parts is the number of parts node n takes in a checkpoint: one per key group when it
// takes them by key group, else one per subtask.
func (c *coordinator) parts(n *Node) int {
	if c.byGroup[n] {
		return c.r.g.KeyGroups
	}
	return n.Parallelism
}

// trigger is the channel on which source subtask sub of n hears of checkpoints to take.
func (c *coordinator) trigger(n *Node, sub int) <-chan uint64 {
	if c == nil {
		return nil
	}
	return c.triggers[n][sub]
}

func (c *coordinator) commitSignal(n *Node, sub int) *commitSignal {
	if c == nil {
		return nil
	}
	return c.commits[n][sub]
}

// ack hands the coordinator a subtask's part. It never blocks: the channel holds two acks
// per subtask, and a subtask has at most one checkpoint and its final state outstanding.
func (c *coordinator) ack(a ack) {
	if c != nil {
		c.acks <- a
	}
}

// run triggers a checkpoint every interval while none is in flight, and completes each
// once every subtask has acked it. It returns after the final checkpoint, or with the
// run's end.
func (c *coordinator) run(ctx context.Context) error {
	tick := time.NewTicker(c.cfg.Interval)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			c.start()
		case a := <-c.acks:
			if err := c.take(a); err != nil {
				return err
			}
			if c.done == c.subtasks {
				return c.final()
			}
		case <-ctx.Done():
			return nil
		}
	}
}

// start triggers the next checkpoint at every source subtask still reading.
func (c *coordinator) start() {
	if c.inflight != nil || c.r.readCtx.Err() != nil {
		return
	}
	reading := false
	for n, subs := range c.triggers {
		for sub := range subs {
			reading = reading || !c.finished[n][sub]
		}
	}
	if !reading {
		return // every source has ended: the final checkpoint follows
	}
	id := c.next
	c.next++
	c.inflight = &Snapshot{ID: id, Taken: time.Now(), Parts: map[string][][]byte{}, Finished: map[string][]bool{}}
	c.missing = c.subtasks
	for n, flags := range c.acked {
		clear(flags)
		c.inflight.Parts[n.Name] = make([][]byte, c.parts(n))
		c.inflight.Finished[n.Name] = make([]bool, n.Parallelism)
		for sub, fin := range c.finished[n] {
			if fin {
				c.fill(c.finals[n][sub])
			}
		}
	}
	for n, subs := range c.triggers {
		for sub, ch := range subs {
			if !c.finished[n][sub] {
				ch <- id // cap 1, and only one checkpoint is ever in flight
			}
		}
	}
	if c.r.mem != nil {
		c.r.mem.kick() // a source paused for the memory budget goes on to its barrier
	}
}

// take records an ack and completes the checkpoint in flight when it was the last part.
func (c *coordinator) take(a ack) error {
	if a.final {
		c.finished[a.node][a.sub] = true
		c.finals[a.node][a.sub] = a
		c.done++
		if c.inflight != nil && !c.acked[a.node][a.sub] {
			c.fill(a)
		}
	} else if c.inflight != nil && a.id == c.inflight.ID {
		c.fill(a)
	}
	if c.inflight == nil || c.missing > 0 {
		return nil
	}
	s := c.inflight
	c.inflight = nil
	s.Watermarks = leastWatermarks(c.wms)
	if err := c.complete(s); err != nil {
		c.r.opts.Log.Error("checkpoint failed; the next one will try again", "checkpoint", s.ID, "err", err)
		return nil
	}
	c.committed(s.ID)
	return nil
}

func (c *coordinator) fill(a ack) {
	if c.acked[a.node][a.sub] {
		return
	}
	c.acked[a.node][a.sub] = true
	putPart(c.inflight.Parts[a.node.Name], a)
	c.inflight.Finished[a.node.Name][a.sub] = a.final
	c.wms[a.node][a.sub] = a.watermark
	c.missing--
}

// putPart puts a subtask's part among a node's parts of a checkpoint: its state at its
// index, or its key groups' states at theirs.
func putPart(parts [][]byte, a ack) {
	if a.groups == nil {
		parts[a.sub] = a.state
		return
	}
	for kg, b := range a.groups {
		if b != nil {
			parts[kg] = b
		}
	}
}

// leastWatermarks is, for each node whose subtasks all had a watermark, the least of them.
func leastWatermarks(wms map[*Node][]int64) map[string]int64 {
	out := map[string]int64{}
	for n, subs := range wms {
		least := slices.Min(subs)
		if least > op.MinWatermark {
			out[n.Name] = least
		}
	}
	return out
}

// final completes the checkpoint of everyone's final state and lets Committers publish.
func (c *coordinator) final() error {
	s := &Snapshot{ID: c.next, Taken: time.Now(), Parts: map[string][][]byte{},
		Final: c.r.readCtx.Err() == nil, Last: true, Finished: map[string][]bool{}}
	c.next++
	wms := map[*Node][]int64{}
	for n, finals := range c.finals {
		s.Parts[n.Name] = make([][]byte, c.parts(n))
		s.Finished[n.Name] = slices.Repeat([]bool{true}, len(finals))
		wms[n] = make([]int64, len(finals))
		for sub, a := range finals {
			putPart(s.Parts[n.Name], a)
			wms[n][sub] = a.watermark
		}
	}
	s.Watermarks = leastWatermarks(wms)
	if err := c.complete(s); err != nil {
		return fmt.Errorf("final checkpoint %d: %w", s.ID, err)
	}
	c.committed(op.FinalCheckpoint)
	return nil
}

// complete makes s durable and counts how it went.
func (c *coordinator) complete(s *Snapshot) error {
	err := c.cfg.Complete(s)
	c.r.checkpoints.record(s, err, time.Since(s.Taken))
	return err
}

// committed tells every subtask that checkpoint id is durable.
func (c *coordinator) committed(id uint64) {
	for _, subs := range c.commits {
		for _, s := range subs {
			s.set(id)
		}
	}
}
