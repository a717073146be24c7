package objstore

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"
)

// Retry says how a store retries an operation that failed for a transient reason (the
// server unreachable, a timeout, a 5xx or throttling answer). The zero value means
// DefaultRetry's fields.
type Retry struct {
	// Attempts is how many times an operation is tried in all; 1 tries once.
	Attempts int
	// Backoff returns how long to wait after the nth failure (n from 1) before trying
	// again; the wait ends early, and the operation with it, when its context is done.
	Backoff func(n int) time.Duration
	// OnRetry, when set, is called before each wait with the operation ("put", "get",
	// "list", ...), the key (or List prefix), the number of failures so far and the last
	// error, so that a caller can count retries or show that the store is unreachable.
	OnRetry func(op, key string, failures int, err error)
}

// DefaultRetry tries an operation 6 times, waiting about 0.1 s, 0.2 s, 0.4 s, 0.8 s and
// 1.6 s between the tries (Exponential(100ms, 5s)).
func DefaultRetry() Retry {
	return Retry{Attempts: 6, Backoff: Exponential(100*time.Millisecond, 5*time.Second)}
}

// withDefaults fills the zero fields of r from DefaultRetry.
func (r Retry) withDefaults() Retry {
	d := DefaultRetry()
	if r.Attempts <= 0 {
		r.Attempts = d.Attempts
	}
	if r.Backoff == nil {
		r.Backoff = d.Backoff
	}
	return r
}

// Exponential returns a backoff that waits base after the first failure and twice as
// long after each further one, never more than max, each wait shortened by a random
// part of up to half of it so that workers retrying together spread out.
func Exponential(base, max time.Duration) func(n int) time.Duration {
	return func(n int) time.Duration {
		d := base
		for i := 1; i < n && d < max; i++ {
			d *= 2
		}
		d = min(d, max)
		if d <= 1 {
			return d
		}
		return d - rand.N(d/2)
	}
}

// do runs try until it succeeds, fails for a reason that transient does not accept, has
// been tried r.Attempts times, or ctx is done. try is given the number of the attempt,
// from 1. The error after the last attempt says how many there were.
func (r Retry) do(ctx context.Context, op, key string, transient func(error) bool, try func(attempt int) error) error {
	for attempt := 1; ; attempt++ {
		err := try(attempt)
		if err == nil || !transient(err) || ctx.Err() != nil {
			return err
		}
		if attempt >= r.Attempts {
			if attempt == 1 {
				return err
			}
			return fmt.Errorf("%s: %w", attempts(attempt), err)
		}
		if r.OnRetry != nil {
			r.OnRetry(op, key, attempt, err)
		}
		if d := r.Backoff(attempt); d > 0 {
			t := time.NewTimer(d)
			select {
			case <-ctx.Done():
				t.Stop()
				return fmt.Errorf("%s, stopped waiting (%w): %w", attempts(attempt), ctx.Err(), err)
			case <-t.C:
			}
		}
	}
}

func attempts(n int) string {
	if n == 1 {
		return "after 1 attempt"
	}
	return fmt.Sprintf("after %d attempts", n)
}
