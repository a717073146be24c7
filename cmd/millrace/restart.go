package main

import (
	"context"
	"math/rand/v2"
	"time"
)

// restarts says how a run that failed goes on from its newest checkpoint: up to attempts
// times, waiting base, then twice as long each time up to max, each wait jittered to between
// half and all of it so that many pipelines failing together do not retry in step.
type restarts struct {
	attempts  int
	base, max time.Duration
	jitter    func() float64 // in [0, 1)
}

// delay is the wait before retry n (counting from 0).
func (r restarts) delay(n int) time.Duration {
	d := r.base
	for range n {
		if d >= r.max/2 {
			d = r.max
			break
		}
		d *= 2
	}
	d = min(d, r.max)
	jitter := r.jitter
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
