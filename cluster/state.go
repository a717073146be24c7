package cluster

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"path"

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
	// refs and sizes are, by node, the pieces of a version 2 object's parts and their
	// lengths, until they are assembled into Parts.
	refs  map[string][]pieceRef
	sizes map[string]int
}

// stateMagic starts a state object of version 1, which holds its parts whole after its
// header; saves write version 2 (pieces.go), restores read both.
const stateMagic = "millrace-unit-1\n"

type partHeader struct {
	Node  string `json:"node"`
	Bytes int    `json:"bytes"`
	// Pieces are the part's pieces in a version 2 object; empty in version 1.
	Pieces []pieceRef `json:"pieces,omitempty"`
}

// decodeState reads a state object of either version. The parts of a version 1 object are
// in Parts; those of a version 2 object are still to be assembled from its refs (see
// assemble), given data, the bytes after its header, which start at start.
func decodeState(b []byte) (st *unitState, data []byte, start int64, err error) {
	if bytes.HasPrefix(b, []byte(stateMagic2)) {
		return decodeHeader(b)
	}
	if !bytes.HasPrefix(b, []byte(stateMagic)) {
		return nil, nil, 0, errors.New("not a unit state of a version this build reads")
	}
	b = b[len(stateMagic):]
	n, k := binary.Uvarint(b)
	if k <= 0 || uint64(len(b)-k) < n {
		return nil, nil, 0, errors.New("truncated header")
	}
	var h struct {
		unitState
		Parts []partHeader `json:"parts"`
	}
	if err := json.Unmarshal(b[k:k+int(n)], &h); err != nil {
		return nil, nil, 0, fmt.Errorf("header: %w", err)
	}
	b = b[k+int(n):]
	u := h.unitState
	u.Parts = map[string][]byte{}
	for _, p := range h.Parts {
		if p.Bytes < 0 || p.Bytes > len(b) {
			return nil, nil, 0, fmt.Errorf("part %q: %d bytes, %d left", p.Node, p.Bytes, len(b))
		}
		u.Parts[p.Node], b = b[:p.Bytes:p.Bytes], b[p.Bytes:]
	}
	if len(b) != 0 {
		return nil, nil, 0, fmt.Errorf("%d bytes after the last part", len(b))
	}
	return &u, nil, 0, nil
}

// decodeHeader reads the header of a version 2 object, b, which may end anywhere after the
// header; data are b's bytes after the header, which start at start.
func decodeHeader(b []byte) (st *unitState, data []byte, start int64, err error) {
	rest := b[len(stateMagic2):]
	n, k := binary.Uvarint(rest)
	if k <= 0 || uint64(len(rest)-k) < n {
		return nil, nil, 0, errors.New("truncated header")
	}
	var h struct {
		unitState
		Parts []partHeader `json:"parts"`
	}
	if err := json.Unmarshal(rest[k:k+int(n)], &h); err != nil {
		return nil, nil, 0, fmt.Errorf("header: %w", err)
	}
	start = int64(len(stateMagic2) + k + int(n))
	u := h.unitState
	u.Parts, u.refs, u.sizes = map[string][]byte{}, map[string][]pieceRef{}, map[string]int{}
	for _, p := range h.Parts {
		if p.Bytes < 0 {
			return nil, nil, 0, fmt.Errorf("part %q: %d bytes", p.Node, p.Bytes)
		}
		u.refs[p.Node], u.sizes[p.Node] = p.Pieces, p.Bytes
	}
	return &u, b[start:], start, nil
}

// stateKey is where a unit's state at a checkpoint is kept in the store.
func stateKey(pipeline, topic string, partition int32, checkpoint string) string {
	return path.Join(pipeline, "state", topic, fmt.Sprintf("%05d", partition), checkpoint)
}
