package bench

import (
	"context"
	"strings"
	"testing"
)

func TestNexmarkQueriesRun(t *testing.T) {
	const events = 200_000
	want := map[string]func(rows int64) bool{
		"q0": func(n int64) bool { return n == events/50*46 },
		"q1": func(n int64) bool { return n == events/50*46 },
		"q2": func(n int64) bool { return n > 0 && n < events/100 },
	}
	for _, q := range NexmarkQueries() {
		r, err := Nexmark(context.Background(), q, events, 2)
		if err != nil {
			t.Fatal(err)
		}
		if !want[q](r.Rows) {
			t.Errorf("%s emitted %d rows", q, r.Rows)
		}
		if !strings.Contains(r.String(), "M events/s per core") {
			t.Errorf("report %q", r)
		}
	}
	if _, err := Nexmark(context.Background(), "q9", 10, 1); err == nil {
		t.Error("q9 ran")
	}
}

func BenchmarkNexmark(b *testing.B) {
	for _, q := range NexmarkQueries() {
		b.Run(q, func(b *testing.B) {
			var events int64
			for b.Loop() {
				r, err := Nexmark(context.Background(), q, 5_000_000, 1)
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
	r, err := Transactions(context.Background(), t.TempDir(), 20_000, 2)
	if err != nil {
		t.Fatal(err)
	}
	if r.Events != 20_000 || r.Rows == 0 {
		t.Fatalf("%s", r)
	}
}
