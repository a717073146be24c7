package engine

import (
	"sync"
	"time"

	"millrace/format"
)

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

// attach makes the monitor watch r, which may follow another run (a restart, a rescale).
func (m *Monitor) attach(r *run, start time.Time) {
	m.mu.Lock()
	m.run, m.start, m.final = r, start, nil
	m.mu.Unlock()
}

func (m *Monitor) finish(st *Stats) {
	m.mu.Lock()
	m.final, m.run = st, nil
	m.mu.Unlock()
}
