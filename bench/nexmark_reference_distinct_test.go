package bench

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// dayStats are the counts of q15 and q16 for one group of bids: the bids, the distinct
// bidders and the distinct auctions, in all and in the three price ranges of Nexmark
// (below 10,000, below 1,000,000, the rest).
type dayStats struct {
	bids     [4]int64
	bidders  [4]map[int64]bool
	auctions [4]map[int64]bool
	minute   string // the latest "HH:mm" of the bids
}

func newDayStats() *dayStats {
	s := &dayStats{}
	for r := range 4 {
		s.bidders[r], s.auctions[r] = map[int64]bool{}, map[int64]bool{}
	}
	return s
}

// add counts bid b in all and in its price range.
func (s *dayStats) add(b nxBid) {
	rank := 3
	switch {
	case b.price < 10_000:
		rank = 1
	case b.price < 1_000_000:
		rank = 2
	}
	for _, r := range []int{0, rank} {
		s.bids[r]++
		s.bidders[r][b.bidder] = true
		s.auctions[r][b.auction] = true
	}
	s.minute = max(s.minute, time.UnixMilli(b.t).UTC().Format("15:04"))
}

// counts lists the twelve counts in the queries' column order.
func (s *dayStats) counts() []any {
	var out []any
	for _, n := range s.bids {
		out = append(out, n)
	}
	for _, set := range s.bidders {
		out = append(out, len(set))
	}
	for _, set := range s.auctions {
		out = append(out, len(set))
	}
	return out
}

const oneDay = int64(24 * time.Hour / time.Millisecond)

// dayOf renders the UTC day that starts at ms.
func dayOf(ms int64) string { return time.UnixMilli(ms).UTC().Format("2006-01-02") }

// referenceQ15 counts each day's bids, bidders and auctions, each bidder and auction once.
func referenceQ15(_ *testing.T, ev nxEvents) []string {
	days := map[int64]*dayStats{}
	for _, b := range ev.bids {
		d := b.t - b.t%oneDay
		if days[d] == nil {
			days[d] = newDayStats()
		}
		days[d].add(b)
	}
	var out []string
	for d, s := range days {
		out = append(out, row(append([]any{d, d + oneDay, dayOf(d)}, s.counts()...)...))
	}
	return out
}

// referenceQ16 counts each channel's bids, bidders and auctions per day, each bidder and
// auction once, with the latest minute of the day bid in.
func referenceQ16(_ *testing.T, ev nxEvents) []string {
	type key struct {
		channel string
		day     int64
	}
	groups := map[key]*dayStats{}
	for _, b := range ev.bids {
		k := key{b.channel, b.t - b.t%oneDay}
		if groups[k] == nil {
			groups[k] = newDayStats()
		}
		groups[k].add(b)
	}
	var out []string
	for k, s := range groups {
		out = append(out, row(append([]any{k.channel, k.day, k.day + oneDay, dayOf(k.day), s.minute}, s.counts()...)...))
	}
	return out
}

// TestNexmarkDailyQueriesMatchReferencesOverDays runs q15 and q16, whose windows are days,
// over 200,000 events at one event per second of event time (two days and a third: three
// windows, two of them whole days), for two seeds at parallelism 1 to 8, and compares
// their rows with the references.
func TestNexmarkDailyQueriesMatchReferencesOverDays(t *testing.T) {
	parallelisms := []int{1, 2, 3, 4, 5, 6, 7, 8}
	if testing.Short() {
		parallelisms = []int{1, 3, 8}
	}
	for _, seed := range []int64{1, 7} {
		in := NexmarkInput{Events: 200_000, Seed: seed, Rate: 1}
		ev := generateNexmark(t, in)
		for _, q := range []string{"q15", "q16"} {
			want := nexmarkReferences[q](t, ev)
			slices.Sort(want)
			days := map[string]bool{}
			for _, r := range want {
				days[strings.Split(r, "|")[map[string]int{"q15": 2, "q16": 3}[q]]] = true
			}
			if len(days) != 3 {
				t.Fatalf("%s, seed %d: the reference covers %d days, want 3", q, seed, len(days))
			}
			for _, p := range parallelisms {
				got := runQuery(t, q, in, p)
				if !slices.Equal(got, want) {
					t.Fatalf("%s, seed %d, parallelism %d: %d rows, want %d; %s", q, seed, p, len(got), len(want), firstRowDifference(got, want))
				}
			}
		}
	}
}
