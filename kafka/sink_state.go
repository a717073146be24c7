package kafka

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/twmb/franz-go/pkg/kgo"
)

// The state an exactly-once Sink's Snapshot returns holds the records themselves: every
// record the subtask received and has not yet seen committed, so the checkpoint that makes
// the state durable makes its records durable with it, and the checkpoint store's retention
// removes them with it. It is binary, every integer an unsigned varint and every byte
// string its length and its bytes:
//
//	version (1 or 2)  subtask  run  seq  pending  adopted  [live]
//	pending  = count, then per batch: seq  checkpoint  count, then per record:
//	           key  value  header count, then per header: name  value
//	key      = 0 for no key, else length+1 and the bytes
//	adopted  = count, then per subtask state of an old parallelism: subtask  run  seq  pending
//
// run names the run that wrote the state (fresh runs pick a new one), seq is the number of
// the last batch the subtask made, and the marker committed in each transaction is the seq
// of its last batch with run as metadata.
//
// A sink that commits per batch writes version 2, which adds what its restore needs (see
// sink_batch.go), every hash 16 bytes as is:
//
//	live     = checkpoint  attempt  ends  base  drops
//	ends     = count, then per partition: partition  offset (where it ended at the snapshot)
//	base     = count, then per row: hash  count  (the multiset its last restore loaded)
//	drops    = count, then per row: hash  count  (what the subtask dropped of it)

const (
	sinkStateVersion     = 1
	sinkStateVersionLive = 2
)

// partEnd is where a partition of the topic ended.
type partEnd struct {
	partition int32
	offset    int64
}

// liveState is what a sink that commits per batch adds to its state.
type liveState struct {
	checkpoint uint64
	attempt    string
	ends       []partEnd
	base       map[rowHash]int32
	drops      map[rowHash]int32
}

// batch is the records a subtask received between two snapshots, numbered in order.
type batch struct {
	seq        uint64
	checkpoint uint64
	records    []*kgo.Record
}

// subState is one subtask's part of a state: its own, or one it adopted after a rescale.
type subState struct {
	subtask int
	run     string
	seq     uint64
	pending []batch
}

// sinkState is what Snapshot returns and Restore reads.
type sinkState struct {
	subState
	adopted []subState
	live    *liveState // commit per batch only
}

func (s *sinkState) encode() []byte {
	version := uint64(sinkStateVersion)
	if s.live != nil {
		version = sinkStateVersionLive
	}
	b := binary.AppendUvarint(nil, version)
	b = s.append(b)
	b = binary.AppendUvarint(b, uint64(len(s.adopted)))
	for _, a := range s.adopted {
		b = a.append(b)
	}
	if lv := s.live; lv != nil {
		b = binary.AppendUvarint(b, lv.checkpoint)
		b = appendBytes(b, []byte(lv.attempt))
		b = binary.AppendUvarint(b, uint64(len(lv.ends)))
		for _, e := range lv.ends {
			b = binary.AppendUvarint(b, uint64(e.partition))
			b = binary.AppendUvarint(b, uint64(e.offset))
		}
		b = appendHashes(b, lv.base)
		b = appendHashes(b, lv.drops)
	}
	return b
}

// appendHashes appends a multiset of hashes in the order of their bytes.
func appendHashes(b []byte, m map[rowHash]int32) []byte {
	hs := make([]rowHash, 0, len(m))
	for h, n := range m {
		if n > 0 {
			hs = append(hs, h)
		}
	}
	slices.SortFunc(hs, func(x, y rowHash) int { return bytes.Compare(x[:], y[:]) })
	b = binary.AppendUvarint(b, uint64(len(hs)))
	for _, h := range hs {
		b = append(b, h[:]...)
		b = binary.AppendUvarint(b, uint64(m[h]))
	}
	return b
}

