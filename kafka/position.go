package kafka

import (
	"encoding/json"
	"errors"
	"fmt"

	"millrace/source"
)

// positionVersion is the version of the positions this package encodes and the only one it
// decodes.
const positionVersion = 1

// position is where a partition's next Read starts, as a reader's Checkpoint encodes it: the
// topic, the partition and the offset of the next record to read.
//
//	{"v":1,"topic":"tx","partition":3,"offset":48213}
type position struct {
	V         int    `json:"v"`
	Topic     string `json:"topic"`
	Partition *int32 `json:"partition"`
	Offset    *int64 `json:"offset"`
}

func encodePosition(topic string, partition int32, offset int64) ([]byte, error) {
	return json.Marshal(position{V: positionVersion, Topic: topic, Partition: &partition, Offset: &offset})
}

// decodePosition decodes a position of topic and partition and returns its offset, or says
// what is wrong with it.
func decodePosition(data []byte, topic string, partition int32) (int64, error) {
	var p position
	if err := source.DecodePosition(data, &p); err != nil {
		return 0, err
	}
	if p.V != positionVersion {
		return 0, fmt.Errorf("version %d, want %d", p.V, positionVersion)
	}
	if p.Partition == nil || p.Offset == nil {
		return 0, errors.New("a Kafka position has a topic, a partition and an offset")
	}
	if p.Topic != topic || *p.Partition != partition {
		return 0, fmt.Errorf("it is a position in %s/%d, not in %s/%d", p.Topic, *p.Partition, topic, partition)
	}
	if *p.Offset < 0 {
		return 0, fmt.Errorf("offset %d: negative", *p.Offset)
	}
	return *p.Offset, nil
}
