package cluster

import (
	"context"
	"os"
	"sync"
	"time"

	"millrace/engine"
)

// report is what a worker says of itself on the status topic, kept up to date by its
// generations and published every second, at each rebalance and on leaving.
type report struct {
	w       *worker
	pub     *StatusPublisher
	meter   *StatusMeter
	started time.Time
	kick    chan struct{}

	mu         sync.Mutex
	owned      map[string][]int32
	units      []*unit
	checkpoint *CheckpointStatus
	pause      time.Duration
	rebalances int
	waiting    string
}

func newReport(w *worker, pub *StatusPublisher) *report {
	return &report{w: w, pub: pub, meter: NewStatusMeter(w.opts.Plan), started: time.Now(), kick: make(chan struct{}, 1)}
}

// publish sends the status every second and whenever kicked, until ctx ends.
func (r *report) publish(ctx context.Context) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		if err := r.pub.Publish(pctx, r.status()); err != nil && ctx.Err() == nil {
			r.w.opts.Log.Warn("publish status", "err", err)
		}
		cancel()
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-r.kick:
		}
	}
}

func (r *report) poke() {
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// assigned records a new generation's units and the pause before it ran.
func (r *report) assigned(owned map[string][]int32, units []*unit, pause time.Duration) {
	r.mu.Lock()
	r.owned, r.units, r.pause = owned, units, pause
	r.rebalances++
	r.mu.Unlock()
	r.poke()
}

// committed records a checkpoint that committed: the worker waits for nothing.
func (r *report) committed(id uint64, units int) {
	r.mu.Lock()
	r.checkpoint = &CheckpointStatus{ID: id, At: time.Now(), Units: units}
	r.waiting = ""
	r.mu.Unlock()
}

// wait says what the worker waits for ("" once it works again).
func (r *report) wait(why string) {
	r.mu.Lock()
	r.waiting = why
	r.mu.Unlock()
	r.poke()
}

// status is the worker's status now.
func (r *report) status() WorkerStatus {
	host, _ := os.Hostname()
	_, gen := r.w.cl.GroupMetadata()
	r.mu.Lock()
	st := WorkerStatus{Worker: r.w.opts.Worker, Pipeline: r.w.opts.Layout.Pipeline, Host: host, PID: os.Getpid(),
		Started: r.started, Updated: time.Now(), Generation: gen, KeyGroups: r.w.opts.Layout.KeyGroups,
		Checkpoint: r.checkpoint, RebalancePause: r.pause.Seconds(), Rebalances: r.rebalances, Waiting: r.waiting}
	owned, units := r.owned, r.units
	r.mu.Unlock()
	if c := r.w.cache; c != nil {
		n, _ := c.counts()
		st.Prewarm = &PrewarmStatus{Pieces: n.put, Bytes: n.putBytes, Hits: n.hits, HitBytes: n.hitBytes, ReadBytes: n.readBytes}
	}
	var cur *engine.Stats
	if m := r.w.opts.Engine.Monitor; m != nil {
		cur = m.Snapshot()
	}
	st.Owned = OwnedFrom(st.Pipeline, owned, lags(units, cur))
	r.meter.Fill(&st, cur)
	return st
}

// lags is each owned partition's lag as the run's source nodes last said.
func lags(units []*unit, cur *engine.Stats) map[string]map[int32]int64 {
	if cur == nil {
		return nil
	}
	out := map[string]map[int32]int64{}
	for _, u := range units {
		n, ok := cur.Node(u.node.Name)
		if !ok {
			continue
		}
		if out[u.topic] == nil {
			out[u.topic] = map[int32]int64{}
		}
		out[u.topic][u.partition] = n.Lag[u.index]
	}
	return out
}