func (s *subState) append(b []byte) []byte {
	b = binary.AppendUvarint(b, uint64(s.subtask))
	b = appendBytes(b, []byte(s.run))
	b = binary.AppendUvarint(b, s.seq)
	b = binary.AppendUvarint(b, uint64(len(s.pending)))
	for _, p := range s.pending {
		b = binary.AppendUvarint(b, p.seq)
		b = binary.AppendUvarint(b, p.checkpoint)
		b = binary.AppendUvarint(b, uint64(len(p.records)))
		for _, r := range p.records {
			if r.Key == nil {
				b = binary.AppendUvarint(b, 0)
			} else {
				b = binary.AppendUvarint(b, uint64(len(r.Key))+1)
				b = append(b, r.Key...)
			}
			b = appendBytes(b, r.Value)
			b = binary.AppendUvarint(b, uint64(len(r.Headers)))
			for _, h := range r.Headers {
				b = appendBytes(b, []byte(h.Key))
				b = appendBytes(b, h.Value)
			}
		}
	}
	return b
}

func appendBytes(b, v []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(v)))
	return append(b, v...)
}

// errShortState says a state ended in the middle of a value.
var errShortState = errors.New("kafka: sink state ends early")

// stateReader reads what sinkState.encode wrote, keeping the first error.
type stateReader struct {
	b   []byte
	err error
}

func (r *stateReader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = errShortState
		return 0
	}
	r.b = r.b[n:]
	return v
}

// count reads a count of things that take at least one byte each, so a damaged count
// cannot ask for more than the state holds.
func (r *stateReader) count() int {
	n := r.uvarint()
	if n > uint64(len(r.b)) {
		r.err = errShortState
		return 0
	}
	return int(n)
}

func (r *stateReader) bytes(n uint64) []byte {
	if r.err != nil {
		return nil
	}
	if n > uint64(len(r.b)) {
		r.err = errShortState
		return nil
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v
}

func (r *stateReader) subState() subState {
	s := subState{subtask: int(r.uvarint()), run: string(r.bytes(r.uvarint())), seq: r.uvarint()}
	for range r.count() {
		p := batch{seq: r.uvarint(), checkpoint: r.uvarint()}
		n := r.count()
		p.records = make([]*kgo.Record, 0, n)
		for range n {
			rec := &kgo.Record{}
			if k := r.uvarint(); k > 0 {
				rec.Key = r.bytes(k - 1)
			}
			rec.Value = r.bytes(r.uvarint())
			for range r.count() {
				h := kgo.RecordHeader{Key: string(r.bytes(r.uvarint()))}
				h.Value = r.bytes(r.uvarint())
				rec.Headers = append(rec.Headers, h)
			}
			p.records = append(p.records, rec)
		}
		s.pending = append(s.pending, p)
	}
	return s
}

// hashes reads what appendHashes wrote.
func (r *stateReader) hashes() map[rowHash]int32 {
	n := r.count()
	if n == 0 {
		return nil
	}
	m := make(map[rowHash]int32, n)
	for range n {
		var h rowHash
		copy(h[:], r.bytes(uint64(len(h))))
		m[h] = int32(r.uvarint())
	}
	return m
}

// decodeSinkState reads a state that sinkState.encode wrote.
func decodeSinkState(b []byte) (sinkState, error) {
	r := &stateReader{b: b}
	var s sinkState
	v := r.uvarint()
	if r.err == nil && v != sinkStateVersion && v != sinkStateVersionLive {
		return s, fmt.Errorf("kafka: sink state version %d, want %d or %d", v, sinkStateVersion, sinkStateVersionLive)
	}
	s.subState = r.subState()
	for range r.count() {
		s.adopted = append(s.adopted, r.subState())
	}
	if v == sinkStateVersionLive {
		lv := &liveState{checkpoint: r.uvarint(), attempt: string(r.bytes(r.uvarint()))}
		for range r.count() {
			lv.ends = append(lv.ends, partEnd{partition: int32(r.uvarint()), offset: int64(r.uvarint())})
		}
		lv.base, lv.drops = r.hashes(), r.hashes()
		s.live = lv
	}
	if r.err == nil && len(r.b) > 0 {
		r.err = fmt.Errorf("kafka: sink state has %d bytes past its end", len(r.b))
	}
	return s, r.err
}
