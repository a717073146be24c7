package gen

import (
	"context"
	"errors"
	"io"
	"math"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// batches runs cfg in fast mode and returns its batches.
func batches(t *testing.T, cfg Config, mem memory.Allocator, size int) []arrow.RecordBatch {
	t.Helper()
	g, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var out []arrow.RecordBatch
	for {
		rec, err := g.Next(context.Background(), mem, size)
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, rec)
	}
}

func TestDeterministicBatches(t *testing.T) {
	cfg := smallConfig()
	cfg.Rows = 50_000
	cfg.FraudRate = 0.01
	cfg.Disorder = 3 * time.Second
	cfg.LateRate = 0.01
	cfg.DupRate = 0.01
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)

	a, b := batches(t, cfg, mem, 4096), batches(t, cfg, mem, 4096)
	if len(a) != len(b) {
		t.Fatalf("runs made %d and %d batches", len(a), len(b))
	}
	for i := range a {
		if !array.RecordEqual(a[i], b[i]) {
			t.Fatalf("batch %d differs between two runs of the same config", i)
		}
	}
	cfg.Seed++
	c := batches(t, cfg, mem, 4096)
	if array.RecordEqual(a[0], c[0]) {
		t.Fatal("seeds 1 and 2 made the same first batch")
	}
	for _, recs := range [][]arrow.RecordBatch{a, b, c} {
		for _, r := range recs {
			r.Release()
		}
	}
}

// The batch size must not change the stream.
func TestBatchSizeDoesNotChangeRows(t *testing.T) {
	cfg := smallConfig()
	cfg.Rows = 20_000
	cfg.Disorder = time.Second
	cfg.DupRate = 0.05
	small, _ := generate(t, cfg, 333)
	large, _ := generate(t, cfg, 20_000)
	if !slices.Equal(small, large) {
		t.Fatal("batches of 333 and 20000 rows hold different rows")
	}
}

func TestBounds(t *testing.T) {
	t.Run("rows", func(t *testing.T) {
		cfg := smallConfig()
		cfg.Rows = 12_345
		cfg.DupRate = 0.1
		rows, st := generate(t, cfg, 1000)
		if len(rows) != 12_345 || st.Rows != 12_345 {
			t.Fatalf("got %d rows (stats %d), want 12345 including duplicates", len(rows), st.Rows)
		}
	})
	t.Run("duration", func(t *testing.T) {
		cfg := smallConfig()
		cfg.Rows = 0
		cfg.Duration = 10 * time.Minute
		cfg.Start = time.Date(2024, 3, 5, 12, 0, 0, 0, time.UTC)
		cfg.Disorder = 5 * time.Second
		rows, st := generate(t, cfg, 4096)
		from, to := cfg.Start.UnixMilli(), cfg.Start.Add(cfg.Duration).UnixMilli()
		for _, r := range rows {
			if r.ts < from || r.ts >= to {
				t.Fatalf("row %s at %s outside [%s, %s)", r.id, time.UnixMilli(r.ts).UTC(), cfg.Start, cfg.Start.Add(cfg.Duration))
			}
		}
		curve, _ := NewCurve(cfg)
		want := curve.Expected(cfg.Start, cfg.Start.Add(cfg.Duration))
		if got := float64(len(rows)); math.Abs(got-want) > 5*math.Sqrt(want)+0.01*want {
			t.Fatalf("%g rows in 10 minutes, expected %.0f", got, want)
		}
		if st.First.UnixMilli() < from || st.Last.UnixMilli() >= to {
			t.Fatalf("stats span %s..%s outside the duration", st.First, st.Last)
		}
	})
	t.Run("eof stays", func(t *testing.T) {
		cfg := smallConfig()
		cfg.Rows = 10
		g, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		rec, err := g.Next(context.Background(), nil, 100)
		if err != nil || rec.NumRows() != 10 {
			t.Fatalf("first Next: %v rows, err %v", rec, err)
		}
		rec.Release()
		for range 2 {
			if _, err := g.Next(context.Background(), nil, 100); !errors.Is(err, io.EOF) {
				t.Fatalf("Next after the end: %v, want io.EOF", err)
			}
		}
		if _, err := g.Next(context.Background(), nil, 0); err == nil {
			t.Fatal("Next with maxRows 0 did not fail")
		}
	})
}

