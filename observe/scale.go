package observe

import (
	"net/http"
	"sync"
	"time"

	"millrace/engine"
	"millrace/scale"
)

// Option changes what a Server serves.
type Option func(*serverConfig)

type serverConfig struct {
	advisor *scale.Advisor
}

// WithAdvisor makes the server advise on scaling: every advisor step it feeds the run's
// figures to a, serves the advice at /api/scale and the desired worker count as the
// metric millrace_desired_workers.
func WithAdvisor(a *scale.Advisor) Option {
	return func(c *serverConfig) { c.advisor = a }
}

// adviser runs an Advisor over a monitor's snapshots and keeps the latest advice.
type adviser struct {
	advisor *scale.Advisor
	monitor *engine.Monitor
	mu      sync.Mutex
	latest  *scale.Advice
	stop    chan struct{}
	done    chan struct{}
}

func startAdviser(a *scale.Advisor, monitor *engine.Monitor) *adviser {
	ad := &adviser{advisor: a, monitor: monitor, stop: make(chan struct{}), done: make(chan struct{})}
	go ad.run()
	return ad
}

func (ad *adviser) run() {
	defer close(ad.done)
	t := time.NewTicker(ad.advisor.Step())
	defer t.Stop()
	for {
		select {
		case now := <-t.C:
			st := ad.monitor.Snapshot()
			if st == nil {
				continue
			}
			adv := ad.advisor.Observe(now, st)
			ad.mu.Lock()
			ad.latest = &adv
			ad.mu.Unlock()
		case <-ad.stop:
			return
		}
	}
}

// close stops the adviser and waits for it.
func (ad *adviser) close() {
	close(ad.stop)
	<-ad.done
}

func (ad *adviser) advice() (scale.Advice, bool) {
	ad.mu.Lock()
	defer ad.mu.Unlock()
	if ad.latest == nil {
		return scale.Advice{}, false
	}
	return *ad.latest, true
}

// ServeHTTP serves /api/scale: the latest advice.
func (ad *adviser) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	adv, ok := ad.advice()
	if !ok {
		http.Error(w, "no advice yet: the first comes one advisor step into the run", http.StatusServiceUnavailable)
		return
	}
	writeJSON(w, adv)
}

// desiredWorkers is the value of millrace_desired_workers: the advice's worker count, or
// the current one before the first advice.
func (ad *adviser) desiredWorkers() float64 {
	adv, ok := ad.advice()
	if !ok {
		return 1
	}
	return float64(adv.DesiredWorkers)
}
