package nexmark

import (
	"github.com/apache/arrow-go/v18/arrow"

	"millrace/schema"
)

// auctionFixedSize is what an auction's numbers count towards its size for `extra`, as
// the reference counts them.
const auctionFixedSize = 6 * 8

// The longest item name and description, before trimming: the reference's nextString(20)
// and nextString(100) draw 3 to 19 and 3 to 99 characters.
const (
	itemNameMax    = 20
	descriptionMax = 100
)

// auctions builds the next n auctions. Auction ids count up from 1000 in event order. The
// seller is, with probability 1-1/HotSellersRatio, the hot seller (the first person of the
// latest batch of 100), else a uniform one of the NumActivePeople latest people. The
// category is one of 5 from 10; the reserve is the initial bid plus a second price; the
// auction expires after a uniform time of 1 ms to twice the event time that
// NumInFlightAuctions further auctions take to arrive, as in the reference.
func (g *Generator) auctions(n int) arrow.RecordBatch {
	cfg, t, mem := &g.cfg, g.tab, g.mem
	id, initialBid, reserve := newInt64Column(mem, n), newInt64Column(mem, n), newInt64Column(mem, n)
	dateTime, expires, seller, category := newInt64Column(mem, n), newInt64Column(mem, n), newInt64Column(mem, n), newInt64Column(mem, n)
	itemName := newStringColumn(mem, n, n*itemNameMax)
	description := newStringColumn(mem, n, n*descriptionMax)
	extra := newStringColumn(mem, n, n*maxExtra(cfg.AvgAuctionBytes))
	// Events until NumInFlightAuctions more auctions have been created.
	horizonEvents := cfg.NumInFlightAuctions * epochEvents / auctionShare
	g.fill(n, func(i int, epoch, from, to int64) {
		c := choicesFor(cfg, epoch)
		for ev := epoch*epochEvents + from; ev < epoch*epochEvents+to; ev++ {
			r := eventRNG(g.key, ev)
			ts := eventTime(cfg.BaseTime, cfg.FirstEventRate, ev)
			s := c.hotSeller
			if r.intn(cfg.HotSellersRatio) == 0 {
				s = c.activeFirst + r.intn(c.activeCount)
			}
			id.v[i] = firstAuctionID + lastAuction(ev)
			seller.v[i] = firstPersonID + s
			category.v[i] = firstCategoryID + r.intn(numCategories)
			initialBid.v[i] = r.price()
			horizon := eventTime(cfg.BaseTime, cfg.FirstEventRate, ev+horizonEvents) - ts
			expires.v[i] = ts + 1 + r.intn(max(2*horizon, 1))
			name := t.text(&r, itemNameMax)
			desc := t.text(&r, descriptionMax)
			reserve.v[i] = initialBid.v[i] + r.price()
			itemName.add(i, name)
			description.add(i, desc)
			extra.add(i, t.extra(&r, auctionFixedSize+len(name)+len(desc), cfg.AvgAuctionBytes))
			dateTime.v[i] = ts
			i++
		}
	})
	return batch(auctionSchema, n, []arrow.Array{
		AuctionID:          id.finish(arrow.PrimitiveTypes.Int64, n),
		AuctionItemName:    itemName.finish(n),
		AuctionDescription: description.finish(n),
		AuctionInitialBid:  initialBid.finish(arrow.PrimitiveTypes.Int64, n),
		AuctionReserve:     reserve.finish(arrow.PrimitiveTypes.Int64, n),
		AuctionDateTime:    dateTime.finish(schema.Timestamp, n),
		AuctionExpires:     expires.finish(schema.Timestamp, n),
		AuctionSeller:      seller.finish(arrow.PrimitiveTypes.Int64, n),
		AuctionCategory:    category.finish(arrow.PrimitiveTypes.Int64, n),
		AuctionExtra:       extra.finish(n),
	})
}
