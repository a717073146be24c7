package nexmark

import (
	"slices"
	"testing"
)

func TestHotKeysGetALargeShareOfBids(t *testing.T) {
	cfg := testConfig(500_000)
	bids := generate(t, cfg, Bids, 1<<16)
	// Half the bids go to the hot auction, plus the random picks that land on it.
	if f := share(bids.num["auction"], func(a int64) bool { return (a-firstAuctionID)%hotBatch == 0 }); f < 0.49 || f > 0.53 {
		t.Fatalf("%.3f of bids go to hot auctions, want about 1/2", f)
	}
	if f := share(bids.num["bidder"], func(b int64) bool { return (b-firstPersonID)%hotBatch == 1 }); f < 0.74 || f > 0.77 {
		t.Fatalf("%.3f of bids come from hot bidders, want about 3/4", f)
	}
	// The busiest 1% of auctions take over 40% of bids (uniform bidding would give them 1%).
	count := map[int64]int{}
	for _, a := range bids.num["auction"] {
		count[a]++
	}
	per := make([]int, 0, len(count))
	for _, n := range count {
		per = append(per, n)
	}
	slices.Sort(per)
	slices.Reverse(per)
	top := 0
	for _, n := range per[:len(per)/100] {
		top += n
	}
	if f := float64(top) / float64(bids.rows); f < 0.4 {
		t.Fatalf("the busiest 1%% of %d auctions take %.3f of bids", len(per), f)
	}
	hot := 0
	for _, c := range bids.str["channel"] {
		if slices.Contains(hotChannels[:], c) {
			hot++
		}
	}
	if f := float64(hot) / float64(bids.rows); f < 0.49 || f > 0.51 {
		t.Fatalf("%.3f of bids come through hot channels, want 1/2", f)
	}
}

// BenchmarkBids is the generator as a query's source sees it: fresh buffers for every batch.
func BenchmarkBids(b *testing.B) { benchmarkKind(b, Bids) }

// BenchmarkBidsRecycled leaves out the cost of fresh memory (allocation, zeroing, garbage
// collection), which an allocator that recycles released buffers would save.
func BenchmarkBidsRecycled(b *testing.B) { benchmarkKind(b, Bids, WithAllocator(NewRecycler())) }
