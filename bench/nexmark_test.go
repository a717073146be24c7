package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"

	"millrace/engine"
	"millrace/nexmark"
)

func TestNexmarkQueriesRun(t *testing.T) {
	const events = 200_000
	want := map[string]func(rows int64) bool{
		"q0": func(n int64) bool { return n == events/50*46 },
		"q1": func(n int64) bool { return n == events/50*46 },
		"q2": func(n int64) bool { return n > 0 && n < events/100 },
	}
	q5, q7 := windowedReference(t, events)
	want["q5"] = func(n int64) bool { return n == q5 }
	want["q7"] = func(n int64) bool { return n == q7 }
	for _, q := range NexmarkQueries() {
		if want[q] == nil {
			// Checked row for row by TestNexmarkQueriesMatchReferences; here it only runs.
			want[q] = func(n int64) bool { return n > 0 }
		}
		r, err := Nexmark(context.Background(), q, events, 2, engine.DefaultOptions())
		if err != nil {
			t.Fatal(err)
		}
		if !want[q](r.Rows) {
			t.Errorf("%s emitted %d rows", q, r.Rows)
		}
		if !strings.Contains(r.String(), "M events/s per core") {
			t.Errorf("report %q", r)
		}
		if runtime.GOOS == "linux" && (r.CPU <= 0 || !strings.Contains(r.String(), "M events per CPU second")) {
			t.Errorf("%s: CPU time %s on Linux; report %q", q, r.CPU, r)
		}
	}
	if _, err := Nexmark(context.Background(), "q12", 10, 1, engine.DefaultOptions()); err == nil { // left out: processing time
		t.Error("q12 ran")
	}
}

func BenchmarkNexmark(b *testing.B) {
	for _, q := range NexmarkQueries() {
		b.Run(q, func(b *testing.B) {
			var events int64
			for b.Loop() {
				r, err := Nexmark(context.Background(), q, 5_000_000, 1, engine.DefaultOptions())
				if err != nil {
					b.Fatal(err)
				}
				events += r.Events
			}
			b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
		})
	}
}

// BenchmarkMeasurementOverhead runs Nexmark q1 with the engine's measurement on, watched by
// a Monitor read every second as a dashboard would, and with it off (Options.Unmeasured):
// compare the events/s of the two.
func BenchmarkMeasurementOverhead(b *testing.B) {
	for _, measured := range []bool{true, false} {
		b.Run(fmt.Sprintf("q1/measured=%v", measured), func(b *testing.B) {
			opts := engine.DefaultOptions()
			opts.Unmeasured = !measured
			if measured {
				opts.Monitor = &engine.Monitor{}
				opts.Progress = func(*engine.Stats) {}
			}
			var events int64
			for b.Loop() {
				r, err := Nexmark(context.Background(), "q1", 5_000_000, 1, opts)
				if err != nil {
					b.Fatal(err)
				}
				events += r.Events
			}
			b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
		})
	}
}

func TestTransactionsBenchmarkBalances(t *testing.T) {
	r, err := Transactions(context.Background(), t.TempDir(), 20_000, 2, 0)
	if err != nil {
		t.Fatal(err)
	}
	if r.Events != 20_000 || r.Rows == 0 {
		t.Fatalf("%s", r)
	}
}

// windowedReference computes, row by row from the generator's bids, how many rows q5 (the
// auctions with the most bids per 10 s window every 2 s) and q7 (the bids with the highest
// price per 10 s window) must emit.
func windowedReference(t *testing.T, events int64) (q5, q7 int64) {
	t.Helper()
	cfg := nexmark.DefaultConfig()
	cfg.Events = events
	g, err := nexmark.NewGenerator(cfg, nexmark.Bids)
	if err != nil {
		t.Fatal(err)
	}
	type bid struct{ auction, price, ts int64 }
	var bids []bid
	for {
		rec, err := g.Next(4096)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		a := rec.Column(nexmark.BidAuction).(*array.Int64)
		p := rec.Column(nexmark.BidPrice).(*array.Int64)
		ts := rec.Column(nexmark.BidDateTime).(*array.Timestamp)
		for i := range int(rec.NumRows()) {
			bids = append(bids, bid{a.Value(i), p.Value(i), int64(ts.Value(i))})
		}
		rec.Release()
	}
	maxPrice, atMax := map[int64]int64{}, map[int64]int64{}
	counts := map[[2]int64]int64{} // (window end, auction) -> bids
	for _, b := range bids {
		end := b.ts - b.ts%10_000 + 10_000
		switch m, ok := maxPrice[end]; {
		case !ok || b.price > m:
			maxPrice[end], atMax[end] = b.price, 1
		case b.price == m:
			atMax[end]++
		}
		for e := b.ts - b.ts%2000 + 2000; e <= b.ts+10_000; e += 2000 {
			if e-10_000 <= b.ts {
				counts[[2]int64{e, b.auction}]++
			}
		}
	}
	for _, n := range atMax {
		q7 += n
	}
	best, hot := map[int64]int64{}, map[int64]int64{}
	for k, n := range counts {
		switch m, ok := best[k[0]]; {
		case !ok || n > m:
			best[k[0]], hot[k[0]] = n, 1
		case n == m:
			hot[k[0]]++
		}
	}
	for _, n := range hot {
		q5 += n
	}
	return q5, q7
}
