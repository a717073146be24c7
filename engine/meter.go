package engine

import (
	"time"

	"millrace/op"
)

// stateSampleEvery is how often a subtask asks its operator for the size of its state.
const stateSampleEvery = time.Second

// meter times one subtask's loop: between handling messages it waits (idle), handling them
// it is busy. One clock reading per message serves both; state size is sampled on the way.
type meter struct {
	stats    *NodeStats
	stateful op.Stateful // nil if the operator keeps no state
	off      bool
	last     time.Time // when the subtask last started or stopped waiting
	sampled  time.Time // when the state size was last sampled
}

func newMeter(stats *NodeStats, o op.Operator, off bool) *meter {
	m := &meter{stats: stats, off: off}
	m.stateful, _ = o.(op.Stateful)
	if !off {
		m.last = time.Now()
	}
	return m
}

// received ends a wait: a message has arrived.
func (m *meter) received() {
	if m.off {
		return
	}
	now := time.Now()
	m.stats.IdleNanos.Add(int64(now.Sub(m.last)))
	m.last = now
}

// wait counts d of the time since the last reading as spent waiting, not working: a source
// that waited inside Read.
func (m *meter) wait(d time.Duration) {
	if m.off || d <= 0 {
		return
	}
	d = min(d, time.Since(m.last)) // a clock of its own may run faster than ours
	m.stats.IdleNanos.Add(int64(d))
	m.last = m.last.Add(d)
}

// handled ends the handling of a message.
func (m *meter) handled() {
	if m.off {
		return
	}
	now := time.Now()
	m.stats.BusyNanos.Add(int64(now.Sub(m.last)))
	m.last = now
	if m.stateful != nil && now.Sub(m.sampled) >= stateSampleEvery {
		m.stats.StateBytes.Store(m.stateful.StateBytes())
		m.sampled = now
	}
}

// marker records the latency of a marker sent at sent (ns since the epoch).
func (m *meter) marker(sent int64) {
	m.stats.Latency.observe(time.Duration(time.Now().UnixNano() - sent))
}
