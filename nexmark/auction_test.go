package nexmark

import "testing"

func TestAuctionsLookLikeTheBenchmarks(t *testing.T) {
	cfg := testConfig(100_000)
	auctions := generate(t, cfg, Auctions, 1<<12)
	// 100 auctions in flight arrive over 1666 events, 166 ms at 10,000 events/s.
	for i := range auctions.rows {
		dt, exp := auctions.num["date_time"][i], auctions.num["expires"][i]
		if exp <= dt || exp > dt+2*167 {
			t.Fatalf("auction %d at %d expires at %d", i, dt, exp)
		}
		if ib, res := auctions.num["initial_bid"][i], auctions.num["reserve"][i]; ib < 100 || res <= ib {
			t.Fatalf("auction %d: initial bid %d, reserve %d", i, ib, res)
		}
		if c := auctions.num["category"][i]; c < 10 || c > 14 {
			t.Fatalf("auction %d: category %d", i, c)
		}
		if n, d := auctions.str["item_name"][i], auctions.str["description"][i]; len(n) > 19 || len(d) > 99 || len(d) == 0 {
			t.Fatalf("auction %d: item %q, description %q", i, n, d)
		}
		if auctions.str["extra"][i] != "" {
			t.Fatalf("auction %d has extra %q", i, auctions.str["extra"][i])
		}
	}
}

func TestHotSellersOfferMostAuctions(t *testing.T) {
	cfg := testConfig(500_000)
	auctions := generate(t, cfg, Auctions, 1<<16)
	if f := share(auctions.num["seller"], func(s int64) bool { return (s-firstPersonID)%hotBatch == 0 }); f < 0.74 || f > 0.78 {
		t.Fatalf("%.3f of auctions are by hot sellers, want about 3/4", f)
	}
}

func BenchmarkAuctions(b *testing.B) { benchmarkKind(b, Auctions) }
