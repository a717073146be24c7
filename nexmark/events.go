package nexmark

// The shape of the event stream, as in the reference generator.
const (
	// An epoch is a block of epochEvents consecutive event numbers: personShare people,
	// then auctionShare auctions, then bidShare bids.
	personShare  = 1
	auctionShare = 3
	bidShare     = 46
	epochEvents  = personShare + auctionShare + bidShare

	// Ids start above zero so that small runs still meet the queries' constants.
	firstPersonID   = 1000
	firstAuctionID  = 1000
	firstCategoryID = 10
	numCategories   = 5

	// hotBatch is the size of the batches of people and auctions the hot keys come from: the
	// hot seller is the first person of the latest batch, the hot bidder the second, the hot
	// auction the first auction of the latest batch.
	hotBatch = 100
)

// kindOf returns the kind of event number n.
func kindOf(n int64) Kind {
	switch off := n % epochEvents; {
	case off < personShare:
		return Persons
	case off < personShare+auctionShare:
		return Auctions
	}
	return Bids
}

// offsets returns the offsets within an epoch that hold kind's events: [lo, hi).
func offsets(kind Kind) (lo, hi int64) {
	switch kind {
	case Persons:
		return 0, personShare
	case Auctions:
		return personShare, personShare + auctionShare
	}
	return personShare + auctionShare, epochEvents
}

// lastPerson returns the base-0 id of the latest person created at or before event n: the
// person of n's epoch (every epoch starts with one).
func lastPerson(n int64) int64 {
	epoch, off := n/epochEvents, n%epochEvents
	return epoch*personShare + min(off, personShare-1)
}

// lastAuction returns the base-0 id of the latest auction created at or before event n, or
// -1 before the first auction.
func lastAuction(n int64) int64 {
	epoch, off := n/epochEvents, n%epochEvents
	switch {
	case off < personShare:
		return epoch*auctionShare - 1 // the last auction of the previous epoch
	case off < personShare+auctionShare:
		return epoch*auctionShare + off - personShare
	}
	return (epoch+1)*auctionShare - 1
}

// personEvent and auctionEvent return the event number that creates a base-0 person or
// auction id: the inverses of lastPerson and lastAuction on creating events.
func personEvent(id int64) int64 {
	return id/personShare*epochEvents + id%personShare
}

func auctionEvent(id int64) int64 {
	return id/auctionShare*epochEvents + personShare + id%auctionShare
}

// choices are the id ranges the events of one epoch pick from. Every range holds only ids
// created by events before the ones that pick from it (the reference also lets a few ids
// run ahead of the latest one; this generator does not, so every id a bid or an auction
// carries names a person or auction that exists by then).
type choices struct {
	activeFirst, activeCount     int64 // people picked when not hot (base 0)
	inFlightFirst, inFlightCount int64 // auctions a bid picks when not hot (base 0)
	hotSeller, hotBidder         int64 // base 0
	hotAuction                   int64 // base 0; -1 before the first auction
}

// choicesFor returns the choices of the events of kind (Auctions or Bids) in epoch.
func choicesFor(cfg *Config, epoch int64) choices {
	people := epoch*personShare + personShare // persons 0..people-1 exist
	active := min(people, cfg.NumActivePeople)
	last := people - 1
	c := choices{
		activeFirst: people - active,
		activeCount: active,
		hotSeller:   last / hotBatch * hotBatch,
		hotBidder:   last/hotBatch*hotBatch + 1,
	}
	if c.hotBidder > last {
		// The latest batch has only its first person so far: the hot bidder is still the
		// second person of the batch before, or person 0 at the very start.
		c.hotBidder = max(c.hotBidder-hotBatch, 0)
	}
	lastA := (epoch+1)*auctionShare - 1 // the bids' view: every auction of the epoch exists
	c.inFlightFirst = max(lastA-cfg.NumInFlightAuctions, 0)
	c.inFlightCount = lastA - c.inFlightFirst + 1
	c.hotAuction = lastA / hotBatch * hotBatch
	return c
}

// eventTime returns the event time of event n in milliseconds: BaseTime plus
// floor(n·1000/rate), computed without overflow for any n and rate up to maxEventRate.
func eventTime(base, rate, n int64) int64 {
	return base + n/rate*1000 + n%rate*1000/rate
}

// clock yields the event times of consecutive event numbers with one addition and compare
// per event instead of divisions.
type clock struct {
	rate int64
	ms   int64 // event time of the current event
	rem  int64 // (n·1000) mod rate for the current event n
}

// seek makes n the current event.
func (c *clock) seek(base, n int64) {
	c.ms = eventTime(base, c.rate, n)
	c.rem = n % c.rate * 1000 % c.rate
}

// step moves to the next event number.
func (c *clock) step() {
	c.rem += 1000
	if c.rem < c.rate {
		return
	}
	if c.rate >= 1000 { // rem < 2·rate: one carry
		c.rem -= c.rate
		c.ms++
		return
	}
	c.ms += c.rem / c.rate
	c.rem %= c.rate
}

// partitionRows returns how many events of kind partition p of parts holds when the stream
// has events events: the kind's share of every epoch e < ceil(events/50) with e mod parts =
// p, the last epoch possibly cut short.
func partitionRows(events int64, parts, p int, kind Kind) int64 {
	lo, hi := offsets(kind)
	full := events / epochEvents
	owned := int64(0)
	if int64(p) < full {
		owned = (full-int64(p)-1)/int64(parts) + 1
	}
	rows := owned * (hi - lo)
	if rest := events % epochEvents; rest > 0 && full%int64(parts) == int64(p) {
		rows += max(min(hi, rest)-lo, 0)
	}
	return rows
}
