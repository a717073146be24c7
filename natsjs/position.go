package natsjs

import (
	"encoding/json"
	"fmt"

	"millrace/source"
)

// positionVersion is the version of the positions this package encodes and the only one it
// decodes.
const positionVersion = 1

// position is where a partition's next Read starts, as a reader's Checkpoint encodes it: the
// stream, the partition's subject filter (empty for the whole stream) and the stream
// sequence of the next message to read:
//
//	{"v":1,"stream":"TX","subject":"tx.2","seq":48213}
type position struct {
	V       int    `json:"v"`
	Stream  string `json:"stream"`
	Subject string `json:"subject"`
	Seq     uint64 `json:"seq"`
}

func (p position) encode() ([]byte, error) { return json.Marshal(p) }

// decodePosition decodes a position of stream and subject and says what is wrong with one
// that is not such a position.
func decodePosition(data []byte, stream, subject string) (position, error) {
	var p position
	if err := source.DecodePosition(data, &p); err != nil {
		return p, err
	}
	switch {
	case p.V != positionVersion:
		return p, fmt.Errorf("version %d, want %d", p.V, positionVersion)
	case p.Stream != stream || p.Subject != subject:
		return p, fmt.Errorf("it is a position in stream %q subject %q, not in stream %q subject %q", p.Stream, p.Subject, stream, subject)
	case p.Seq < 1:
		return p, fmt.Errorf("sequence %d: sequences start at 1", p.Seq)
	}
	return p, nil
}
