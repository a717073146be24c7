package op

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"
)

// Chain runs operators one after another in one subtask: what one collects, the next
// processes, with no channel between them. Watermarks and the end of input reach them in
// order, so the output an operator emits on a watermark is processed downstream before the
// next operator sees the watermark.
//
// A Chain is what NewChain makes of operators none of which keeps checkpointed state; a chain
// with a Snapshotter among its operators is a Snapshotter too, and one with a Committer a
// Committer, so that the engine sees exactly the capabilities the members have.
type Chain struct {
	ops []Operator
}

// NewChain fuses ops, the first receiving the chain's input. The result is a *Chain when
// none of ops is a Snapshotter; otherwise it also implements Snapshotter and
// StateFingerprinter, and Committer when one of ops is a Committer.
func NewChain(ops ...Operator) Operator {
	c := &Chain{ops: ops}
	var stateful []int
	committer := false
	for i, o := range ops {
		if _, ok := o.(Snapshotter); ok {
			stateful = append(stateful, i)
		}
		if _, ok := o.(Committer); ok {
			committer = true
		}
	}
	switch {
	case committer:
		return &committingChain{snapshotChain{Chain: c, stateful: stateful}}
	case stateful != nil:
		return &snapshotChain{Chain: c, stateful: stateful}
	}
	return c
}

// link feeds the output of one operator of a chain into the next.
type link struct {
	next Operator
	out  Collector
}

func (l link) Collect(rec arrow.RecordBatch) error { return l.next.Process(0, rec, l.out) }

// Open opens every operator in order.
func (c *Chain) Open(ctx Context) error {
	for _, o := range c.ops {
		if err := o.Open(ctx); err != nil {
			return err
		}
	}
	return nil
}

// collector returns what operator i collects into, given the chain's own output.
func (c *Chain) collector(i int, out Collector) Collector {
	if i == len(c.ops)-1 {
		return out
	}
	return link{next: c.ops[i+1], out: c.collector(i+1, out)}
}

// Process runs rec through the chain.
func (c *Chain) Process(input int, rec arrow.RecordBatch, out Collector) error {
	return c.ops[0].Process(input, rec, c.collector(0, out))
}

// OnWatermark tells every operator, first to last, each the watermark the operators before
// it pass on (held back by a WatermarkHolder among them).
func (c *Chain) OnWatermark(wm int64, out Collector) error {
	for i, o := range c.ops {
		if err := o.OnWatermark(wm, c.collector(i, out)); err != nil {
			return err
		}
		if h, ok := o.(WatermarkHolder); ok {
			wm = min(wm, h.HeldWatermark())
		}
	}
	return nil
}

// HeldWatermark is the least watermark the chain's operators hold back; see WatermarkHolder.
func (c *Chain) HeldWatermark() int64 {
	held := int64(MaxWatermark)
	for _, o := range c.ops {
		if h, ok := o.(WatermarkHolder); ok {
			held = min(held, h.HeldWatermark())
		}
	}
	return held
}

// Duplicates sums the rows the chain's operators dropped as duplicates.
func (c *Chain) Duplicates() int64 {
	var n int64
	for _, o := range c.ops {
		if d, ok := o.(interface{ Duplicates() int64 }); ok {
			n += d.Duplicates()
		}
	}
	return n
}

// Flush flushes every operator that is a Flusher, first to last, so that what one hands on
// passes through the operators after it before they flush.
func (c *Chain) Flush(out Collector) error {
	for i, o := range c.ops {
		if f, ok := o.(Flusher); ok {
			if err := f.Flush(c.collector(i, out)); err != nil {
				return err
			}
		}
	}
	return nil
}

// Finish finishes every operator, first to last.
func (c *Chain) Finish(out Collector) error {
	for i, o := range c.ops {
		if err := o.Finish(c.collector(i, out)); err != nil {
			return err
		}
	}
	return nil
}

// Close closes every operator and joins their errors.
func (c *Chain) Close() error {
	var errs []error
	for _, o := range c.ops {
		errs = append(errs, o.Close())
	}
	return errors.Join(errs...)
}

// Dropped sums the rows the chain's operators dropped.
func (c *Chain) Dropped() int64 {
	var n int64
	for _, o := range c.ops {
		if d, ok := o.(interface{ Dropped() int64 }); ok {
			n += d.Dropped()
		}
	}
	return n
}

// StateBytes sums the state of the chain's stateful operators.
func (c *Chain) StateBytes() int64 {
	var n int64
	for _, o := range c.ops {
		if s, ok := o.(Stateful); ok {
			n += s.StateBytes()
		}
	}
	return n
}

// SpilledBytes sums the state the chain's operators keep on disk.
func (c *Chain) SpilledBytes() int64 {
	var n int64
	for _, o := range c.ops {
		if s, ok := o.(Spiller); ok {
			n += s.SpilledBytes()
		}
	}
	return n
}

// snapshotChain is a Chain with Snapshotters among its operators. Its snapshot (kind 'C',
// version 1; see snapshot.go for the envelope) holds theirs in order:
//
//	members    uvarint   the number of member snapshots
//	per member:
//	  index    uvarint   the member's position in the chain, from 0
//	  state    uvarint n, then the n bytes of the member's own snapshot
type snapshotChain struct {
	*Chain
	stateful []int // positions of the Snapshotters among ops
}

// chainStateVersion is the version of the snapshot body this build writes and the newest it
// reads.
const chainStateVersion = 1

