package exchange

import (
	"maps"
	"math"
)

// watermarks is the watermark state of one partition reader: the latest watermark each unit
// has sent, and the units the reader's watermark waits for. It is pure bookkeeping.
type watermarks struct {
	upstream []string
	latest   map[string]int64 // unit -> the largest watermark it has sent
	// cur caches current() until a marker changes latest.
	cur   int64
	fresh bool
}

func newWatermarks(upstream []string, latest map[string]int64) *watermarks {
	w := &watermarks{upstream: upstream, latest: maps.Clone(latest)}
	if w.latest == nil {
		w.latest = map[string]int64{}
	}
	return w
}

// advance records a marker of the units of a set (see Units). A watermark below one a unit
// sent before (a unit that restarted from an older checkpoint sends its markers again, or
// another worker took it over with an older watermark) changes nothing for that unit, so
// the watermark never falls.
func (w *watermarks) advance(units []string, wm int64) {
	for _, from := range units {
		if last, ok := w.latest[from]; !ok || wm > last {
			w.latest[from] = wm
			w.fresh = false
		}
	}
}

// current is the minimum over the upstream units of their latest watermarks, or
// math.MinInt64 while one of them has sent none.
func (w *watermarks) current() int64 {
	if w.fresh {
		return w.cur
	}
	cur := int64(math.MaxInt64)
	for _, u := range w.upstream {
		wm, ok := w.latest[u]
		if !ok {
			cur = math.MinInt64
			break
		}
		cur = min(cur, wm)
	}
	w.cur, w.fresh = cur, true
	return cur
}

// ended says every upstream unit has sent the final watermark, math.MaxInt64.
func (w *watermarks) ended() bool {
	return w.current() == math.MaxInt64
}
