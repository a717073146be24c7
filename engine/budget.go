package engine

import (
	"context"
	"fmt"
	"runtime/metrics"
	"sync"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"

	"millrace/dictcode"
	"millrace/memlimit"
)

// A memory budget (Options.MemoryBudget) bounds the operator state a run holds.
//
// Every stateful operator subtask reports the size of its state (op.Stateful.StateBytes)
// after each message it handles, and the guard keeps the sum. When a source subtask is about
// to send rows while the sum is above the high-water mark (highWater of the budget), it
// waits, unless its own watermark is the least of the run's sources: windows fire only as
// the least watermark moves, so the source holding it back reads on, and the ones ahead wait
// for its windows to fire and the state to fall. When the sum goes above the budget itself,
// backpressure did not help, and the run stops with a BudgetError naming the step that holds
// the most. With Options.MemoryHeapLimit, sources ahead also pause while the live Go heap
// (as the last collection measured it) is above that limit, whatever holds it.

// highWater is the share of the budget above which sources ahead of the others pause.
const highWater = 0.75

// BudgetError is how a run stops when its operator state outgrows Options.MemoryBudget.
type BudgetError struct {
	// Step is the step holding the most state, and StepBytes what it holds; StateBytes is the
	// state of every step together.
	Step                  string
	StepBytes, StateBytes int64
	Budget                int64
}

func (e *BudgetError) Error() string {
	all := ""
	if e.StateBytes > e.StepBytes {
		all = fmt.Sprintf(" (%s over all steps)", memlimit.Format(e.StateBytes))
	}
	return fmt.Sprintf("step %s holds %s of state%s, above --memory-budget %s: raise it, shorten the window, or add parallelism",
		e.Step, memlimit.Format(e.StepBytes), all, memlimit.Format(e.Budget))
}

// memoryGuard keeps the state of a run within its budget; see above.
type memoryGuard struct {
	budget, high int64
	heapLimit    int64        // 0: the heap is not watched
	state        atomic.Int64 // the state of every stateful subtask
	sources      []*NodeStats // every source subtask, for their watermarks
	// paused, when set, is told when a source subtask starts waiting.
	paused func(node string, subtask int, state int64)

	waiters atomic.Int32
	mu      sync.Mutex
	wake    chan struct{} // closed, and replaced, when what the waiters wait on may have changed
}

func newMemoryGuard(budget, heapLimit int64, sources []*NodeStats, paused func(string, int, int64)) *memoryGuard {
	return &memoryGuard{budget: budget, high: int64(float64(budget) * highWater), heapLimit: heapLimit,
		sources: sources, paused: paused, wake: make(chan struct{})}
}

// mustWait decides whether a source subtask waits before sending rows: when it is ahead of
// the least watermark (holding it back, it must read on) and the state is above the
// high-water mark or the live heap above its limit (heapLimit 0: not watched).
func mustWait(state, high, heap, heapLimit int64, holdsWatermark bool) bool {
	return !holdsWatermark && (state > high || heapLimit > 0 && heap > heapLimit)
}

// liveHeap returns the bytes of heap the last garbage collection found live, or 0 when
// the heap is not watched.
func (g *memoryGuard) liveHeap() int64 {
	if g.heapLimit <= 0 {
		return 0
	}
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return int64(s[0].Value.Uint64())
}

// admit returns when the source subtask src may send rows: at once while the state is at or
// under the high-water mark or src holds the least watermark, else when that changes, when
// a checkpoint waits on trigger for src (its barrier must pass: the steps aligning on it
// hold back the other sources' rows, and with them the watermark), or when reads stop
// (readCtx done). It counts each wait in src's MemoryPauses.
func (g *memoryGuard) admit(ctx, readCtx context.Context, src *NodeStats, trigger <-chan uint64) error {
	counted := false
	for {
		g.waiters.Add(1) // before reading the state, so that a change after it wakes this wait
		g.mu.Lock()
		wake := g.wake
		g.mu.Unlock()
		state := g.state.Load()
		if len(trigger) > 0 || !mustWait(state, g.high, g.liveHeap(), g.heapLimit, g.holdsWatermark(src)) {
			g.waiters.Add(-1)
			return nil
		}
		if !counted {
			counted = true
			src.MemoryPauses.Add(1)
			if g.paused != nil {
				g.paused(src.Name, src.Subtask, state)
			}
		}
		select {
		case <-wake:
			g.waiters.Add(-1)
		case <-readCtx.Done():
			g.waiters.Add(-1)
			return context.Cause(ctx) // nil unless the whole run ends
		}
	}
}

// holdsWatermark reports whether src's watermark is the least of the run's sources.
func (g *memoryGuard) holdsWatermark(src *NodeStats) bool {
	wm := src.Watermark.Load()
	for _, s := range g.sources {
		if s.Watermark.Load() < wm {
			return false
		}
	}
	return true
}

// handled takes a subtask's state size after it handled a message (prev is the size it
// reported before) and wakes waiting sources. It returns the new total.
func (g *memoryGuard) handled(prev, now int64) int64 {
	total := g.state.Add(now - prev)
	g.kick()
	return total
}

// kick wakes the waiting sources to look again.
func (g *memoryGuard) kick() {
	if g.waiters.Load() == 0 {
		return
	}
	g.mu.Lock()
	close(g.wake)
	g.wake = make(chan struct{})
	g.mu.Unlock()
}

// overBudget builds the error for a run whose state is total: it names the step whose
// subtasks hold the most.
func (r *run) overBudget(total int64) *BudgetError {
	e := &BudgetError{StateBytes: total, Budget: r.mem.budget}
	for _, n := range r.g.Nodes {
		var held int64
		for _, s := range r.stats[n] {
			held += s.StateBytes.Load()
		}
		if held > e.StepBytes {
			e.Step, e.StepBytes = n.Name, held
		}
	}
	return e
}

// batchBytes is the memory of a batch's buffers.
func batchBytes(rec arrow.RecordBatch) int64 {
	var n int64
	for _, c := range rec.Columns() {
		n += arrayBytes(c.Data())
	}
	return n
}

func arrayBytes(d arrow.ArrayData) int64 {
	var n int64
	for _, b := range d.Buffers() {
		if b != nil {
			n += int64(b.Len())
		}
	}
	for _, c := range d.Children() {
		n += arrayBytes(c)
	}
	if d.DataType().ID() == arrow.DICTIONARY {
		n += arrayBytes(d.Dictionary())
	}
	return n + int64(dictcode.Bytes(d))
}
