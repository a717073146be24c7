package engine

import (
	"context"
	"errors"
	"fmt"

	"millrace/op"
)

// operatorTask runs one subtask of an operator node: it merges its input channels, tracks
// their watermarks, aligns checkpoint barriers and calls the operator.
type operatorTask struct {
	r     *run
	n     *Node
	sub   int
	o     op.Operator
	stats *NodeStats
	out   *output
	errs  *output // the error port
	coll  collector
	meter *meter
	// state is the size of the operator's state after the last message, when the run has a
	// memory budget and the operator keeps state.
	state    int64
	stateful op.Stateful

	input   []int   // channel -> operator input index
	wms     []int64 // channel -> its watermark
	ended   []bool  // channel -> it has ended (or never sends to this subtask)
	live    int     // channels not ended
	current int64   // the watermark passed to the operator
	sent    int64   // the watermark passed downstream: current, or less while the operator holds it

	// Barrier alignment: while checkpoint aligning is under way, channels that delivered
	// its barrier are blocked and what they send next waits in held.
	aligning uint64
	blocked  []bool
	arrived  int
	held     []envelope
	// encoding is the checkpoint part being encoded off the subtask's goroutine, if any
	// (see capture.go).
	encoding *encoding
}

// runOperator runs subtask sub of an operator node until all its inputs have ended.
func (r *run) runOperator(n *Node, sub int, o op.Operator) error {
	t := &operatorTask{r: r, n: n, sub: sub, o: o, stats: r.stats[n][sub], current: op.MinWatermark, sent: op.MinWatermark}
	t.out, t.errs = r.output(n, sub, MainPort), r.output(n, sub, ErrorPort)
	t.coll = collector{t.out}
	t.stateful, _ = t.o.(op.Stateful)
	ctx := op.Context{Node: n.Name, Subtask: sub, Parallelism: n.Parallelism, Mem: r.opts.Mem, Log: r.opts.Log,
		Checkpointing: r.coord != nil, Errors: collector{t.errs}}
	if !r.opts.Unmeasured {
		ctx.Hold = holdMeter{&t.stats.Hold}
	}
	if err := t.o.Open(ctx); err != nil {
		return fmt.Errorf("open: %w", errors.Join(err, t.o.Close()))
	}
	err := t.restore()
	if err == nil {
		err = t.loop()
	}
	t.abandonEncoding() // after a failure; a loop that ended well has acked its parts
	t.count()
	if st, ok := t.o.(op.Stateful); ok {
		t.stats.StateBytes.Store(st.StateBytes())
	}
	if cerr := t.o.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("close: %w", cerr)
	}
	if err != nil {
		r.drain(n, sub)
	}
	return err
}

// restore loads the operator's state from the checkpoint the run resumes from.
func (t *operatorTask) restore() error {
	if parts := t.r.coord.restoredParts(t.n, t.sub); parts != nil {
		if err := t.o.(op.PartsRestorer).RestoreParts(parts); err != nil {
			return fmt.Errorf("restore from checkpoint %d: %w", t.r.coord.cfg.Restore.ID, err)
		}
		return nil
	}
	state, ok := t.r.coord.restored(t.n, t.sub)
	if !ok {
		return nil
	}
	s, isSnap := t.o.(op.Snapshotter)
	if !isSnap {
		return nil
	}
	if err := s.Restore(state); err != nil {
		return fmt.Errorf("restore from checkpoint %d: %w", t.r.coord.cfg.Restore.ID, err)
	}
	return nil
}

func (t *operatorTask) loop() error {
	r, n := t.r, t.n
	nch := r.chans[n]
	t.wms, t.ended, t.input, t.blocked = make([]int64, nch), make([]bool, nch), make([]int, nch), make([]bool, nch)
	for _, e := range r.g.Edges {
		if e.To != n {
			continue
		}
		for u := range e.From.Parallelism {
			id := r.chanID[e] + u
			t.input[id] = e.Input
			t.wms[id] = op.MinWatermark
			if e.Partitioning == Forward && u != t.sub {
				t.ended[id] = true // a forward edge only ever sends from the same index
				t.wms[id] = op.MaxWatermark
				continue
			}
			t.live++
		}
	}
	inbox := r.inbox[n][t.sub]
	commits := r.coord.commitSignal(n, t.sub)
	t.meter = newMeter(t.stats, t.o, r.opts.Unmeasured)
	for t.live > 0 {
		var env envelope
		select {
		case env = <-inbox:
		case res := <-t.encodedChan():
			if err := t.finishEncoding(res); err != nil {
				return err
			}
			continue
		case <-commits.ready():
			if err := t.commit(commits.latest()); err != nil {
				return err
			}
			continue
		case <-r.ctx.Done():
			return context.Cause(r.ctx)
		}
		t.meter.received()
		if err := t.handle(env); err != nil {
			return err
		}
		if err := t.account(); err != nil {
			return err
		}
		t.meter.handled()
	}
	// A bounded input sent the final watermark before it ended; an input stopped early did
	// not, and its open windows stay unfired.
	if err := t.o.Finish(t.coll); err != nil {
		return fmt.Errorf("finish: %w", err)
	}
	if err := t.signal(op.Message{Kind: op.EndOfData}); err != nil {
		return err
	}
	return t.finishCheckpoints(commits)
}

