package gen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"testing"
	"time"
)

// TestSkipThenNextIsTheRestOfTheStream skips the first rows of a stream with disorder, late
// rows, duplicates and fraud, and wants Next to go on with exactly the rows after them and the
// stats to end as an unbroken run's.
func TestSkipThenNextIsTheRestOfTheStream(t *testing.T) {
	cfg := smallConfig()
	cfg.Rows, cfg.Partitions, cfg.Partition = 30_000, 3, 1
	cfg.FraudRate, cfg.Disorder, cfg.LateRate, cfg.DupRate = 0.02, 2*time.Second, 0.01, 0.01
	all, want := generate(t, cfg, 1000)
	for _, n := range []int64{0, 1, 999, 4096, 7777, int64(len(all)), int64(len(all)) + 5} {
		g, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		skipped := g.Skip(n)
		if skipped != min(n, int64(len(all))) {
			t.Fatalf("Skip(%d) skipped %d of %d rows", n, skipped, len(all))
		}
		if g.Stats().Rows != skipped {
			t.Fatalf("Skip(%d): Stats.Rows %d", n, g.Stats().Rows)
		}
		var rest []txRow
		for {
			rec, err := g.Next(context.Background(), nil, 1000)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			rest = readRows(t, rec, rest)
			rec.Release()
		}
		if fmt.Sprint(rest) != fmt.Sprint(all[skipped:]) {
			t.Fatalf("Skip(%d): %d rows after it differ from the stream's last %d", n, len(rest), len(all)-int(skipped))
		}
		if got := g.Stats(); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("Skip(%d): stats %+v, want %+v", n, got, want)
		}
	}
}

// TestSkipPacedGoesOnFromThePause skips rows of a paced stream and wants the next row due
// its gap after the last one skipped, counted from the clock's now, not from the stream's
// start.
func TestSkipPacedGoesOnFromThePause(t *testing.T) {
	t0 := time.Date(2024, 3, 6, 12, 0, 0, 0, time.UTC)
	cfg := smallConfig()
	cfg.Rows, cfg.Start, cfg.Speed = 5000, t0, 1
	fast := cfg
	fast.Speed = 0
	all, _ := generate(t, fast, 5000)

	clock := &fakeClock{now: t0.Add(time.Hour)} // resumed an hour after the stream began
	cfg.Clock = clock
	g, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if g.Skip(2000) != 2000 {
		t.Fatal("short skip")
	}
	resumed := clock.Now()
	rec, err := g.Next(context.Background(), nil, 1)
	if err != nil {
		t.Fatal(err)
	}
	rows := readRows(t, rec, nil)
	rec.Release()
	if rows[0] != all[2000] {
		t.Fatalf("first row after the skip %+v, want %+v", rows[0], all[2000])
	}
	gap := time.Duration(all[2000].ts-all[1999].ts) * time.Millisecond
	if waited := clock.Now().Sub(resumed); waited < gap-time.Millisecond || waited > gap+time.Millisecond {
		t.Fatalf("the row after the skip came %s after resuming, want its gap %s after the last skipped", waited, gap)
	}
}