// Without disorder rows come in event-time order with unique tx_ids numbered in that order.
func TestDefaultOrderAndUniqueIDs(t *testing.T) {
	rows, st := generate(t, smallConfig(), 8192)
	seen := make(map[string]bool, len(rows))
	for i, r := range rows {
		if seen[r.id] {
			t.Fatalf("tx_id %s repeats", r.id)
		}
		seen[r.id] = true
		if r.id != "t"+itoa(int64(i)) {
			t.Fatalf("row %d has tx_id %s, want t%d", i, r.id, i)
		}
		if i > 0 && r.ts < rows[i-1].ts {
			t.Fatalf("row %d at %d before row %d at %d", i, r.ts, i-1, rows[i-1].ts)
		}
	}
	if st.Dups != 0 || st.Late != 0 {
		t.Fatalf("defaults delivered %d duplicates and %d late rows", st.Dups, st.Late)
	}
	if first := time.UnixMilli(rows[0].ts).UTC(); first.Before(DefaultStart) || first.After(DefaultStart.Add(time.Second)) {
		t.Fatalf("first row at %s, want just after %s", first, DefaultStart)
	}
}

func itoa(n int64) string { return string(appendTxID(nil, n)[1:]) }

// share returns the fraction of rows whose key is among the top fraction of keys by count.
func share(counts map[string]int, top float64, total int) float64 {
	c := make([]int, 0, len(counts))
	for _, n := range counts {
		c = append(c, n)
	}
	sort.Sort(sort.Reverse(sort.IntSlice(c)))
	k := max(1, int(top*float64(len(c))))
	sum := 0
	for _, n := range c[:k] {
		sum += n
	}
	return float64(sum) / float64(total)
}

func TestDistributions(t *testing.T) {
	cfg := smallConfig()
	cfg.FraudRate = 0
	rows, _ := generate(t, cfg, 16384)
	g, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	w := g.World()
	n := len(rows)

	cards, merchants, channels, ctrys := map[string]int{}, map[string]int{}, map[string]int{}, map[string]int{}
	euros := map[int32][]float64{}
	for _, r := range rows {
		cards[r.card]++
		merchants[r.merchant]++
		channels[r.channel]++
		ctrys[r.country]++
		c := countryByCode(t, r.country)
		if r.currency != c.currency {
			t.Fatalf("row %s in %s pays %s, want %s", r.id, r.country, r.currency, c.currency)
		}
		if r.cents <= 0 || r.cents%c.step != 0 {
			t.Fatalf("row %s: amount %d cents of %s", r.id, r.cents, r.currency)
		}
		euros[r.mcc] = append(euros[r.mcc], float64(r.cents)/100/c.perEUR)
		inPerson := r.channel == "pos" || r.channel == "atm"
		if r.geo != inPerson {
			t.Fatalf("row %s: channel %s with coordinates %t", r.id, r.channel, r.geo)
		}
		if r.geo && (math.Abs(r.lat-c.lat) > c.dlat+1e-9 || math.Abs(r.lon-c.lon) > c.dlon+1e-9) {
			t.Fatalf("row %s: (%g, %g) is not near %s", r.id, r.lat, r.lon, r.country)
		}
		if r.channel == "atm" && r.mcc != atmMCC || r.channel == "transfer" && r.mcc != 4829 {
			t.Fatalf("row %s: channel %s at mcc %d", r.id, r.channel, r.mcc)
		}
	}

	// Hot keys: the busiest 1% of cards and merchants carry far more than 1% of payments.
	t.Logf("top 1%%: cards %.1f%%, merchants %.1f%%, accounts used %d", 100*share(cards, 0.01, n), 100*share(merchants, 0.01, n), len(cards))
	t.Logf("channels %v, countries %v", channels, ctrys)
	if s := share(cards, 0.01, n); s < 0.10 {
		t.Errorf("top 1%% of cards carry %.1f%% of payments, want >= 10%%", 100*s)
	}
	if s := share(merchants, 0.01, n); s < 0.2 {
		t.Errorf("top 1%% of merchants carry %.1f%% of payments, want >= 20%%", 100*s)
	}
	if len(cards) < w.Cards()/4 {
		t.Errorf("only %d of %d cards used", len(cards), w.Cards())
	}

	// Channels: mostly in person, every channel present.
	for ch, bounds := range map[string][2]float64{"pos": {0.55, 0.85}, "ecom": {0.10, 0.35}, "atm": {0.02, 0.12}, "transfer": {0.01, 0.10}} {
		if f := float64(channels[ch]) / float64(n); f < bounds[0] || f > bounds[1] {
			t.Errorf("channel %s: %.1f%% of payments, want %.0f%% to %.0f%%", ch, 100*f, 100*bounds[0], 100*bounds[1])
		}
	}

	// Countries: most of the map is used and the US leads.
	if len(ctrys) < 18 {
		t.Errorf("payments in only %d countries", len(ctrys))
	}
	for c, k := range ctrys {
		if c != "US" && k >= ctrys["US"] {
			t.Errorf("%s has %d payments, the US only %d", c, k, ctrys["US"])
		}
	}

	// Amounts: the median in euros of each category is near its table median.
	for _, k := range categories {
		v := euros[k.mcc]
		if len(v) < 200 {
			t.Errorf("mcc %d (%s): only %d payments", k.mcc, k.name, len(v))
			continue
		}
		slices.Sort(v)
		med := v[len(v)/2]
		t.Logf("mcc %d %-14s n=%6d median %8.2f EUR p99 %8.2f", k.mcc, k.name, len(v), med, v[len(v)*99/100])
		want := k.median
		if k.mcc == atmMCC {
			want = 100
		}
		if med < 0.75*want || med > 1.33*want {
			t.Errorf("mcc %d (%s): median %.2f EUR, want about %.0f", k.mcc, k.name, med, want)
		}
	}
}

