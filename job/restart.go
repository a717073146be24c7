package job

import (
	"context"
	"math/rand/v2"
	"time"
)

// Backoff says how a run that failed goes on from its newest checkpoint: up to Attempts
// times, waiting Base, then twice as long each time up to Max, each wait jittered to
// between half and all of it so that many pipelines failing together do not retry in step.
type Backoff struct {
	Attempts  int
	Base, Max time.Duration
	// Jitter returns a number in [0, 1); nil means math/rand.
	Jitter func() float64
}

// DefaultBackoff is three restarts, one second apart at first, at most 30 s.
func DefaultBackoff() Backoff { return Backoff{Attempts: 3, Base: time.Second, Max: 30 * time.Second} }

// Delay is the wait before restart n (counting from 0).
func (b Backoff) Delay(n int) time.Duration {
	d := b.Base
	for range n {
		if d >= b.Max/2 {
			d = b.Max
			break
		}
		d *= 2
	}
	d = min(d, b.Max)
	jitter := b.Jitter
	if jitter == nil {
		jitter = rand.Float64
	}
	return d/2 + time.Duration(jitter()*float64(d/2))
}

// wait sleeps d, or until ctx ends.
func wait(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
