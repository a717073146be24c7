// Package nexmark generates the events of the Nexmark benchmark, an online auction: people
// who sell and bid, auctions, and bids. It follows the model of the reference generators
// (Apache Beam's Nexmark suite and the Nexmark Flink generator derived from it) and writes
// Arrow record batches directly, one kind of event at a time, with no per-row allocation.
//
// # Model
//
// Events are numbered 0 to Config.Events-1. Every epoch of 50 consecutive numbers holds 1
// person, then 3 auctions, then 46 bids, so the kinds come 1:3:46 and a kind's events can be
// enumerated without looking at the others. Event n happens at BaseTime +
// floor(n·1000/FirstEventRate) milliseconds. Person and auction ids are 1000 plus the count
// of people or auctions created before, so an id says which event created it.
//
// Each event draws its random fields from its own random stream, seeded by Seed and its
// event number, as the reference seeds one with each event's id:
//
//   - A person has a name from 11 first and 9 last names, an email address, a credit card
//     number, one of 10 cities and one of 6 US states (AZ, CA, ID, OR, WA, WY).
//   - An auction has an item name and description (random text), an initial bid and a
//     reserve (initial bid plus a second price), one of 5 categories from 10, an expiry
//     between 1 ms and twice the event time that NumInFlightAuctions further auctions take to
//     arrive, and a seller: with probability 1-1/HotSellersRatio the hot seller (the first
//     person of the latest batch of 100), else one of the NumActivePeople latest people.
//   - A bid goes with probability 1-1/HotAuctionRatio to the hot auction (the first of the
//     latest batch of 100 auctions), else to one of the NumInFlightAuctions+1 latest
//     auctions; its bidder is with probability 1-1/HotBiddersRatio the hot bidder (the
//     second person of the latest batch of 100 that has two), else one of the
//     NumActivePeople latest people. Its price is round(100·10^(6u)) cents for u uniform in
//     [0, 1); it comes through one of 4 hot channels (Google, Facebook, Baidu, Apple) with
//     probability 1/2, else through one of 10,000 others ("channel-N"), each with its own
//     URL.
//   - Every event has an `extra` column, empty unless Config asks for padding to the
//     reference's average event sizes.
//
// # Differences from the reference
//
//   - Ids never run ahead: the reference picks people and auctions up to 10 ids beyond the
//     latest one, and its hot bidder can be a person not yet created. Here every seller,
//     bidder and auction id names a person or auction created by an earlier event, so joins
//     over a complete stream find every match.
//   - The random streams are wyrand, not java.util.Random, so the values differ from the
//     Java generators' while their distributions match.
//   - The rate is constant (the reference can also vary it in sine or square waves), and the
//     partitions share one timeline rather than running parallel timelines.
//   - `extra` is empty by default; the reference pads every event.
//
// # Partitions
//
// Partition p of P holds the epochs e with e mod P = p. Partitions are independent (each
// event is a function of Config.Seed and its number), each yields its events in
// event-number order, and together they hold every event exactly once; since partitions
// interleave in blocks of 50 events, their event times stay within 50·P events of each other
// and no partition holds a watermark back for long.
//
// # Invariants
//
//   - Determinism: the rows depend on the Config only, not on batch sizes, on which kinds are
//     generated, or on the allocator.
//   - Proportions: any 50 consecutive events starting at a multiple of 50 are 1 person, 3
//     auctions and 46 bids.
//   - References: a bid's auction and bidder, and an auction's seller, were created by an
//     earlier event number, hence at an event time no later than the referring event's.
//   - Order: within a partition, date_time never decreases.
//
// # Files
//
//	config.go     Config, DefaultConfig, validation, Kind
//	schema.go     the Bid, Auction and Person schemas and their column positions
//	events.go     event numbering: kinds, ids, hot keys, event times, partitions
//	rand.go       per-event random streams and the price distribution
//	text.go       the pre-built strings: channels and URLs, names, random text, padding
//	columns.go    Arrow column buffers filled in place
//	generator.go  Generator: one kind and partition as batches; bid.go, auction.go and
//	              person.go build each kind's rows
//	source.go     the generator as a source.Source
package nexmark