func countryByCode(t testing.TB, code string) *country {
	for i := range countries {
		if countries[i].code == code {
			return &countries[i]
		}
	}
	t.Fatalf("unknown country %q", code)
	return nil
}

func TestPartitions(t *testing.T) {
	cfg := smallConfig()
	cfg.Rows = 90_001
	cfg.Partitions = 3
	cfg.Flat = true
	world, err := NewWorld(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]int{}
	total := 0
	var spans []time.Duration
	var first []txRow
	for p := range 3 {
		cfg.Partition = p
		g, err := NewWithWorld(cfg, world)
		if err != nil {
			t.Fatal(err)
		}
		var rows []txRow
		for {
			rec, err := g.Next(context.Background(), nil, 10_000)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			rows = readRows(t, rec, rows)
			rec.Release()
		}
		for _, r := range rows {
			if q, ok := ids[r.id]; ok {
				t.Fatalf("tx_id %s in partitions %d and %d", r.id, q, p)
			}
			ids[r.id] = p
		}
		total += len(rows)
		spans = append(spans, time.Duration(rows[len(rows)-1].ts-rows[0].ts)*time.Millisecond)
		if p == 0 {
			first = rows
		} else if rows[0] == first[0] {
			t.Fatal("partitions 0 and 1 start with the same row")
		}
	}
	if total != 90_001 {
		t.Fatalf("partitions delivered %d rows together, want 90001", total)
	}
	// Each partition runs at a third of the rate: 30,000 rows take about 90 s at 1000/s.
	for p, d := range spans {
		if d < 85*time.Second || d > 95*time.Second {
			t.Errorf("partition %d: 30000 rows span %s, want about 90s at a third of 1000/s", p, d)
		}
	}
	cfg.Seed++
	if _, err := NewWithWorld(cfg, world); err == nil || !strings.Contains(err.Error(), "does not match") {
		t.Fatalf("a world of another seed was accepted: %v", err)
	}
}

// benchmarkGenerate measures fast-mode generation of cfg into batches of 64Ki rows and reports
// rows per second.
func benchmarkGenerate(b *testing.B, cfg Config) {
	cfg.Rows = 0
	g, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	const batch = 1 << 16
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	rows := 0
	for rows < b.N {
		rec, err := g.Next(ctx, memory.DefaultAllocator, batch)
		if err != nil {
			b.Fatal(err)
		}
		rows += int(rec.NumRows())
		rec.Release()
	}
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkGenerate is the default stream: 100k accounts, 20k merchants, 0.2% fraud, in order.
func BenchmarkGenerate(b *testing.B) { benchmarkGenerate(b, DefaultConfig()) }
