package observe

import (
	"sync"

	"millrace/engine"
)

// LoadWindow chooses the snapshot of a run that rates and shares are measured from, so that
// they cover the last loadWindow (5 s) or so: the first base is the start of the run, and
// the base moves to the newest snapshot once it is that old. A new run (a restart, a
// rescale, a rebalance) counts from zero, so its figures are measured from its start and
// never against the last run's. It is safe for concurrent use; the zero value is ready.
type LoadWindow struct {
	mu   sync.Mutex
	base *engine.Stats
}

// Base returns the snapshot to measure cur against and moves the window on.
func (w *LoadWindow) Base(cur *engine.Stats) *engine.Stats {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.base == nil || cur.Elapsed < w.base.Elapsed {
		w.base = &engine.Stats{}
	}
	base := w.base
	if cur.Elapsed-base.Elapsed >= loadWindow {
		w.base = cur
	}
	return base
}