// account reports the operator's state, and the batches it holds back, to the run's memory
// budget after a message, and fails when the run's state is above the budget.
func (t *operatorTask) account() error {
	g := t.r.mem
	if g == nil {
		return nil
	}
	prev := t.state
	t.state = 0
	if t.stateful != nil {
		t.state = t.stateful.StateBytes()
		t.stats.StateBytes.Store(t.state)
	}
	// Batches held back while a barrier aligns are state too, until they are handled: a
	// source whose rows pile up there must pause like one whose rows fill windows.
	for _, env := range t.held {
		if env.msg.Kind == op.Data {
			t.state += batchBytes(env.msg.Batch)
		}
	}
	if total := g.handled(prev, t.state); total > g.budget {
		return t.r.overBudget(total)
	}
	return nil
}

// handle dispatches one message, or holds it back while its channel is blocked by barrier
// alignment.
func (t *operatorTask) handle(env envelope) error {
	if t.blocked[env.from] {
		t.held = append(t.held, env)
		return nil
	}
	switch env.msg.Kind {
	case op.Data:
		t.stats.RowsIn.Add(env.msg.Batch.NumRows())
		t.stats.BatchesIn.Add(1)
		if err := t.o.Process(t.input[env.from], env.msg.Batch, t.coll); err != nil {
			return err
		}
		t.count() // live, for metrics and the dashboard
	case op.Watermark:
		if env.msg.Watermark > t.wms[env.from] {
			t.wms[env.from] = env.msg.Watermark
			return t.advance()
		}
	case op.EndOfData:
		t.ended[env.from] = true
		t.live--
		if t.aligning != 0 && t.arrived == t.live {
			return t.aligned()
		}
		if t.live > 0 {
			return t.advance()
		}
	case op.Marker:
		t.meter.marker(env.msg.Sent)
		return t.signal(env.msg)
	case op.Barrier:
		return t.barrier(env)
	}
	return nil
}

// advance passes the least watermark over the inputs to the operator when it moved. An
// input that ended sent the final watermark first, and holds nothing back; one stopped early
// did not, and holds the watermark where it stopped: its rows after that come in the run that
// resumes, and their windows must still be open then.
func (t *operatorTask) advance() error {
	m := int64(op.MaxWatermark)
	for _, w := range t.wms {
		m = min(m, w)
	}
	if m <= t.current {
		return nil
	}
	t.current = m
	t.stats.Watermark.Store(m)
	if err := t.o.OnWatermark(m, t.coll); err != nil {
		return fmt.Errorf("watermark %d: %w", m, err)
	}
	if h, ok := t.o.(op.WatermarkHolder); ok {
		m = min(m, h.HeldWatermark())
	}
	if m <= t.sent {
		return nil
	}
	t.sent = m
	return t.signal(op.Message{Kind: op.Watermark, Watermark: m})
}

// barrier notes a checkpoint barrier from one channel and blocks the channel until the
// barrier has come on every live one.
func (t *operatorTask) barrier(env envelope) error {
	id := env.msg.Checkpoint
	switch {
	case t.aligning == 0:
		t.aligning, t.arrived = id, 0
	case id != t.aligning:
		return fmt.Errorf("barrier of checkpoint %d while aligning %d", id, t.aligning)
	}
	t.blocked[env.from] = true
	t.arrived++
	if t.arrived == t.live {
		return t.aligned()
	}
	return nil
}

