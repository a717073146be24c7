// Package gen generates card and account transactions: a deterministic stream of Arrow record
// batches of schema.Transaction for tests, benchmarks, demos and the engine's generator source.
//
// A stream is a function of its Config. A World of accounts, cards and merchants (power-law
// activity, so some are hot keys) is built from the seed; normal traffic arrives as a Poisson
// process following a rate Curve (daily and weekly pattern, surges); fraud Scenarios (card
// testing, account takeover, compromised merchant) are mixed in at FraudRate and labelled
// is_fraud=true. Delivery may then reorder rows within a Disorder bound, deliver some late and
// some twice. Write encodes a stream as JSONL, CSV or Parquet and can corrupt a share of the
// text records on purpose, by kinds a decoder must refuse.
//
// A Generator runs fast (rows as quickly as they can be built, for files and benchmarks) or
// paced (rows handed out when a Clock reaches their delivery time, event time running Speed
// times faster than the clock). Both modes produce the same rows in the same order.
//
// A stream may be split into partitions, each an independent stream of Rate/Partitions over
// the same world, with tx_ids that never collide.
//
// # Invariants
//
//   - Determinism: the rows, their order and the bytes Write produces depend on the Config
//     only (Clock and Linger decide when paced rows are handed out and how they are batched,
//     never what they are). Each purpose draws from its own random stream, so turning on
//     disorder, duplicates or corruption leaves the transactions themselves unchanged.
//   - Identity: tx_id is "t" followed by seq*Partitions+Partition, seq counting the rows of
//     a partition in event-time order; without DupRate every tx_id is delivered at most once.
//   - Order: every row not counted in Stats.Late is delivered at most Disorder behind the
//     latest event time delivered before it; without Disorder, LateRate and DupRate rows are
//     delivered in event-time order.
//   - Ledger: Write's output holds Stats.Rows records; a decoder reads Rows-Corrupt rows and
//     Corrupt dead letters from it.
//
// # Files
//
//	config.go     Config, defaults, validation
//	curve.go      the rate Curve; surge.go parses and places surges
//	world.go      accounts, cards, merchants; countries.go and mcc.go are its tables
//	ids.go        identifiers as text
//	stream.go     normal traffic in event-time order, merged with scenario.go's fraud
//	delivery.go   disorder, late rows, duplicates
//	batch.go      rows into Arrow batches
//	generator.go  Generator: fast mode, Skip, stats; paced.go: paced mode and Clock
//	corrupt.go    the table of corruptions; write.go: Write
package gen
