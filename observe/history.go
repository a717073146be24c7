package observe

import (
	"context"
	"sync"
	"time"
)

// historyKeep is how much history the server keeps for the dashboard's charts, as many
// samples as streamEvery makes in it.
const historyKeep = 5 * time.Minute

// Sample is one point of the dashboard's charts: at T (Unix seconds), the rows per second
// the sources read (Input) and the sinks took in (Output; the rows leaving the last steps
// when the plan has no sink), and the latency from ingest to the slowest of them, in
// milliseconds (null when no latency marker arrived).
type Sample struct {
	T      float64  `json:"t"`
	Input  float64  `json:"input"`
	Output float64  `json:"output"`
	P50    *float64 `json:"p50"`
	P99    *float64 `json:"p99"`
}

// sampleOf is the sample of topology t taken at now.
func sampleOf(t Topology, now time.Time) Sample {
	s := Sample{T: float64(now.UnixMilli()) / 1000}
	for _, n := range t.Nodes {
		if n.Kind == "source" {
			s.Input += n.InRate
		}
	}
	for _, n := range ends(t) {
		if n.Kind == "sink" {
			s.Output += n.InRate
		} else {
			s.Output += n.OutRate
		}
		s.P50 = worse(s.P50, n.LatencyP50)
		s.P99 = worse(s.P99, n.LatencyP99)
	}
	return s
}

// ends are the sinks of t, or the nodes no edge leaves when it has no sink.
func ends(t Topology) []NodeLoad {
	var sinks, last []NodeLoad
	from := map[string]bool{}
	for _, e := range t.Edges {
		from[e.From] = true
	}
	for _, n := range t.Nodes {
		if n.Kind == "sink" {
			sinks = append(sinks, n)
		}
		if !from[n.ID] {
			last = append(last, n)
		}
	}
	if len(sinks) > 0 {
		return sinks
	}
	return last
}

// worse is the larger of two latencies that may be unknown (nil).
func worse(a, b *float64) *float64 {
	if a == nil || b != nil && *b > *a {
		return b
	}
	return a
}

// history keeps the samples of the last historyKeep, oldest first, so that charts opened
// late are not empty: the stream sends them first.
type history struct {
	top  *topologyHandler
	mu   sync.Mutex
	ring []Sample
	done chan struct{}
}

func newHistory(top *topologyHandler) *history {
	return &history{top: top, done: make(chan struct{})}
}

// run takes a sample every streamEvery once the run has started, until quit ends; done is
// closed when it returns.
func (h *history) run(quit context.Context) {
	defer close(h.done)
	t := time.NewTicker(streamEvery)
	defer t.Stop()
	for {
		select {
		case <-quit.Done():
			return
		case now := <-t.C:
			if top, ok := h.top.topology(); ok {
				h.add(sampleOf(top, now))
			}
		}
	}
}

// add appends s and drops the samples older than historyKeep before it.
func (h *history) add(s Sample) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.ring = append(h.ring, s)
	cut := 0
	for cut < len(h.ring) && h.ring[cut].T < s.T-historyKeep.Seconds() {
		cut++
	}
	if cut > 0 {
		h.ring = append(h.ring[:0], h.ring[cut:]...)
	}
}

// samples returns a copy of the samples kept, oldest first.
func (h *history) samples() []Sample {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]Sample(nil), h.ring...)
}
