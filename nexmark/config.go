package nexmark

import "fmt"

// Kind is one of the three kinds of Nexmark events.
type Kind uint8

// The kinds of events. Every epoch of 50 consecutive event numbers holds, in this order,
// 1 person, 3 auctions and 46 bids.
const (
	Bids Kind = iota
	Auctions
	Persons
)

// String is the kind's name as the CLI and error messages write it.
func (k Kind) String() string {
	switch k {
	case Bids:
		return "bid"
	case Auctions:
		return "auction"
	case Persons:
		return "person"
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// ParseKind reads a kind's name: bid, auction or person, singular or plural.
func ParseKind(s string) (Kind, error) {
	switch s {
	case "bid", "bids":
		return Bids, nil
	case "auction", "auctions":
		return Auctions, nil
	case "person", "persons", "people":
		return Persons, nil
	}
	return 0, fmt.Errorf("nexmark: unknown event kind %q (want bid, auction or person)", s)
}

// Config says which events a generator makes. The same Config always gives the same rows.
type Config struct {
	// Events is the number of events over all kinds, numbered 0 to Events-1; a generator
	// of one kind yields only that kind's share of them.
	Events int64
	// Seed selects the random values; ids, proportions and event times do not depend on it.
	Seed int64
	// Partitions splits the event numbers into independent streams that together hold every
	// event once: partition p holds the epochs (blocks of 50 events) e with e mod Partitions
	// = p. Partition is the one a Generator makes.
	Partitions int
	Partition  int
	// FirstEventRate is the rate of events, over all kinds and partitions, in events per
	// second of event time: event n happens at BaseTime + floor(n·1000/FirstEventRate) ms.
	// The reference's default is 10,000.
	FirstEventRate int64
	// BaseTime is the event time of event 0, in milliseconds since the Unix epoch.
	BaseTime int64
	// NumActivePeople is how many of the most recent people new auctions and bids pick
	// their sellers and bidders from when they do not pick a hot one.
	NumActivePeople int64
	// NumInFlightAuctions is how many of the most recent auctions a bid picks from when it
	// does not pick a hot one.
	NumInFlightAuctions int64
	// HotAuctionRatio, HotSellersRatio and HotBiddersRatio make 1-1/ratio of bids go to the
	// current hot auction, of auctions to the current hot seller, and of bids come from the
	// current hot bidder.
	HotAuctionRatio int64
	HotSellersRatio int64
	HotBiddersRatio int64
	// AvgBidBytes, AvgAuctionBytes and AvgPersonBytes, when positive, pad each event's
	// `extra` column with letters so that the event's size, counted as the reference counts
	// it (8 bytes per number plus the string lengths), averages that many bytes; the
	// reference uses 100, 500 and 200. Zero, the default, leaves `extra` empty: the column
	// is there for compatibility and costs nothing.
	AvgBidBytes     int
	AvgAuctionBytes int
	AvgPersonBytes  int
	// BatchRows is the most rows a Source puts in one batch (Generator.Next is told its
	// own).
	BatchRows int
}

// DefaultBaseTime is the event time of event 0 under DefaultConfig: 2015-07-15 00:00:00 UTC,
// in milliseconds since the Unix epoch.
const DefaultBaseTime = 1_436_918_400_000

// DefaultConfig returns the reference generator's standard parameters: 10,000 events per
// second of event time, 1000 active people, 100 auctions in flight, hot auction ratio 2, hot
// seller and bidder ratios 4; 100 million events in one partition, seed 1, empty `extra`.
func DefaultConfig() Config {
	return Config{
		Events:              100_000_000,
		Seed:                1,
		Partitions:          1,
		FirstEventRate:      10_000,
		BaseTime:            DefaultBaseTime,
		NumActivePeople:     1000,
		NumInFlightAuctions: 100,
		HotAuctionRatio:     2,
		HotSellersRatio:     4,
		HotBiddersRatio:     4,
		BatchRows:           16 << 10,
	}
}

// maxEventRate bounds FirstEventRate so that event-time arithmetic cannot overflow.
const maxEventRate = 1_000_000_000_000

// maxHotRatio bounds the hot ratios, which bids split from one random word with a channel
// choice (see split).
const maxHotRatio = 1 << 16

// maxEventBytes bounds the Avg*Bytes sizes.
const maxEventBytes = 1 << 20

// Validate reports the first field that is out of range.
func (c Config) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("nexmark: config: "+format+" (start from DefaultConfig())", args...)
	}
	switch {
	case c.Events < 0:
		return bad("Events %d is negative", c.Events)
	case c.Partitions < 1:
		return bad("Partitions %d: want at least 1", c.Partitions)
	case c.Partition < 0 || c.Partition >= c.Partitions:
		return bad("Partition %d: want 0 to %d", c.Partition, c.Partitions-1)
	case c.FirstEventRate < 1 || c.FirstEventRate > maxEventRate:
		return bad("FirstEventRate %d: want 1 to %d events per second", c.FirstEventRate, int64(maxEventRate))
	case c.NumActivePeople < 1:
		return bad("NumActivePeople %d: want at least 1", c.NumActivePeople)
	case c.NumInFlightAuctions < 1:
		return bad("NumInFlightAuctions %d: want at least 1", c.NumInFlightAuctions)
	case c.BatchRows < 1:
		return bad("BatchRows %d: want at least 1", c.BatchRows)
	}
	for _, r := range []struct {
		name string
		v    int64
	}{{"HotAuctionRatio", c.HotAuctionRatio}, {"HotSellersRatio", c.HotSellersRatio}, {"HotBiddersRatio", c.HotBiddersRatio}} {
		if r.v < 1 || r.v > maxHotRatio {
			return bad("%s %d: want 1 (no hot keys) to %d", r.name, r.v, maxHotRatio)
		}
	}
	for _, s := range []struct {
		name string
		v    int
	}{{"AvgBidBytes", c.AvgBidBytes}, {"AvgAuctionBytes", c.AvgAuctionBytes}, {"AvgPersonBytes", c.AvgPersonBytes}} {
		if s.v < 0 || s.v > maxEventBytes {
			return bad("%s %d: want 0 to %d", s.name, s.v, maxEventBytes)
		}
	}
	return nil
}
