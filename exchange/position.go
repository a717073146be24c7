package exchange

import (
	"encoding/json"
	"errors"
	"fmt"

	"millrace/source"
)

// positionVersion is the version of the positions this package encodes and the only one it
// decodes.
const positionVersion = 1

// position is where a partition reader's next Read starts, as its Checkpoint encodes it: the
// topic, the partition (the key group), the offset of the next record, and the latest
// watermark of every unit the reader has heard from, so that a reader opened there has the
// watermark the checkpointed one had. The units of one topic that hold one watermark are
// written as one set (see Units):
//
//	{"v":1,"topic":"millrace.fraud.velocity","partition":17,"offset":48213,"watermarks":{"tx/0":1733500800000,"tx/1":1733500799000}}
//	{"v":1,"topic":"millrace.fraud.alerts","partition":17,"offset":912,"watermarks":{"millrace.fraud.velocity/0-127":1733500800000,"millrace.fraud.velocity/128-255":1733500799000}}
type position struct {
	V          int              `json:"v"`
	Topic      string           `json:"topic"`
	Partition  *int32           `json:"partition"`
	Offset     *int64           `json:"offset"`
	Watermarks map[string]int64 `json:"watermarks"`
}

func encodePosition(topic string, partition int32, offset int64, wms map[string]int64) ([]byte, error) {
	return json.Marshal(position{V: positionVersion, Topic: topic, Partition: &partition, Offset: &offset, Watermarks: compactUnits(wms)})
}

// decodePosition decodes a position in topic and partition and returns its offset and
// watermarks, or says what is wrong with it.
func decodePosition(data []byte, topic string, partition int32) (int64, map[string]int64, error) {
	p, err := parsePosition(data)
	if err != nil {
		return 0, nil, err
	}
	if p.Topic != topic || *p.Partition != partition {
		return 0, nil, fmt.Errorf("it is a position in %s/%d, not in %s/%d", p.Topic, *p.Partition, topic, partition)
	}
	wms, err := expandLatest(p.Watermarks)
	if err != nil {
		return 0, nil, fmt.Errorf("watermarks: %w", err)
	}
	return *p.Offset, wms, nil
}

// parsePosition decodes a position strictly and checks every field is there and sane.
func parsePosition(data []byte) (position, error) {
	var p position
	if err := source.DecodePosition(data, &p); err != nil {
		return p, err
	}
	if p.V != positionVersion {
		return p, fmt.Errorf("version %d, want %d", p.V, positionVersion)
	}
	if p.Topic == "" || p.Partition == nil || p.Offset == nil || p.Watermarks == nil {
		return p, errors.New("an exchange position has a topic, a partition, an offset and watermarks")
	}
	if *p.Offset < 0 {
		return p, fmt.Errorf("offset %d: negative", *p.Offset)
	}
	return p, nil
}
