package plan

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"

	"millrace/engine"
	"millrace/nexmark"
	"millrace/op"
	"millrace/spec"
)

// TestNexmarkQ19KeepsEachAuctionsTopBids runs examples/nexmark/q19.yaml over 30,000 events
// at parallelism 1 and 3 and applies its changelog: each auction keeps the same bids at both,
// bids of that auction whose prices are its 10 highest, computed bid by bid from the
// generator.
func TestNexmarkQ19KeepsEachAuctionsTopBids(t *testing.T) {
	const events = 30_000
	text, err := os.ReadFile("../examples/nexmark/q19.yaml")
	if err != nil {
		t.Fatal(err)
	}
	env := func(k string) (string, bool) { return fmt.Sprint(events), k == "NEXMARK_EVENTS" }
	var first map[int64]map[string]bool
	for _, p := range []int{1, 3} {
		s, err := spec.Parse(text, "q19.yaml", env)
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		pl, err := Build(s, Options{Parallelism: p, Stdout: &out})
		if err != nil {
			t.Fatal(err)
		}
		stats, err := engine.Run(context.Background(), pl.Graph, engine.DefaultOptions())
		if err != nil {
			t.Fatal(err)
		}
		if l := pl.Ledger(stats); !l.Balanced() || l.Views[0].In != l.Sources[0].Read {
			t.Fatalf("at %d, ledger:\n%s", p, l)
		}
		kept := map[int64]map[string]bool{} // auction to its bids as bidder|price|date_time
		for line := range strings.Lines(out.String()) {
			var row struct {
				Op       string `json:"_op"`
				Auction  int64  `json:"auction"`
				Bidder   int64  `json:"bidder"`
				Price    int64  `json:"price"`
				DateTime string `json:"date_time"`
			}
			if err := json.Unmarshal([]byte(line), &row); err != nil {
				t.Fatalf("row %q: %v", line, err)
			}
			ts, err := time.Parse(time.RFC3339Nano, row.DateTime)
			if err != nil {
				t.Fatal(err)
			}
			bid := fmt.Sprintf("%d|%d|%d", row.Bidder, row.Price, ts.UnixMilli())
			bids := kept[row.Auction]
			if bids == nil {
				bids = map[string]bool{}
				kept[row.Auction] = bids
			}
			switch {
			case row.Op == op.OpInsert && !bids[bid]:
				bids[bid] = true
			case row.Op == op.OpDelete && bids[bid]:
				delete(bids, bid)
			default:
				t.Fatalf("at %d, %s does not fit auction %d's bids %v", p, line, row.Auction, bids)
			}
		}
		if first == nil {
			first = kept
		} else if !maps.EqualFunc(kept, first, maps.Equal) {
			t.Fatalf("at %d the auctions keep other bids than at 1", p)
		}
	}

	cfg := nexmark.DefaultConfig()
	cfg.Events = events
	g, err := nexmark.NewGenerator(cfg, nexmark.Bids)
	if err != nil {
		t.Fatal(err)
	}
	prices := map[int64][]int64{}
	bids := map[string]bool{} // auction|bidder|price|date_time
	for {
		rec, err := g.Next(4096)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		a := rec.Column(nexmark.BidAuction).(*array.Int64)
		b := rec.Column(nexmark.BidBidder).(*array.Int64)
		pr := rec.Column(nexmark.BidPrice).(*array.Int64)
		ts := rec.Column(nexmark.BidDateTime).(*array.Timestamp)
		for i := range int(rec.NumRows()) {
			prices[a.Value(i)] = append(prices[a.Value(i)], pr.Value(i))
			bids[fmt.Sprintf("%d|%d|%d|%d", a.Value(i), b.Value(i), pr.Value(i), ts.Value(i))] = true
		}
		rec.Release()
	}
	if len(prices) != len(first) || len(prices) < 100 {
		t.Fatalf("%d auctions kept bids, %d had bids", len(first), len(prices))
	}
	for auction, ps := range prices {
		slices.Sort(ps)
		slices.Reverse(ps)
		var got []int64
		for bid := range first[auction] {
			if !bids[fmt.Sprintf("%d|%s", auction, bid)] {
				t.Fatalf("auction %d keeps %s, which is no bid of it", auction, bid)
			}
			var b, price, at int64
			if _, err := fmt.Sscanf(bid, "%d|%d|%d", &b, &price, &at); err != nil {
				t.Fatal(err)
			}
			got = append(got, price)
		}
		slices.Sort(got)
		slices.Reverse(got)
		if want := ps[:min(10, len(ps))]; !slices.Equal(got, want) {
			t.Fatalf("auction %d keeps prices %v, its highest are %v", auction, got, want)
		}
	}
}
