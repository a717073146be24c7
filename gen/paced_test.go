package gen

import (
	"context"
	"errors"
	"math"
	"slices"
	"testing"
	"time"
)

// pacedRun pulls batches from a paced generator until the clock passes until, and calls fn
// with each batch's rows and the clock's time when it came.
func pacedRun(t *testing.T, g *Generator, clock *fakeClock, maxRows int, until time.Time, fn func(rows []txRow, now time.Time)) {
	t.Helper()
	for clock.Now().Before(until) {
		rec, err := g.Next(context.Background(), nil, maxRows)
		if err != nil {
			t.Fatal(err)
		}
		rows := readRows(t, rec, nil)
		rec.Release()
		fn(rows, clock.Now())
	}
}

func TestPacedCountsPerSecond(t *testing.T) {
	t0 := time.Date(2024, 3, 6, 11, 59, 30, 0, time.UTC)
	clock := &fakeClock{now: t0}
	cfg := smallConfig()
	cfg.Rows, cfg.FraudRate = 0, 0
	cfg.Speed, cfg.Clock = 1, clock
	cfg.Surges = []Surge{{At: 20 * time.Second, Relative: true, For: 10 * time.Second, Factor: 5}}
	g, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !g.Start().Equal(t0) {
		t.Fatalf("paced stream starts at %s, want the clock's now %s", g.Start(), t0)
	}
	const seconds = 60
	perSecond := make([]float64, seconds+1)
	batches := 0
	pacedRun(t, g, clock, 1<<20, t0.Add(seconds*time.Second), func(rows []txRow, now time.Time) {
		batches++
		for _, r := range rows {
			ts := time.UnixMilli(r.ts)
			if ts.After(now) {
				t.Fatalf("row %s of %s handed out early at %s", r.id, ts, now)
			}
			if wait := now.Sub(ts); wait > cfg.withDefaults().Linger+time.Millisecond {
				t.Fatalf("row %s of %s handed out late at %s", r.id, ts, now)
			}
		}
		perSecond[int(now.Sub(t0)/time.Second)] += float64(len(rows))
	})
	curve := g.Curve()
	var got, want float64
	for s := range seconds {
		from := t0.Add(time.Duration(s) * time.Second)
		exp := curve.Expected(from, from.Add(time.Second))
		if math.Abs(perSecond[s]-exp) > 5*math.Sqrt(exp)+5 {
			t.Errorf("second %d: %g rows, expected %.0f", s, perSecond[s], exp)
		}
		got += perSecond[s]
		want += exp
	}
	if math.Abs(got-want) > 0.03*want {
		t.Errorf("%g rows in %d s, expected %.0f", got, seconds, want)
	}
	if perSecond[25] < 3*perSecond[15] {
		t.Errorf("surge second has %g rows, a second before it %g", perSecond[25], perSecond[15])
	}
	// Batches are about Linger long: 100 per second.
	if batches < 80*seconds || batches > 110*seconds {
		t.Errorf("%d batches in %d s, want about %d", batches, seconds, 100*seconds)
	}
}

// A paced stream holds the same rows as the fast one; Speed compresses time.
func TestPacedSpeedSameRows(t *testing.T) {
	cfg := smallConfig()
	cfg.Rows = 0
	cfg.Start = DefaultStart.Add(12 * time.Hour)
	cfg.Disorder = time.Second
	cfg.DupRate = 0.01
	clock := &fakeClock{now: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	paced := cfg
	paced.Speed, paced.Clock = 60, clock
	g, err := New(paced)
	if err != nil {
		t.Fatal(err)
	}
	wall0 := clock.Now()
	var rows []txRow
	pacedRun(t, g, clock, 5000, wall0.Add(2*time.Second), func(batch []txRow, now time.Time) {
		eventNow := cfg.Start.Add(60 * now.Sub(wall0))
		for _, r := range batch {
			if time.UnixMilli(r.ts).After(eventNow) {
				t.Fatalf("row %s of %s handed out at event time %s", r.id, time.UnixMilli(r.ts).UTC(), eventNow)
			}
		}
		rows = append(rows, batch...)
	})
	span := time.Duration(rows[len(rows)-1].ts-cfg.Start.UnixMilli()) * time.Millisecond
	if span < 118*time.Second || span > 121*time.Second {
		t.Errorf("2 s at speed 60 covered %s of event time, want 2m", span)
	}
	cfg.Rows = int64(len(rows))
	fast, _ := generate(t, cfg, 4096)
	if !slices.Equal(rows, fast) {
		t.Fatal("paced and fast streams differ")
	}
}

func TestPacedFullBatches(t *testing.T) {
	clock := &fakeClock{now: time.Date(2024, 3, 6, 12, 0, 0, 0, time.UTC)}
	cfg := smallConfig()
	cfg.Rows, cfg.Rate, cfg.Flat = 0, 100_000, true
	cfg.Speed, cfg.Clock, cfg.Linger = 1, clock, time.Second
	g, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		before := clock.Now()
		rec, err := g.Next(context.Background(), nil, 1000)
		if err != nil {
			t.Fatal(err)
		}
		// A full batch goes out when its last row is due, long before Linger ends.
		if rec.NumRows() != 1000 || clock.Now().Sub(before) > 20*time.Millisecond {
			t.Fatalf("batch of %d rows after %s", rec.NumRows(), clock.Now().Sub(before))
		}
		rec.Release()
	}
	// A bounded paced stream ends.
	cfg.Rows = 2500
	g, _ = New(cfg)
	total := int64(0)
	for {
		rec, err := g.Next(context.Background(), nil, 1000)
		if err != nil {
			if total != 2500 {
				t.Fatalf("stream ended with %v after %d rows", err, total)
			}
			break
		}
		total += rec.NumRows()
		rec.Release()
	}
}

func TestPacedContext(t *testing.T) {
	cfg := smallConfig()
	cfg.Speed, cfg.Clock = 1, &fakeClock{now: time.Now()}
	g, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := g.Next(ctx, nil, 100); !errors.Is(err, context.Canceled) {
		t.Fatalf("Next with a cancelled context: %v", err)
	}

	// The system clock returns at once for past times and on cancellation.
	c := SystemClock()
	if err := c.SleepUntil(context.Background(), c.Now().Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := c.SleepUntil(ctx, c.Now().Add(time.Hour)); !errors.Is(err, context.Canceled) {
		t.Fatalf("SleepUntil with a cancelled context: %v", err)
	}
	start := time.Now()
	if err := c.SleepUntil(context.Background(), start.Add(5*time.Millisecond)); err != nil || time.Since(start) < 5*time.Millisecond {
		t.Fatalf("SleepUntil returned %v after %s", err, time.Since(start))
	}
}
