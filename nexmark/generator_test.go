package nexmark

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// testConfig is the default configuration over n events.
func testConfig(n int64) Config {
	cfg := DefaultConfig()
	cfg.Events = n
	return cfg
}

// table is a generated stream read back: every column's values as strings or int64s.
type table struct {
	rows int
	str  map[string][]string
	num  map[string][]int64
}

// generate reads kind's events of cfg to the end in batches of batchRows rows, checking
// that memory is released and that the batches are valid.
func generate(t *testing.T, cfg Config, kind Kind, batchRows int) *table {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)
	g, err := NewGenerator(cfg, kind, WithAllocator(mem))
	if err != nil {
		t.Fatal(err)
	}
	tab := &table{str: map[string][]string{}, num: map[string][]int64{}}
	for {
		rec, err := g.Next(batchRows)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if !rec.Schema().Equal(Schema(kind)) || rec.NumRows() < 1 || rec.NumRows() > int64(batchRows) {
			t.Fatalf("batch of %d rows, schema %s", rec.NumRows(), rec.Schema())
		}
		for i, f := range rec.Schema().Fields() {
			col := rec.Column(i)
			if v, ok := col.(interface{ ValidateFull() error }); ok {
				if err := v.ValidateFull(); err != nil {
					t.Fatalf("column %s: %v", f.Name, err)
				}
			}
			switch c := col.(type) {
			case *array.String:
				for j := range c.Len() {
					tab.str[f.Name] = append(tab.str[f.Name], c.Value(j))
				}
			case *array.Int64:
				tab.num[f.Name] = append(tab.num[f.Name], c.Int64Values()...)
			case *array.Timestamp:
				for _, v := range c.TimestampValues() {
					tab.num[f.Name] = append(tab.num[f.Name], int64(v))
				}
			default:
				t.Fatalf("column %s is %T", f.Name, col)
			}
		}
		tab.rows += int(rec.NumRows())
		rec.Release()
	}
	if g.Rows() != g.Total() || int64(tab.rows) != g.Total() {
		t.Fatalf("read %d rows; generator says %d of %d", tab.rows, g.Rows(), g.Total())
	}
	return tab
}

// lines renders every row as one line, for comparing streams as multisets.
func (tab *table) lines(sch *arrow.Schema) []string {
	out := make([]string, tab.rows)
	for i := range out {
		var b strings.Builder
		for _, f := range sch.Fields() {
			if v, ok := tab.num[f.Name]; ok {
				fmt.Fprintf(&b, "%d|", v[i])
			} else {
				fmt.Fprintf(&b, "%s|", tab.str[f.Name][i])
			}
		}
		out[i] = b.String()
	}
	return out
}

func TestSameConfigSameRows(t *testing.T) {
	cfg := testConfig(20_011)
	for _, kind := range []Kind{Bids, Auctions, Persons} {
		a := generate(t, cfg, kind, 1000).lines(Schema(kind))
		b := generate(t, cfg, kind, 4093).lines(Schema(kind))
		if !slices.Equal(a, b) {
			t.Fatalf("%s: the rows depend on the batch size", kind)
		}
		cfg2 := cfg
		cfg2.Seed++
		c := generate(t, cfg2, kind, 1000).lines(Schema(kind))
		if len(c) != len(a) || slices.Equal(a, c) {
			t.Fatalf("%s: another seed gives the same rows", kind)
		}
	}
}

func TestKindsComeOneThreeFortySixInEveryFiftyEvents(t *testing.T) {
	for _, events := range []int64{0, 1, 3, 4, 5, 50, 51, 54, 10_000, 10_037} {
		cfg := testConfig(events)
		cfg.FirstEventRate = 1000 // one event per millisecond: date_time tells the event number
		for _, kind := range []Kind{Bids, Auctions, Persons} {
			tab := generate(t, cfg, kind, 999)
			var want []int64
			for n := range events {
				if kindOf(n) == kind {
					want = append(want, n)
				}
			}
			got := tab.num["date_time"]
			for i := range got {
				got[i] -= cfg.BaseTime
			}
			if !slices.Equal(got, want) && !(len(got) == 0 && len(want) == 0) {
				t.Fatalf("%d events: the %ss are events %v..., want %v...", events, kind, got[:min(len(got), 8)], want[:min(len(want), 8)])
			}
		}
	}
}

func TestReferencesNameEarlierEvents(t *testing.T) {
	cfg := testConfig(300_000) // 6000 people: more than NumActivePeople
	cfg.FirstEventRate = 1000
	born := func(tab *table) map[int64]int64 { // id -> event number
		m := map[int64]int64{}
		for i, id := range tab.num["id"] {
			if _, dup := m[id]; dup {
				t.Fatalf("id %d created twice", id)
			}
			m[id] = tab.num["date_time"][i] - cfg.BaseTime
		}
		return m
	}
	people := born(generate(t, cfg, Persons, 4096))
	auctions := generate(t, cfg, Auctions, 4096)
	auctionAt := born(auctions)
	check := func(what string, id, at int64, created map[int64]int64) {
		n, ok := created[id]
		if !ok || n >= at {
			t.Fatalf("%s %d at event %d: created at %d (exists: %v)", what, id, at, n, ok)
		}
	}
	for i, s := range auctions.num["seller"] {
		check("seller", s, auctions.num["date_time"][i]-cfg.BaseTime, people)
	}
	bids := generate(t, cfg, Bids, 1<<16)
	for i := range bids.rows {
		at := bids.num["date_time"][i] - cfg.BaseTime
		check("auction", bids.num["auction"][i], at, auctionAt)
		check("bidder", bids.num["bidder"][i], at, people)
		if at-people[bids.num["bidder"][i]] > 50*(cfg.NumActivePeople+hotBatch) {
			t.Fatalf("bid at %d by bidder %d, who is not among the recent people", at, bids.num["bidder"][i])
		}
	}
}