// aligned has the operator hand on what it holds back (op.Flusher), takes its part of the
// checkpoint, passes the barrier on, and lets the held messages through.
func (t *operatorTask) aligned() error {
	id := t.aligning
	if f, ok := t.o.(op.Flusher); ok {
		if err := f.Flush(t.coll); err != nil {
			return fmt.Errorf("flush for checkpoint %d: %w", id, err)
		}
	}
	if err := t.takePart(id); err != nil {
		return err
	}
	if err := t.signal(op.Message{Kind: op.Barrier, Checkpoint: id}); err != nil {
		return err
	}
	t.aligning = 0
	clear(t.blocked)
	held := t.held
	t.held = nil
	for i, env := range held {
		if err := t.handle(env); err != nil {
			for _, rest := range held[i+1:] {
				if rest.msg.Kind == op.Data {
					rest.msg.Batch.Release()
				}
			}
			return err
		}
	}
	return nil
}

// snapshot is the operator's state at checkpoint id: nil for an operator without state,
// and by key group (groups, one entry per key group) for a node that takes its parts so.
func (t *operatorTask) snapshot(id uint64) (state []byte, groups [][]byte, err error) {
	if t.r.coord.byGroup[t.n] {
		groups, err := t.snapshotGroups(id)
		if err != nil {
			return nil, nil, fmt.Errorf("snapshot for checkpoint %d by key group: %w", id, err)
		}
		return nil, groups, nil
	}
	s, ok := t.o.(op.Snapshotter)
	if !ok {
		return nil, nil, nil
	}
	if state, err = s.Snapshot(id); err != nil {
		return nil, nil, fmt.Errorf("snapshot for checkpoint %d: %w", id, err)
	}
	return state, nil, nil
}

// snapshotGroups is the operator's state at checkpoint id by key group; only the key groups
// the subtask owns may hold state.
func (t *operatorTask) snapshotGroups(id uint64) ([][]byte, error) {
	k := t.r.g.KeyGroups
	groups, err := t.o.(op.GroupSnapshotter).SnapshotGroups(id, k, KeyOwner(k, k))
	if err != nil {
		return nil, err
	}
	if len(groups) != k {
		return nil, fmt.Errorf("%d parts for %d key groups", len(groups), k)
	}
	lo, hi := KeyGroupRange(t.sub, k, t.n.Parallelism)
	for kg, b := range groups {
		if b != nil && (kg < lo || kg >= hi) {
			return nil, fmt.Errorf("state in key group %d, which subtask %d of %d does not own (it owns %d to %d)", kg, t.sub, t.n.Parallelism, lo, hi-1)
		}
	}
	return groups, nil
}

// commit tells a Committer that checkpoint id is durable.
func (t *operatorTask) commit(id uint64) error {
	c, ok := t.o.(op.Committer)
	if !ok || id == 0 {
		return nil
	}
	if err := c.Commit(id); err != nil {
		return fmt.Errorf("commit checkpoint %d: %w", id, err)
	}
	return nil
}

// finishCheckpoints hands the operator's final state to the coordinator and, for a
// Committer, waits for the final checkpoint to be durable and commits it.
func (t *operatorTask) finishCheckpoints(commits *commitSignal) error {
	if t.r.coord == nil {
		return nil
	}
	if err := t.settle(); err != nil {
		return err
	}
	state, groups, err := t.snapshot(op.FinalCheckpoint)
	if err != nil {
		return err
	}
	t.r.coord.ack(ack{node: t.n, sub: t.sub, state: state, groups: groups, watermark: t.current, final: true})
	if _, ok := t.o.(op.Committer); !ok {
		return nil
	}
	for commits.latest() != op.FinalCheckpoint {
		select {
		case <-commits.ready():
		case <-t.r.ctx.Done():
			return context.Cause(t.r.ctx)
		}
	}
	return t.commit(op.FinalCheckpoint)
}

// signal sends a signal on both outputs of the subtask.
func (t *operatorTask) signal(msg op.Message) error {
	if err := t.out.send(msg); err != nil {
		return err
	}
	return t.errs.send(msg)
}

// dropper is an operator that counts the rows it filtered out.
type dropper interface{ Dropped() int64 }

// duplicator is an operator that counts the rows it dropped as duplicates.
type duplicator interface{ Duplicates() int64 }

// count stores the operator's counts of rows dropped in the subtask's figures.
func (t *operatorTask) count() {
	if d, ok := t.o.(dropper); ok {
		t.stats.Dropped.Store(d.Dropped())
	}
	if d, ok := t.o.(duplicator); ok {
		t.stats.Duplicates.Store(d.Duplicates())
	}
}
