package gen

import (
	"context"
	"io"
	"math"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// Clock is the time source of paced mode. Tests pass a fake one whose SleepUntil moves its
// time forward at once.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// SleepUntil returns nil once the clock has reached t (at once if it has), or ctx's error
	// if ctx ends first.
	SleepUntil(ctx context.Context, t time.Time) error
}

// SystemClock returns the clock of the operating system.
func SystemClock() Clock { return systemClock{} }

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

func (systemClock) SleepUntil(ctx context.Context, t time.Time) error {
	d := time.Until(t)
	if d <= 0 {
		return nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}

// nextPaced hands out the rows due on the clock. It sleeps until the next row is due, then
// lingers until Linger after that or until maxRows rows are due, whichever comes first, and
// returns the rows due by then. It pulls rows from the stream only as far as it needs to see
// when to stop, so at most one row waits in pending between calls.
func (g *Generator) nextPaced(ctx context.Context, mem memory.Allocator, maxRows int) (arrow.RecordBatch, error) {
	clock := g.cfg.Clock
	g.fill(1)
	if len(g.pending) == 0 {
		return nil, io.EOF
	}
	first := g.wallAt(g.pending[0].deliver)
	if err := clock.SleepUntil(ctx, first); err != nil {
		return nil, err
	}
	until := first.Add(g.cfg.Linger)
	if now := clock.Now(); now.After(until) {
		until = now // behind the clock: everything due goes out now
	}
	for len(g.pending) < maxRows && !g.wallAt(g.pending[len(g.pending)-1].deliver).After(until) {
		if g.fill(len(g.pending) + 1) {
			break
		}
	}
	if len(g.pending) >= maxRows {
		if last := g.wallAt(g.pending[maxRows-1].deliver); last.Before(until) {
			until = last
		}
	}
	if err := clock.SleepUntil(ctx, until); err != nil {
		return nil, err
	}
	now := clock.Now()
	look := min(maxRows, len(g.pending))
	n := 1 // the first row was due before the sleeps
	for n < look && !g.wallAt(g.pending[n].deliver).After(now) {
		n++
	}
	return g.emit(mem, n), nil
}

// wallAt is the clock time at which event time ns (a delivery time) comes due.
func (g *Generator) wallAt(ns int64) time.Time {
	d := float64(ns-g.start.UnixNano()) / g.cfg.Speed
	return g.wallStart.Add(time.Duration(math.Ceil(d)))
}
