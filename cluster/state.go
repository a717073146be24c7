package cluster

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"slices"

	"millrace/engine"
)

// A unit is what the consumer group hands a worker: a partition of a source topic (a first
// stage runs one subtask for it) or a key group, the partition of an exchange topic of the
// same number (a keyed stage keeps its state by key group). Its state at a checkpoint is
// one object in the state store, named by the checkpoint, and the offset committed for its
// partition carries that name: recovery loads exactly the state whose offsets were
// committed with the outputs they made.

// unitState is one unit's state at one checkpoint.
type unitState struct {
	Pipeline   string `json:"pipeline"`
	Stage      string `json:"stage"`
	Topic      string `json:"topic"`
	Partition  int32  `json:"partition"`
	Checkpoint string `json:"checkpoint"`
	// Offset is the next offset of the partition to read, the one committed with it.
	Offset int64 `json:"offset"`
	// Watermark is the one the unit's source subtask had emitted.
	Watermark int64 `json:"watermark"`
	// Position is where the partition's reader stood.
	Position engine.PartitionPart `json:"position"`
	// Parts holds, by node, the unit's state of each stateful node of its stage.
	Parts map[string][]byte `json:"-"`
}

// stateMagic starts every state object; the digit is the format's version.
const stateMagic = "millrace-unit-1\n"

// encode writes the state: the magic line, the JSON header with the parts' names and sizes,
// then the parts' bytes, so that large state is never escaped.
func (u *unitState) encode() ([]byte, error) {
	type header struct {
		*unitState
		Parts []partHeader `json:"parts"`
	}
	h := header{unitState: u}
	names := make([]string, 0, len(u.Parts))
	for n := range u.Parts {
		names = append(names, n)
	}
	slices.Sort(names)
	size := 0
	for _, n := range names {
		h.Parts = append(h.Parts, partHeader{Node: n, Bytes: len(u.Parts[n])})
		size += len(u.Parts[n])
	}
	js, err := json.Marshal(h)
	if err != nil {
		return nil, err
	}
	b := make([]byte, 0, len(stateMagic)+binary.MaxVarintLen64+len(js)+size)
	b = append(b, stateMagic...)
	b = binary.AppendUvarint(b, uint64(len(js)))
	b = append(b, js...)
	for _, n := range names {
		b = append(b, u.Parts[n]...)
	}
	return b, nil
}

type partHeader struct {
	Node  string `json:"node"`
	Bytes int    `json:"bytes"`
}

// decodeState reads what encode wrote.
func decodeState(b []byte) (*unitState, error) {
	if !bytes.HasPrefix(b, []byte(stateMagic)) {
		return nil, errors.New("not a unit state of this version")
	}
	b = b[len(stateMagic):]
	n, k := binary.Uvarint(b)
	if k <= 0 || uint64(len(b)-k) < n {
		return nil, errors.New("truncated header")
	}
	var h struct {
		unitState
		Parts []partHeader `json:"parts"`
	}
	if err := json.Unmarshal(b[k:k+int(n)], &h); err != nil {
		return nil, fmt.Errorf("header: %w", err)
	}
	b = b[k+int(n):]
	u := h.unitState
	u.Parts = map[string][]byte{}
	for _, p := range h.Parts {
		if p.Bytes < 0 || p.Bytes > len(b) {
			return nil, fmt.Errorf("part %q: %d bytes, %d left", p.Node, p.Bytes, len(b))
		}
		u.Parts[p.Node], b = b[:p.Bytes:p.Bytes], b[p.Bytes:]
	}
	if len(b) != 0 {
		return nil, fmt.Errorf("%d bytes after the last part", len(b))
	}
	return &u, nil
}

// stateKey is where a unit's state at a checkpoint is kept in the store.
func stateKey(pipeline, topic string, partition int32, checkpoint string) string {
	return path.Join(pipeline, "state", topic, fmt.Sprintf("%05d", partition), checkpoint)
}
