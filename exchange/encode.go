package exchange

import (
	"bytes"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/twmb/franz-go/pkg/kgo"

	"millrace/engine"
	"millrace/take"
)

// Encode splits rec by key group into records of topic: one record per key group present,
// in key group order, with Partition set to the key group (produce them with
// kgo.ManualPartitioner), the header millrace-from set to from, the unit producing them,
// and as value the rows of that group, in their order in rec, as one Arrow IPC record batch
// message. key holds the indexes of the key columns; rows hash as engine.HashRows hashes
// them, into engine.KeyGroup(hash, keyGroups), as the in-process exchange does.
func Encode(rec arrow.RecordBatch, key []int, keyGroups int, topic string, from string) ([]*kgo.Record, error) {
	if keyGroups <= 0 {
		return nil, fmt.Errorf("encode for %s: %d key groups", topic, keyGroups)
	}
	if len(key) == 0 {
		return nil, fmt.Errorf("encode for %s: no key column", topic)
	}
	print, _, err := fingerprint(rec.Schema())
	if err != nil {
		return nil, fmt.Errorf("encode for %s: %w", topic, err)
	}
	n := int(rec.NumRows())
	if n == 0 {
		return nil, nil
	}
	hashes := make([]uint64, n)
	if err := engine.HashRows(rec, key, hashes); err != nil {
		return nil, fmt.Errorf("encode for %s: %w", topic, err)
	}
	// Order the rows by key group, stably, with a counting sort: start[g] is where group g's
	// rows begin in rows.
	start := make([]int32, keyGroups+1)
	groups := make([]int32, n)
	for i, h := range hashes {
		g := engine.KeyGroup(h, keyGroups)
		groups[i] = int32(g)
		start[g+1]++
	}
	for g := range keyGroups {
		start[g+1] += start[g]
	}
	rows := make([]int32, n)
	fill := append([]int32(nil), start[:keyGroups]...)
	for i, g := range groups {
		rows[fill[g]] = int32(i)
		fill[g]++
	}
	headers := []kgo.RecordHeader{{Key: HeaderFrom, Value: []byte(from)}, {Key: HeaderSchema, Value: []byte(print)}}
	var out []*kgo.Record
	var buf bytes.Buffer
	for g := range keyGroups {
		lo, hi := start[g], start[g+1]
		if lo == hi {
			continue
		}
		part, err := take.Rows(rec, rows[lo:hi])
		if err != nil {
			return nil, fmt.Errorf("encode for %s, key group %d: %w", topic, g, err)
		}
		buf.Reset()
		err = appendMessage(&buf, part)
		part.Release()
		if err != nil {
			return nil, fmt.Errorf("encode for %s, key group %d: %w", topic, g, err)
		}
		out = append(out, &kgo.Record{Topic: topic, Partition: int32(g), Headers: headers, Value: bytes.Clone(buf.Bytes())})
	}
	return out, nil
}

// Markers makes the watermark markers of unit from, or of every unit of the set from
// names (see Units), for every partition of topic (one per key group): each says that every
// row of those units with an event time below watermark that belongs in its partition was
// produced before it. Produce them after those rows, in the
// same transaction or a later one. A unit whose input ended sends math.MaxInt64, the final
// watermark.
func Markers(topic string, keyGroups int, from string, watermark int64) []*kgo.Record {
	headers := []kgo.RecordHeader{{Key: HeaderFrom, Value: []byte(from)}, {Key: HeaderWatermark, Value: watermarkValue(watermark)}}
	out := make([]*kgo.Record, keyGroups)
	for g := range out {
		out[g] = &kgo.Record{Topic: topic, Partition: int32(g), Headers: headers}
	}
	return out
}
