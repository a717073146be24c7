// Package exchange carries keyed batches between the stages of a cluster over internal
// Kafka topics, with the watermarks of the units that produce them.
//
// Between two stages the exchange is a topic (see Topic) of K partitions, one per key group:
// a row whose key hashes (engine.HashRows) into key group g goes to partition g, the same in
// every process. Each record of the topic is one of two kinds, told apart by its headers:
//
//	data       millrace-from: the unit that produced it (such as "tx/3")
//	           millrace-schema: the fingerprint of the rows' schema (16 hex digits)
//	           value: the rows of one key group, one Arrow IPC record batch message
//	watermark  millrace-from: the unit
//	           millrace-watermark: a decimal int64, milliseconds since the epoch
//	           value: empty
//
// A watermark marker W from unit U in a partition says that every row of U with an event
// time below W that belongs in that partition comes before the marker. A unit whose input
// ended sends the final watermark math.MaxInt64. Upstream units write data and markers in
// Kafka transactions; readers read committed records only.
//
// The value of a data record is an IPC message without the schema: the reader knows the
// schema from its options and checks the fingerprint, so a record written with another
// schema is an error naming where it is rather than rows decoded wrongly. Schemas with
// dictionary-encoded columns are refused, as their dictionaries would need messages of
// their own.
package exchange

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// The headers of exchange records.
const (
	// HeaderFrom names the unit that produced a record.
	HeaderFrom = "millrace-from"
	// HeaderWatermark marks a watermark record and holds its watermark.
	HeaderWatermark = "millrace-watermark"
	// HeaderSchema holds the fingerprint of a data record's schema.
	HeaderSchema = "millrace-schema"
)

// KeyGroups is the number of key groups, and so of partitions, of an exchange topic.
const KeyGroups = 256

// Topic is the name of the exchange topic into step of pipeline: millrace.<pipeline>.<step>.
// A name Kafka would refuse (characters other than ASCII letters, digits, '.', '_' and '-',
// or longer than 249 bytes) is an error naming it.
func Topic(pipeline, step string) (string, error) {
	name := "millrace." + pipeline + "." + step
	if pipeline == "" || step == "" {
		return "", fmt.Errorf("exchange topic %q: the pipeline and the step need names", name)
	}
	if len(name) > 249 {
		return "", fmt.Errorf("exchange topic %q: %d bytes, Kafka takes at most 249", name, len(name))
	}
	if i := strings.IndexFunc(name, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-')
	}); i >= 0 {
		bad, _ := utf8.DecodeRuneInString(name[i:])
		return "", fmt.Errorf("exchange topic %q: Kafka topic names take letters, digits, '.', '_' and '-', not %q", name, bad)
	}
	return name, nil
}
