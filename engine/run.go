package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"millrace/heavy"
	"millrace/op"
	"millrace/take"
)

// Options tunes a run.
type Options struct {
	// Stop, when closed, ends the run gracefully: sources stop reading and end their streams
	// without a final watermark, so open windows do not fire on partial data, and every
	// operator finishes (sinks publish what they wrote).
	Stop <-chan struct{}
	// Progress, when set, receives a snapshot of the figures every ProgressEvery (default 1s)
	// while the run goes on.
	Progress      func(*Stats)
	ProgressEvery time.Duration
	// Now is the clock of idle timeouts (default time.Now).
	Now func() time.Time
	// Monitor, when set, serves the run's figures to other goroutines while it runs.
	Monitor *Monitor
	// ChannelCapacity is how many messages an input channel holds before senders block
	// (default 4; at most boundedSourceCapacity for a step that only bounded sources feed).
	// A checkpoint barrier waits behind what the channels hold, so deep channels under
	// backpressure make checkpoints slow; batches of thousands of rows keep throughput with
	// few of them.
	ChannelCapacity int
	// Checkpointing, when set, makes the run take checkpoints and, with Restore, resume
	// from one.
	Checkpointing *Checkpointing
	// Unmeasured turns off the timing of subtasks, the latency markers and the hot-key
	// sketches (rows are still counted: the ledger needs them). It exists to benchmark what
	// the measurement costs; leave it off.
	Unmeasured bool
	// MemoryBudget, when positive, bounds the bytes of operator state the run holds (see
	// budget.go): sources ahead of the others pause above three quarters of it, and the run
	// stops with a *BudgetError above it. MemoryPaused, when set, is told each time a source
	// subtask starts such a pause, with the state then. MemoryHeapLimit, when positive,
	// makes those sources pause too while the live Go heap is above it.
	MemoryBudget    int64
	MemoryHeapLimit int64
	MemoryPaused    func(node string, subtask int, stateBytes int64)
	Mem             memory.Allocator
	Log             *slog.Logger
}

// boundedSourceCapacity is the capacity of the input channels of a step that only bounded
// sources feed. Such a source reads when it is asked, never in bursts that a deeper channel
// would have to absorb, so one batch queued keeps the step busy; more only hold memory (the
// scan of a Parquet file peaked about 13 MiB lower at 1 than at 4, for the same processor
// time).
const boundedSourceCapacity = 1

// fedByBoundedSources tells whether every input of n comes straight from a bounded source.
func (g *Graph) fedByBoundedSources(n *Node) bool {
	fed := false
	for _, e := range g.Edges {
		if e.To != n {
			continue
		}
		if e.From.Source == nil || !e.From.Source.Capabilities().Bounded {
			return false
		}
		fed = true
	}
	return fed
}

// DefaultOptions returns the options a run uses unless told otherwise.
func DefaultOptions() Options {
	return Options{ChannelCapacity: 4, Mem: memory.DefaultAllocator, Log: slog.New(slog.DiscardHandler), Now: time.Now}
}

// envelope is a message on a subtask's input channel, tagged with the upstream channel it
// came from.
type envelope struct {
	from int
	msg  op.Message
}

// run is one execution of a graph.
type run struct {
	g    *Graph
	opts Options
	ctx  context.Context
	// readCtx ends when the run stops gracefully: sources read with it.
	readCtx     context.Context
	subtasks    sync.WaitGroup
	inbox       map[*Node][]chan envelope
	chans       map[*Node]int          // upstream channels per subtask of each operator node
	chanID      map[*Edge]int          // first channel id of an edge's upstream subtasks
	stats       map[*Node][]*NodeStats // counters per subtask of each node
	outs        map[*Node][]*Edge      // edges leaving each node
	sketches    map[*Edge][]*keySketch // hot-key sketches of hash edges, per upstream subtask
	coord       *coordinator           // nil without checkpoints
	mem         *memoryGuard           // nil without a memory budget
	checkpoints checkpointCounts
}