func TestPartitionsTogetherAreTheStream(t *testing.T) {
	cfg := testConfig(30_017)
	for _, kind := range []Kind{Bids, Auctions, Persons} {
		whole := generate(t, cfg, kind, 5000).lines(Schema(kind))
		slices.Sort(whole)
		for _, parts := range []int{2, 3, 8} {
			var union []string
			for p := range parts {
				c := cfg
				c.Partitions, c.Partition = parts, p
				tab := generate(t, c, kind, 777)
				if !slices.IsSorted(tab.num["date_time"]) {
					t.Fatalf("%s partition %d of %d: date_time decreases", kind, p, parts)
				}
				union = append(union, tab.lines(Schema(kind))...)
			}
			slices.Sort(union)
			if !slices.Equal(union, whole) {
				t.Fatalf("%s: %d partitions hold %d rows that differ from the stream's %d", kind, parts, len(union), len(whole))
			}
		}
	}
}

func TestEventTimesFollowTheRate(t *testing.T) {
	cfg := testConfig(1_000_000) // 100 s of event time at 10,000 events/s
	bids := generate(t, cfg, Bids, 1<<16)
	ts := bids.num["date_time"]
	if !slices.IsSorted(ts) {
		t.Fatal("date_time decreases")
	}
	if ts[0] != cfg.BaseTime || ts[len(ts)-1] != cfg.BaseTime+99_999 {
		t.Fatalf("bids span %d to %d ms after the base time, want 0 to 99999", ts[0]-cfg.BaseTime, ts[len(ts)-1]-cfg.BaseTime)
	}
}

func TestExtraPadsWithoutChangingTheOtherColumns(t *testing.T) {
	cfg := testConfig(20_000)
	padded := cfg
	padded.AvgBidBytes, padded.AvgAuctionBytes, padded.AvgPersonBytes = 100, 500, 200
	// The reference counts an event's size as fixed bytes for its numbers plus the lengths
	// of some of its strings.
	for _, tc := range []struct {
		kind    Kind
		avg     int
		fixed   int
		counted []string
	}{
		{Bids, 100, 32, nil},
		{Auctions, 500, 48, []string{"item_name", "description"}},
		{Persons, 200, 8, []string{"name", "email_address", "credit_card", "city", "state"}},
	} {
		plain, pad := generate(t, cfg, tc.kind, 1000), generate(t, padded, tc.kind, 1000)
		size := 0
		for i := range pad.rows {
			size += tc.fixed + len(pad.str["extra"][i])
			for _, name := range tc.counted {
				size += len(pad.str[name][i])
			}
		}
		if avg := float64(size) / float64(pad.rows); avg < float64(tc.avg)*0.98 || avg > float64(tc.avg)*1.02 {
			t.Fatalf("%s: events average %.1f bytes, want %d", tc.kind, avg, tc.avg)
		}
		plain.str["extra"] = pad.str["extra"]
		if a, b := plain.lines(Schema(tc.kind)), pad.lines(Schema(tc.kind)); !slices.Equal(a, b) {
			t.Fatalf("%s: padding changed other columns", tc.kind)
		}
	}
}

func TestNextEndsWithEOFAndRefusesBadInput(t *testing.T) {
	g, err := NewGenerator(testConfig(0), Bids)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.Next(10); !errors.Is(err, io.EOF) {
		t.Fatalf("empty stream: %v", err)
	}
	g, _ = NewGenerator(testConfig(100), Persons)
	if _, err := g.Next(0); err == nil {
		t.Fatal("Next(0) succeeded")
	}
	rec, err := g.Next(10)
	if err != nil || rec.NumRows() != 2 {
		t.Fatalf("persons of 100 events: %v", err)
	}
	rec.Release()
	for range 2 {
		if _, err := g.Next(10); !errors.Is(err, io.EOF) {
			t.Fatalf("after the end: %v", err)
		}
	}
	if _, err := NewGenerator(testConfig(100), Kind(5)); err == nil {
		t.Fatal("an unknown kind was accepted")
	}
	bad := testConfig(100)
	bad.Partition = 3
	if _, err := NewGenerator(bad, Bids); err == nil || !strings.Contains(err.Error(), "Partition") {
		t.Fatalf("partition 3 of 1: %v", err)
	}
	g, _ = NewGenerator(testConfig(1<<40), Bids)
	rec, err = g.Next(MaxBatchRows + 5)
	if err != nil || rec.NumRows() != MaxBatchRows {
		t.Fatalf("a huge batch: %v", err)
	}
	rec.Release()
}

// share returns the fraction of vs for which f holds.
func share(vs []int64, f func(int64) bool) float64 {
	n := 0
	for _, v := range vs {
		if f(v) {
			n++
		}
	}
	return float64(n) / float64(len(vs))
}

// benchmarkKind generates kind's events in batches of 64K rows and reports rows per second.
func benchmarkKind(b *testing.B, kind Kind, opts ...Option) {
	cfg := DefaultConfig()
	cfg.Events = 1 << 62
	g, err := NewGenerator(cfg, kind, opts...)
	if err != nil {
		b.Fatal(err)
	}
	const rows = 64 << 10
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		rec, err := g.Next(rows)
		if err != nil {
			b.Fatal(err)
		}
		rec.Release()
	}
	b.ReportMetric(float64(b.N)*rows/b.Elapsed().Seconds()/1e6, "Mrows/s")
	b.ReportMetric(b.Elapsed().Seconds()*1e9/(float64(b.N)*rows), "ns/row")
}
