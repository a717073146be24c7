package bench

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"

	"millrace/engine"
)

// TestNexmarkQueriesRun runs every query over 200,000 events at parallelism 2 and checks
// what the benchmark reports; TestNexmarkQueriesMatchReferences checks their rows.
func TestNexmarkQueriesRun(t *testing.T) {
	const events = 200_000
	for _, q := range NexmarkQueries() {
		r, err := Nexmark(context.Background(), q, events, 2, engine.DefaultOptions())
		if err != nil {
			t.Fatal(err)
		}
		if r.Events != events || r.Rows == 0 {
			t.Errorf("%s read %d events and emitted %d rows", q, r.Events, r.Rows)
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