// markerEvery is how often a source subtask sends a latency marker.
const markerEvery = 100 * time.Millisecond

// Run executes g until every source has ended and every operator has finished, or until
// ctx is done or a subtask fails. It returns the first error, with the node and subtask
// that raised it.
func Run(ctx context.Context, g *Graph, opts Options) (*Stats, error) {
	if err := g.validate(); err != nil {
		return nil, err
	}
	if opts.ChannelCapacity <= 0 {
		opts.ChannelCapacity = DefaultOptions().ChannelCapacity
	}
	if opts.Mem == nil {
		opts.Mem = memory.DefaultAllocator
	}
	if opts.Log == nil {
		opts.Log = DefaultOptions().Log
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	readCtx, stopReads := context.WithCancel(ctx)
	defer stopReads()
	if opts.Stop != nil {
		go func() {
			select {
			case <-opts.Stop:
				stopReads()
			case <-readCtx.Done():
			}
		}()
	}
	r := &run{g: g, opts: opts, ctx: ctx, readCtx: readCtx, inbox: map[*Node][]chan envelope{}, chans: map[*Node]int{},
		chanID: map[*Edge]int{}, stats: map[*Node][]*NodeStats{}, outs: map[*Node][]*Edge{}, sketches: map[*Edge][]*keySketch{}}
	for _, n := range g.Nodes {
		if n.Operator != nil {
			capacity := opts.ChannelCapacity
			if g.fedByBoundedSources(n) {
				capacity = min(capacity, boundedSourceCapacity)
			}
			chs := make([]chan envelope, n.Parallelism)
			for i := range chs {
				chs[i] = make(chan envelope, capacity)
			}
			r.inbox[n] = chs
		}
		for sub := range n.Parallelism {
			var inbox chan envelope
			if n.Operator != nil {
				inbox = r.inbox[n][sub]
			}
			r.stats[n] = append(r.stats[n], newNodeStats(n, sub, inbox))
		}
	}
	if opts.MemoryBudget > 0 {
		var sources []*NodeStats
		for _, n := range g.Nodes {
			if n.Source != nil && n.Watermarks.EventTime >= 0 { // only these fire windows
				sources = append(sources, r.stats[n]...)
			}
		}
		r.mem = newMemoryGuard(opts.MemoryBudget, opts.MemoryHeapLimit, sources, opts.MemoryPaused)
	}
	for _, e := range g.Edges {
		r.chanID[e] = r.chans[e.To]
		r.chans[e.To] += e.From.Parallelism
		r.outs[e.From] = append(r.outs[e.From], e)
		if e.Partitioning == Hash && !opts.Unmeasured {
			for range e.From.Parallelism {
				r.sketches[e] = append(r.sketches[e], &keySketch{sketch: heavy.New(keySketchSize)})
			}
		}
	}

	ops := map[*Node][]op.Operator{} // made before any subtask starts, so a bad step fails the run at once
	for _, n := range g.Nodes {
		if n.Operator == nil {
			continue
		}
		for s := range n.Parallelism {
			o, err := n.Operator(s)
			if err != nil {
				return nil, fmt.Errorf("%s[%d]: %w", n.Name, s, err)
			}
			ops[n] = append(ops[n], o)
		}
	}
	var wg sync.WaitGroup // the progress reporter and the checkpoint coordinator
	defer wg.Wait()
	var first atomic.Pointer[error]
	fail := func(err error) {
		if first.CompareAndSwap(nil, &err) {
			cancel(err)
		}
	}
	if cp := opts.Checkpointing; cp != nil {
		coord, err := newCoordinator(r, *cp)
		if err != nil {
			return nil, err
		}
		r.coord = coord
		wg.Go(func() {
			if err := coord.run(ctx); err != nil {
				fail(err)
			}
		})
	}
	start := time.Now()
	if opts.Monitor != nil {
		opts.Monitor.attach(r, start)
	}
	if opts.Progress != nil {
		every := opts.ProgressEvery
		if every <= 0 {
			every = time.Second
		}
		done := make(chan struct{})
		defer close(done)
		wg.Go(func() {
			t := time.NewTicker(every)
			defer t.Stop()
			for {
				select {
				case <-t.C:
					opts.Progress(r.snapshot(time.Since(start)))
				case <-done:
					return
				case <-ctx.Done():
					return
				}
			}
		})
	}
	for _, n := range g.Nodes {
		for s := range n.Parallelism {
			r.subtasks.Go(func() {
				var err error
				if n.Source != nil {
					err = r.runSource(n, s)
				} else {
					err = r.runOperator(n, s, ops[n][s])
				}
				if err != nil && !(errors.Is(err, context.Canceled) && first.Load() != nil) {
					fail(fmt.Errorf("%s[%d]: %w", n.Name, s, err))
				}
			})
		}
	}
	r.subtasks.Wait()
	stats := r.snapshot(time.Since(start))
	if opts.Monitor != nil {
		opts.Monitor.finish(stats)
	}
	if p := first.Load(); p != nil {
		return stats, *p
	}
	if err := ctx.Err(); err != nil {
		return stats, err
	}
	return stats, nil
}

// snapshot reads every node's figures.
func (r *run) snapshot(elapsed time.Duration) *Stats {
	st := &Stats{Taken: time.Now(), Elapsed: elapsed, Checkpoints: r.checkpoints.report()}
	for _, n := range r.g.Nodes {
		rep := nodeReport(r.stats[n])
		var sketches []*keySketch
		for _, e := range r.g.Edges {
			if e.To == n {
				sketches = append(sketches, r.sketches[e]...)
			}
		}
		rep.HotKeys = hotKeys(sketches, r.g.KeyGroups, n.Parallelism)
		st.Nodes = append(st.Nodes, rep)
	}
	return st
}

// output routes what one subtask emits on one port to the subtasks downstream.
type output struct {
	r      *run
	from   *Node
	sub    int
	port   int
	errs   bool // the error port of an operator: its rows count as Errors, not RowsOut
	stats  *NodeStats
	hashes []uint64
	next   int // round-robin position of data
	marker int // round-robin position of latency markers
}

// send puts a message on every edge leaving the output's port. Data is partitioned;
// signals go to every subtask that can receive from this one. A source's data first waits
// for the memory budget to admit it.
func (o *output) send(msg op.Message) error {
	if msg.Kind == op.Data && o.from.Source != nil && o.r.mem != nil {
		if err := o.r.mem.admit(o.r.ctx, o.r.readCtx, o.stats, o.r.coord.trigger(o.from, o.sub)); err != nil {
			msg.Batch.Release()
			return err
		}
	}
	if msg.Kind == op.Data && o.errs {
		o.stats.Errors.Add(msg.Batch.NumRows())
	} else if msg.Kind == op.Data {
		o.stats.RowsOut.Add(msg.Batch.NumRows())
		o.stats.BatchesOut.Add(1)
	}
	var edges []*Edge
	for _, e := range o.r.outs[o.from] {
		if e.FromPort == o.port {
			edges = append(edges, e)
		}
	}
	if msg.Kind == op.Data {
		if len(edges) == 0 {
			msg.Batch.Release() // no edge reads this port: the rows are counted and dropped
			return nil
		}
		for range len(edges) - 1 {
			msg.Batch.Retain() // each edge consumes one reference
		}
	}
	for i, e := range edges {
		if err := o.sendEdge(e, msg); err != nil {
			if msg.Kind == op.Data {
				for range len(edges) - 1 - i {
					msg.Batch.Release()
				}
			}
			return err
		}
	}
	return nil
}

func (o *output) sendEdge(e *Edge, msg op.Message) error {
	targets := o.r.inbox[e.To]
	id := o.r.chanID[e] + o.sub
	if msg.Kind != op.Data {
		if e.Partitioning == Forward {
			return o.put(targets[o.sub], envelope{id, msg})
		}
		if msg.Kind == op.Marker { // one sample of the path is enough: markers do not multiply
			o.marker = (o.marker + 1) % len(targets)
			return o.put(targets[o.marker], envelope{id, msg})
		}
		for _, t := range targets {
			if err := o.put(t, envelope{id, msg}); err != nil {
				return err
			}
		}
		return nil
	}
	rec := msg.Batch
	switch e.Partitioning {
	case Forward:
		return o.put(targets[o.sub], envelope{id, op.Message{Kind: op.Data, Batch: rec}})
	case Rebalance:
		o.next = (o.next + 1) % len(targets)
		return o.put(targets[o.next], envelope{id, op.Message{Kind: op.Data, Batch: rec}})
	case Broadcast:
		for range len(targets) - 1 {
			rec.Retain()
		}
		for i, t := range targets {
			if err := o.put(t, envelope{id, op.Message{Kind: op.Data, Batch: rec}}); err != nil {
				for range len(targets) - 1 - i {
					rec.Release()
				}
				return err
			}
		}
		return nil
	}
	return o.sendHashed(e, id, rec)
}

// sendHashed splits rec by the key group owner of each row.
func (o *output) sendHashed(e *Edge, id int, rec arrow.RecordBatch) error {
	defer rec.Release()
	targets := o.r.inbox[e.To]
	key := make([]int, len(e.Key))
	for i, name := range e.Key {
		idx := rec.Schema().FieldIndices(name)
		if len(idx) == 0 {
			return fmt.Errorf("hash edge to %q: no key column %q", e.To.Name, name)
		}
		key[i] = idx[0]
	}
	n := int(rec.NumRows())
	if cap(o.hashes) < n {
		o.hashes = make([]uint64, n)
	}
	hashes := o.hashes[:n]
	if err := HashRows(rec, key, hashes); err != nil {
		return err
	}
	if sk := o.r.sketches[e]; sk != nil {
		sk[o.sub].sample(rec, key, hashes)
	}
	rows := make([][]int32, len(targets))
	for i, h := range hashes {
		t := KeyGroupOwner(KeyGroup(h, o.r.g.KeyGroups), o.r.g.KeyGroups, len(targets))
		rows[t] = append(rows[t], int32(i))
	}
	for t, idx := range rows {
		if len(idx) == 0 {
			continue
		}
		var part arrow.RecordBatch
		if len(idx) == n {
			rec.Retain()
			part = rec
		} else {
			var err error
			if part, err = take.Rows(rec, idx); err != nil {
				return fmt.Errorf("hash edge to %q: %w", e.To.Name, err)
			}
		}
		if err := o.put(targets[t], envelope{id, op.Message{Kind: op.Data, Batch: part}}); err != nil {
			return err
		}
	}
	return nil
}

// put blocks until ch takes env, measuring the time blocked as backpressure.
func (o *output) put(ch chan envelope, env envelope) error {
	select {
	case ch <- env:
		return nil
	default:
	}
	start := time.Now()
	select {
	case ch <- env:
		o.stats.BackpressureNanos.Add(time.Since(start).Nanoseconds())
		return nil
	case <-o.r.ctx.Done():
		if env.msg.Kind == op.Data {
			env.msg.Batch.Release()
		}
		return context.Cause(o.r.ctx)
	}
}

// collector hands an operator's output to its main port.
type collector struct{ out *output }

func (c collector) Collect(rec arrow.RecordBatch) error {
	if rec.NumRows() == 0 {
		rec.Release()
		return nil
	}
	return c.out.send(op.Message{Kind: op.Data, Batch: rec})
}

func (r *run) output(n *Node, sub, port int) *output {
	return &output{r: r, from: n, sub: sub, port: port, errs: n.Source == nil && port == ErrorPort, stats: r.stats[n][sub]}
}

// drain releases the batches left in a failed subtask's inbox.
func (r *run) drain(n *Node, sub int) {
	for {
		select {
		case env := <-r.inbox[n][sub]:
			if env.msg.Kind == op.Data {
				env.msg.Batch.Release()
			}
		default:
			return
		}
	}
}
