package engine

import (
	"sync/atomic"
	"time"
)

// LatencyBounds are the upper bounds of the latency histogram's buckets; a last bucket
// holds everything slower.
var LatencyBounds = []time.Duration{
	500 * time.Microsecond, time.Millisecond, 2500 * time.Microsecond, 5 * time.Millisecond,
	10 * time.Millisecond, 25 * time.Millisecond, 50 * time.Millisecond, 100 * time.Millisecond,
	250 * time.Millisecond, 500 * time.Millisecond, time.Second, 2500 * time.Millisecond,
	5 * time.Second, 10 * time.Second, 30 * time.Second, time.Minute,
}

// latencyHistogram counts latencies into LatencyBounds' buckets. One goroutine observes;
// any may read.
type latencyHistogram struct {
	counts [17]atomic.Int64 // len(LatencyBounds)+1
	sum    atomic.Int64     // nanoseconds
}

func (h *latencyHistogram) observe(d time.Duration) { h.observeN(d, 1) }

// observeN counts n latencies of d.
func (h *latencyHistogram) observeN(d time.Duration, n int64) {
	i := 0
	for i < len(LatencyBounds) && d > LatencyBounds[i] {
		i++
	}
	h.counts[i].Add(n)
	h.sum.Add(int64(d) * n)
}

// holdMeter is the op.HoldMeter of a subtask: its marks are the clock in nanoseconds since
// the epoch, and every row released is one observation of its hold.
type holdMeter struct{ h *latencyHistogram }

func (m holdMeter) Arrived() int64 { return time.Now().UnixNano() }

func (m holdMeter) Released(arrived int64, rows int) {
	m.h.observeN(time.Duration(time.Now().UnixNano()-arrived), int64(rows))
}

func (h *latencyHistogram) snapshot() Latency {
	var l Latency
	l.Counts = make([]int64, len(h.counts))
	for i := range h.counts {
		l.Counts[i] = h.counts[i].Load()
	}
	l.Sum = time.Duration(h.sum.Load())
	return l
}

// Latency is a snapshot of a latency histogram: Counts[i] latencies fell in bucket i, at most
// LatencyBounds[i] (the last bucket is unbounded).
type Latency struct {
	Counts []int64
	Sum    time.Duration
}

// Count is the number of latencies observed.
func (l Latency) Count() int64 {
	var n int64
	for _, c := range l.Counts {
		n += c
	}
	return n
}

// add sums two histograms.
func (l Latency) add(o Latency) Latency {
	if l.Counts == nil {
		l.Counts = make([]int64, len(o.Counts))
	}
	for i, c := range o.Counts {
		l.Counts[i] += c
	}
	l.Sum += o.Sum
	return l
}

// Since is the histogram of what was observed after prev.
func (l Latency) Since(prev Latency) Latency {
	out := Latency{Counts: make([]int64, len(l.Counts)), Sum: l.Sum - prev.Sum}
	for i, c := range l.Counts {
		out.Counts[i] = c
		if i < len(prev.Counts) {
			out.Counts[i] -= prev.Counts[i]
		}
	}
	return out
}

// Quantile estimates the q-quantile (0 < q <= 1), interpolating linearly within the bucket
// it falls in; ok is false when nothing was observed. A quantile in the last bucket is
// reported as its lower bound.
func (l Latency) Quantile(q float64) (d time.Duration, ok bool) {
	total := l.Count()
	if total == 0 {
		return 0, false
	}
	rank := q * float64(total)
	var seen float64
	for i, c := range l.Counts {
		if c == 0 {
			continue
		}
		if seen+float64(c) >= rank {
			lo := time.Duration(0)
			if i > 0 {
				lo = LatencyBounds[i-1]
			}
			if i == len(LatencyBounds) {
				return lo, true
			}
			frac := (rank - seen) / float64(c)
			return lo + time.Duration(frac*float64(LatencyBounds[i]-lo)), true
		}
		seen += float64(c)
	}
	return LatencyBounds[len(LatencyBounds)-1], true
}
