package observe

import (
	"net/http"

	"millrace/scale"
)

// Option changes what a Server serves.
type Option func(*serverConfig)

type serverConfig struct {
	advisor AdviceSource
	cluster *Cluster
}

// AdviceSource gives the newest scaling advice; ok is false before the first. A
// scale.Advisor is one; a worker of a cluster serves the cluster's advice instead.
type AdviceSource interface {
	Latest() (adv scale.Advice, ok bool)
}

// WithAdvisor makes the server show a's scaling advice: at /api/scale, and the desired
// worker count as the metric millrace_desired_workers. Something else has a observe the
// run (Advisor.Watch).
func WithAdvisor(a *scale.Advisor) Option { return WithAdvice(a) }

// WithAdvice makes the server show the advice src gives, as WithAdvisor does; the last of
// the two options given wins.
func WithAdvice(src AdviceSource) Option {
	return func(c *serverConfig) { c.advisor = src }
}

// adviser serves the latest advice of its source.
type adviser struct{ AdviceSource }

// ServeHTTP serves /api/scale: the latest advice.
func (ad adviser) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	adv, ok := ad.Latest()
	if !ok {
		http.Error(w, "no advice yet: the first comes one advisor step into the run", http.StatusServiceUnavailable)
		return
	}
	writeJSON(w, adv)
}

// desiredWorkers is the value of millrace_desired_workers: the advice's worker count, or
// the current one before the first advice.
func (ad adviser) desiredWorkers() float64 {
	adv, ok := ad.Latest()
	if !ok {
		return 1
	}
	return float64(adv.DesiredWorkers)
}
