package nexmark

import (
	"github.com/apache/arrow-go/v18/arrow"

	"millrace/schema"
)

// bidFixedSize is what a bid's numbers count towards its size for `extra`, as the
// reference counts them.
const bidFixedSize = 4 * 8

// maxChannelLen bounds a channel name.
const maxChannelLen = len("channel-") + 4

// bids builds the next n bids. A bid goes, with probability 1-1/HotAuctionRatio, to the hot
// auction (the first of the latest batch of 100 auctions), else to a uniform one of the
// NumInFlightAuctions+1 latest auctions; its bidder is, with probability 1-1/HotBiddersRatio,
// the hot bidder, else a uniform one of the NumActivePeople latest people. Its price follows
// the reference's log-uniform distribution; its channel is a hot one with probability 1/2.
func (g *Generator) bids(n int) arrow.RecordBatch {
	cfg, t, mem := &g.cfg, g.tab, g.mem
	auction, bidder, price, dateTime := newInt64Column(mem, n), newInt64Column(mem, n), newInt64Column(mem, n), newInt64Column(mem, n)
	channel := newStringColumn(mem, n, n*maxChannelLen)
	url := newStringColumn(mem, n, n*maxURLLen)
	extra := newStringColumn(mem, n, n*maxExtra(cfg.AvgBidBytes))
	padded := cfg.AvgBidBytes > 0
	g.fill(n, func(i int, epoch, from, to int64) {
		c := choicesFor(cfg, epoch)
		first := epoch*epochEvents + from
		clk := g.clockAt(first)
		for ev := first; ev < epoch*epochEvents+to; ev++ {
			r := eventRNG(g.key, ev)
			// One word decides hot auction, hot bidder and channel.
			x := r.next()
			hotA, x := split(x, cfg.HotAuctionRatio)
			hotB, x := split(x, cfg.HotBiddersRatio)
			hotC, x := split(x, hotChannelsRatio)
			k, _ := split(x, int64(len(hotChannels)))
			if hotC == 0 {
				k, _ = split(x, channels)
				k += int64(len(hotChannels))
			}
			a := c.hotAuction
			if hotA == 0 {
				a = c.inFlightFirst + r.intn(c.inFlightCount)
			}
			b := c.hotBidder
			if hotB == 0 {
				b = c.activeFirst + r.intn(c.activeCount)
			}
			auction.v[i] = firstAuctionID + a
			bidder.v[i] = firstPersonID + b
			price.v[i] = r.price()
			ch, l := &t.chans[k], t.chanLens[k]
			channel.addName(i, &ch.name, l.name)
			url.addURL(i, &ch.url, l.url)
			if padded {
				extra.add(i, t.extra(&r, bidFixedSize, cfg.AvgBidBytes))
			} else {
				extra.skip(i)
			}
			dateTime.v[i] = clk.ms
			clk.step()
			i++
		}
	})
	return batch(bidSchema, n, []arrow.Array{
		BidAuction:  auction.finish(arrow.PrimitiveTypes.Int64, n),
		BidBidder:   bidder.finish(arrow.PrimitiveTypes.Int64, n),
		BidPrice:    price.finish(arrow.PrimitiveTypes.Int64, n),
		BidChannel:  channel.finish(n),
		BidURL:      url.finish(n),
		BidDateTime: dateTime.finish(schema.Timestamp, n),
		BidExtra:    extra.finish(n),
	})
}
