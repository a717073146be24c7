package nexmark

import (
	"math/big"
	"testing"
)

func TestEveryEpochIsOnePersonThreeAuctionsFortySixBids(t *testing.T) {
	for epoch := int64(0); epoch < 1000; epoch += 37 {
		count := map[Kind]int{}
		for n := epoch * 50; n < epoch*50+50; n++ {
			k := kindOf(n)
			count[k]++
			lo, hi := offsets(k)
			if off := n % 50; off < lo || off >= hi {
				t.Fatalf("event %d is a %s at offset %d, outside [%d, %d)", n, k, off, lo, hi)
			}
		}
		if count[Persons] != 1 || count[Auctions] != 3 || count[Bids] != 46 {
			t.Fatalf("epoch %d: %v", epoch, count)
		}
	}
}

func TestIdsNameTheEventsThatCreatedThem(t *testing.T) {
	persons, auctions := int64(0), int64(0)
	for n := range int64(5000) {
		switch kindOf(n) {
		case Persons:
			if lastPerson(n) != persons || personEvent(persons) != n {
				t.Fatalf("event %d creates person %d; lastPerson %d, personEvent %d", n, persons, lastPerson(n), personEvent(persons))
			}
			persons++
		case Auctions:
			if lastAuction(n) != auctions || auctionEvent(auctions) != n {
				t.Fatalf("event %d creates auction %d; lastAuction %d, auctionEvent %d", n, auctions, lastAuction(n), auctionEvent(auctions))
			}
			auctions++
		default:
			if lastPerson(n) != persons-1 || lastAuction(n) != auctions-1 {
				t.Fatalf("bid %d: lastPerson %d lastAuction %d after %d people and %d auctions", n, lastPerson(n), lastAuction(n), persons, auctions)
			}
		}
	}
	if lastAuction(0) != -1 {
		t.Fatalf("lastAuction(0) = %d", lastAuction(0))
	}
}

func TestChoicesOnlyNameExistingPeopleAndAuctions(t *testing.T) {
	cfg := DefaultConfig()
	for _, tc := range []struct{ active, inFlight int64 }{{1000, 100}, {1, 1}, {7, 3}} {
		cfg.NumActivePeople, cfg.NumInFlightAuctions = tc.active, tc.inFlight
		for epoch := range int64(3000) {
			c := choicesFor(&cfg, epoch)
			firstAuction, firstBid := epoch*50+1, epoch*50+4
			people := lastPerson(firstAuction) + 1 // people an auction may name
			auctions := lastAuction(firstBid) + 1  // auctions a bid may name
			if c.activeFirst < 0 || c.activeFirst+c.activeCount != people || c.activeCount != min(people, tc.active) {
				t.Fatalf("epoch %d: active people [%d, +%d) of %d", epoch, c.activeFirst, c.activeCount, people)
			}
			if c.inFlightFirst < 0 || c.inFlightFirst+c.inFlightCount != auctions || c.inFlightCount > tc.inFlight+1 {
				t.Fatalf("epoch %d: in-flight auctions [%d, +%d) of %d", epoch, c.inFlightFirst, c.inFlightCount, auctions)
			}
			for _, id := range []int64{c.hotSeller, c.hotBidder} {
				if id < 0 || id >= people {
					t.Fatalf("epoch %d: hot person %d of %d", epoch, id, people)
				}
			}
			if c.hotAuction < 0 || c.hotAuction >= auctions {
				t.Fatalf("epoch %d: hot auction %d of %d", epoch, c.hotAuction, auctions)
			}
			if c.hotSeller%100 != 0 || c.hotAuction%100 != 0 || (people > 1 && c.hotBidder%100 != 1) {
				t.Fatalf("epoch %d: hot keys %+v", epoch, c)
			}
		}
	}
}

func TestEventTimeIsExact(t *testing.T) {
	for _, rate := range []int64{1, 7, 999, 1000, 1001, 10_000, 3_333_333, 10_000_000, maxEventRate} {
		c := clock{rate: rate}
		start := int64(1) << 40
		c.seek(5, start)
		for n := start; n < start+3000; n++ {
			want := new(big.Int).Mul(big.NewInt(n), big.NewInt(1000))
			want.Div(want, big.NewInt(rate))
			if got := eventTime(5, rate, n); got != 5+want.Int64() {
				t.Fatalf("rate %d: eventTime(%d) = %d, want %d", rate, n, got, 5+want.Int64())
			}
			if c.ms != 5+want.Int64() {
				t.Fatalf("rate %d: clock at %d says %d, want %d", rate, n, c.ms, 5+want.Int64())
			}
			c.step()
		}
	}
	if got := eventTime(DefaultBaseTime, 10_000, 25); got != DefaultBaseTime+2 {
		t.Fatalf("event 25 at 10,000/s: %d ms after base", got-DefaultBaseTime)
	}
}

func TestPartitionRowsCountsEveryEventOnce(t *testing.T) {
	for _, events := range []int64{0, 1, 3, 4, 5, 49, 50, 51, 99, 100, 1234, 5000} {
		for _, parts := range []int{1, 2, 3, 7, 64} {
			for _, kind := range []Kind{Bids, Auctions, Persons} {
				var sum int64
				for p := range parts {
					want := int64(0)
					for n := range events {
						if kindOf(n) == kind && int(n/50)%parts == p {
							want++
						}
					}
					if got := partitionRows(events, parts, p, kind); got != want {
						t.Fatalf("%d events, partition %d of %d, %s: %d rows, want %d", events, p, parts, kind, got, want)
					}
					sum += want
				}
				lo, hi := offsets(kind)
				full, rest := events/50, events%50
				if total := full*(hi-lo) + max(min(hi, rest)-lo, 0); sum != total {
					t.Fatalf("%d events, %s: partitions hold %d, stream %d", events, kind, sum, total)
				}
			}
		}
	}
}