// StateFingerprint combines, in order, the positions and fingerprints of the Snapshotters; a
// member without a StateFingerprint contributes its Go type.
func (c *snapshotChain) StateFingerprint() string {
	parts := []string{"chain", strconv.Itoa(chainStateVersion)}
	for _, i := range c.stateful {
		fp := fmt.Sprintf("%T", c.ops[i])
		if f, ok := c.ops[i].(StateFingerprinter); ok {
			fp = f.StateFingerprint()
		}
		parts = append(parts, strconv.Itoa(i), fp)
	}
	return fingerprint(parts...)
}

// Snapshot snapshots every Snapshotter of the chain, first to last.
func (c *snapshotChain) Snapshot(id uint64) ([]byte, error) {
	sw := newStateWriter(kindChain, chainStateVersion, id, c.StateFingerprint())
	sw.uvarint(uint64(len(c.stateful)))
	for _, i := range c.stateful {
		state, err := c.ops[i].(Snapshotter).Snapshot(id)
		if err != nil {
			return nil, fmt.Errorf("chain operator %d (%T): %w", i, c.ops[i], err)
		}
		sw.uvarint(uint64(i))
		sw.uvarint(uint64(len(state)))
		sw.buf.Write(state)
	}
	return sw.seal(), nil
}

// Restore hands each Snapshotter of the chain its part of state.
func (c *snapshotChain) Restore(state []byte) error {
	parts, _, err := c.memberStates(state)
	if err != nil {
		return fmt.Errorf("restore chain: %w", err)
	}
	for k, i := range c.stateful {
		if err := c.ops[i].(Snapshotter).Restore(parts[k]); err != nil {
			return fmt.Errorf("restore chain operator %d (%T): %w", i, c.ops[i], err)
		}
	}
	return nil
}

// memberStates splits a chain's snapshot into its Snapshotters' own, in order, and returns
// the checkpoint id it was taken for.
func (c *snapshotChain) memberStates(state []byte) ([][]byte, uint64, error) {
	r, err := openState(state, kindChain, chainStateVersion, c.StateFingerprint())
	if err != nil {
		return nil, 0, err
	}
	n, err := r.uvarint("member count")
	if err != nil {
		return nil, 0, err
	}
	if n != uint64(len(c.stateful)) {
		return nil, 0, fmt.Errorf("state holds %d operators' snapshots, the chain has %d operators with state", n, len(c.stateful))
	}
	parts := make([][]byte, len(c.stateful))
	for k, i := range c.stateful {
		at, err := r.uvarint("operator index")
		if err != nil {
			return nil, 0, err
		}
		if at != uint64(i) {
			return nil, 0, fmt.Errorf("state holds operator %d where operator %d's should be", at, i)
		}
		if parts[k], err = r.bytes("operator state"); err != nil {
			return nil, 0, err
		}
	}
	if len(r.body) > 0 {
		return nil, 0, fmt.Errorf("%d bytes after the last operator's state", len(r.body))
	}
	return parts, r.checkpoint, nil
}

// Rescale rescales each Snapshotter's state with its own Rescale and puts the chain's
// snapshots together again; a member that is not a Rescaler refuses.
func (c *snapshotChain) Rescale(states [][]byte, n int, owner KeyOwner) ([][]byte, error) {
	members := make([][][]byte, len(c.stateful)) // member, then old subtask
	for k := range members {
		members[k] = make([][]byte, len(states))
	}
	var id uint64
	found := false
	for sub, st := range states {
		if st == nil {
			continue
		}
		parts, at, err := c.memberStates(st)
		if err != nil {
			return nil, fmt.Errorf("rescale chain: subtask %d: %w", sub, err)
		}
		for k := range parts {
			members[k][sub] = parts[k]
		}
		id, found = max(id, at), true
	}
	out := make([][]byte, n)
	if !found {
		return out, nil
	}
	rescaled := make([][][]byte, len(c.stateful)) // member, then new subtask
	for k, i := range c.stateful {
		r, ok := c.ops[i].(Rescaler)
		if !ok {
			return nil, fmt.Errorf("rescale chain: operator %d (%T) cannot move its state to another parallelism", i, c.ops[i])
		}
		var err error
		if rescaled[k], err = r.Rescale(members[k], n, owner); err != nil {
			return nil, fmt.Errorf("rescale chain operator %d (%T): %w", i, c.ops[i], err)
		}
	}
	for s := range n {
		sw := newStateWriter(kindChain, chainStateVersion, id, c.StateFingerprint())
		sw.uvarint(uint64(len(c.stateful)))
		for k, i := range c.stateful {
			part := rescaled[k][s]
			if part == nil {
				return nil, fmt.Errorf("rescale chain operator %d (%T): no state for subtask %d", i, c.ops[i], s)
			}
			sw.uvarint(uint64(i))
			sw.uvarint(uint64(len(part)))
			sw.buf.Write(part)
		}
		out[s] = sw.seal()
	}
	return out, nil
}

// committingChain is a Chain with a Committer among its operators.
type committingChain struct {
	snapshotChain
}

// Commit commits every Committer of the chain, first to last, and stops at the first error.
func (c *committingChain) Commit(id uint64) error {
	for i, o := range c.ops {
		if cm, ok := o.(Committer); ok {
			if err := cm.Commit(id); err != nil {
				return fmt.Errorf("chain operator %d (%T): %w", i, o, err)
			}
		}
	}
	return nil
}
