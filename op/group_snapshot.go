package op

import (
	"encoding/binary"
	"fmt"
	"runtime"

	"github.com/apache/arrow-go/v18/arrow"
	"golang.org/x/sync/errgroup"
)

// Snapshots by key group. A cluster keeps a keyed step's state as one object per key group,
// and hands key groups from one process to another. Splitting a whole snapshot by key group
// (Rescale to as many subtasks as key groups) decodes it and encodes it again; a
// GroupSnapshotter writes the parts directly, and a PartsRestorer loads several parts
// without first putting them together into one snapshot. The parts are the very snapshots
// Rescale would have made for the owners that hold state, so every path reads them.

// GroupSnapshotter is a Rescaler that can write its snapshot already spread over owners.
type GroupSnapshotter interface {
	Rescaler
	// SnapshotGroups encodes the state for checkpoint id as n snapshots, entry i holding
	// the keys owner puts at i, or nil where owner puts none: what Rescale of Snapshot(id)
	// to n subtasks would make, but for the entries left nil. owner must give a key the
	// same owner at every call with the same n: the operator may remember it.
	SnapshotGroups(id uint64, n int, owner KeyOwner) ([][]byte, error)
}

// PartsRestorer is a Snapshotter that loads several snapshots at once.
type PartsRestorer interface {
	Snapshotter
	// RestoreParts loads parts (nil entries are skipped), snapshots of one operator whose
	// keys are apart, such as those of distinct key groups, into an operator that holds no
	// state yet, as Restore of what Rescale of parts to one subtask makes. A key in two
	// parts is refused.
	RestoreParts(parts [][]byte) error
}

// oneOwner gives every key to owner 0, for rescaling to a single subtask.
func oneOwner(keys []arrow.Array) ([]int, error) {
	if len(keys) == 0 {
		return nil, fmt.Errorf("no key columns")
	}
	return make([]int, keys[0].Len()), nil
}

// SnapshotGroups writes the open groups of each owner as a snapshot of its own; see
// GroupSnapshotter.
func (w *WindowAgg) SnapshotGroups(id uint64, n int, owner KeyOwner) ([][]byte, error) {
	out, err := w.snapshotGroups(id, n, owner)
	if err != nil {
		return nil, fmt.Errorf("snapshot %s aggregation by owner: %w", w.cfg.Window, err)
	}
	return out, nil
}

func (w *WindowAgg) snapshotGroups(id uint64, n int, owner KeyOwner) ([][]byte, error) {
	if w.sess != nil {
		// A session snapshot numbers the key slots of the whole operator: split the whole.
		state, err := w.Snapshot(id)
		if err != nil {
			return nil, err
		}
		return w.rescale([][]byte{state}, n, owner, false)
	}
	if w.spill != nil && w.spill.store != nil && w.byChunkGroup(n) {
		return w.snapshotChunkGroups(id, n, owner)
	}
	if w.spill != nil && w.spill.store != nil {
		rec, err := w.spilledState()
		if err != nil {
			return nil, err
		}
		defer rec.Release()
		return w.splitRows(rec, n, owner, kindWindowAgg, id, w.wm)
	}
	groups := w.snapGroups[:0]
	for _, e := range w.timers.Ends() {
		groups = append(groups, w.byEnd[e]...)
	}
	groups = w.filled(groups) // a group only rejected rows reached is as if it were not there
	w.snapGroups = groups
	owners, err := w.groupOwners(groups, n, owner)
	if err != nil {
		return nil, err
	}
	// The groups of each owner together, each owner's in fire order: one state row batch
	// whose slices are the owners' snapshots.
	bounds := make([]int, n+1)
	for _, o := range owners {
		bounds[o+1]++
	}
	for i := range n {
		bounds[i+1] += bounds[i]
	}
	ordered := make([]uint32, len(groups))
	next := append([]int(nil), bounds[:n]...)
	for i, g := range groups {
		ordered[next[owners[i]]] = g
		next[owners[i]]++
	}
	rec, err := w.stateRows(ordered)
	if err != nil {
		return nil, err
	}
	defer rec.Release()
	return w.sealParts(rec, bounds, kindWindowAgg, id, w.wm)
}

// groupOwners is the owner of each group's key. The owners of keys are kept in the key
// table: only keys that came since the last snapshot by n owners are decoded and given to
// owner.
func (w *WindowAgg) groupOwners(groups []uint32, n int, owner KeyOwner) ([]int, error) {
	t := &w.keys
	if w.ownersOf != n {
		for i := range t.owner {
			t.owner[i] = -1
		}
		w.ownersOf = n
	}
	var missing []uint32
	for _, g := range groups {
		if id := w.keyID[g]; t.owner[id] == -1 {
			t.owner[id] = -2 // listed
			missing = append(missing, id)
		}
	}
	if len(missing) > 0 {
		found, err := w.ownerOf(len(missing), func(i int) []byte { return []byte(t.bytes[missing[i]]) }, n, owner)
		if err != nil {
			for _, id := range missing {
				t.owner[id] = -1
			}
			return nil, err
		}
		for i, id := range missing {
			t.owner[id] = int32(found[i])
		}
	}
	out := make([]int, len(groups))
	for i, g := range groups {
		out[i] = int(t.owner[w.keyID[g]])
	}
	return out, nil
}

// splitRows writes the state rows of rec, in fire order, as the snapshots of the n owners
// owner gives their keys, nil for an owner with none. Each owner's rows keep their order.
func (w *WindowAgg) splitRows(rec arrow.RecordBatch, n int, owner KeyOwner, kind byte, id uint64, wm int64) ([][]byte, error) {
	subs, err := w.owners(rec, n, owner)
	if err != nil {
		return nil, err
	}
	bounds := make([]int, n+1)
	for _, s := range subs {
		bounds[s+1]++
	}
	for i := range n {
		bounds[i+1] += bounds[i]
	}
	rows := make([]int32, len(subs))
	next := append([]int(nil), bounds[:n]...)
	for i, s := range subs {
		rows[next[s]] = int32(i)
		next[s]++
	}
	sorted, err := takeRows(allocator(w.ctx), rec, rows)
	if err != nil {
		return nil, err
	}
	defer sorted.Release()
	return w.sealParts(sorted, bounds, kind, id, wm)
}

// sealParts writes rows bounds[i] to bounds[i+1] of rec as the snapshot of owner i (nil
// when there are none), several at once.
func (w *WindowAgg) sealParts(rec arrow.RecordBatch, bounds []int, kind byte, id uint64, wm int64) ([][]byte, error) {
	n := len(bounds) - 1
	out := make([][]byte, n)
	fp, schema, mem := w.StateFingerprint(), w.stateSchema(), allocator(w.ctx)
	perRow := 0
	if rows := int(rec.NumRows()); rows > 0 {
		for _, c := range rec.Columns() {
			perRow += dataSize(c.Data())
		}
		perRow = perRow/rows + 1
	}
	var eg errgroup.Group
	eg.SetLimit(runtime.GOMAXPROCS(0))
	for i := range n {
		lo, hi := bounds[i], bounds[i+1]
		if lo == hi {
			continue
		}
		eg.Go(func() error {
			part := rec.NewSlice(int64(lo), int64(hi))
			defer part.Release()
			sw := newStateWriter(kind, windowAggStateVersion, id, fp)
			sw.varint(wm)
			sw.buf.Grow(4096 + (hi-lo)*perRow)
			if err := sw.stream(mem, schema, part); err != nil {
				return fmt.Errorf("owner %d: %w", i, err)
			}
			out[i] = sw.seal()
			return nil
		})
	}
	if err := eg.Wait(); err != nil {
		return nil, err
	}
	return out, nil
}

// RestoreParts loads snapshots of distinct keys, such as those of distinct key groups; see
// PartsRestorer.
func (w *WindowAgg) RestoreParts(parts [][]byte) error {
	if err := w.restoreParts(parts); err != nil {
		return fmt.Errorf("restore %s aggregation: %w", w.cfg.Window, err)
	}
	return nil
}

func (w *WindowAgg) restoreParts(parts [][]byte) error {
	if w.sess != nil {
		// Slots are numbered per snapshot: renumber them all together, as Rescale does.
		one, err := w.rescale(parts, 1, oneOwner, true)
		if err != nil {
			return err
		}
		if one[0] == nil {
			return nil
		}
		return w.restore(one[0])
	}
	if n := w.Groups(); n > 0 {
		return fmt.Errorf("the operator already holds %d groups", n)
	}
	type decoded struct {
		wm  int64
		rec arrow.RecordBatch
		// segs are a version 2 part's segments, which the pebble backend loads as they are.
		segs []segment
	}
	states := make([]decoded, len(parts))
	defer func() {
		for _, s := range states {
			if s.rec != nil {
				s.rec.Release()
			}
		}
	}()
	w.stateSchema() // made once, before the parts are read at once
	var eg errgroup.Group
	eg.SetLimit(runtime.GOMAXPROCS(0))
	for i, p := range parts {
		if p == nil {
			continue
		}
		eg.Go(func() error {
			if w.spill != nil {
				r, err := w.openState(p)
				if err != nil {
					return fmt.Errorf("part %d: %w", i, err)
				}
				if r.version == windowAggSegmentsVersion {
					wm, err := r.varint("watermark")
					if err != nil {
						return fmt.Errorf("part %d: %w", i, err)
					}
					segs, err := readSegments(r)
					if err != nil {
						return fmt.Errorf("part %d: %w", i, err)
					}
					states[i] = decoded{wm: wm, segs: segs}
					return nil
				}
			}
			wm, _, rec, err := w.openRows(p)
			if err != nil {
				return fmt.Errorf("part %d: %w", i, err)
			}
			states[i] = decoded{wm: wm, rec: rec}
			return nil
		})
	}
	if err := eg.Wait(); err != nil {
		return err
	}
	wm, rows, found := int64(MaxWatermark), 0, false
	var segs [][]segment
	for _, s := range states {
		if s.rec != nil {
			wm, rows, found = min(wm, s.wm), rows+int(s.rec.NumRows()), true
		}
		if s.segs != nil {
			wm, found = min(wm, s.wm), true
			segs = append(segs, s.segs)
		}
	}
	if !found {
		return nil
	}
	w.reserveKeys(rows)
	if len(segs) > 0 {
		if err := w.restoreSegments(segs); err != nil {
			return err
		}
	}
	for i, s := range states {
		if s.rec == nil {
			continue
		}
		var err error
		if w.spill != nil {
			err = w.restoreSpilling(s.rec)
		} else {
			err = w.restoreGroups(s.rec)
		}
		if err != nil {
			return fmt.Errorf("part %d: %w", i, err)
		}
	}
	w.wm = wm
	return nil
}

// SnapshotGroups writes the chain's snapshot by owner. A chain of one GroupSnapshotter
// wraps that member's parts. A chain of several has its whole snapshot rescaled to n, and
// when they are all GroupSnapshotters, the entries none of them holds state for are nil;
// any other chain's entries are all set.
func (c *snapshotChain) SnapshotGroups(id uint64, n int, owner KeyOwner) ([][]byte, error) {
	if len(c.stateful) == 1 {
		i := c.stateful[0]
		if g, ok := c.ops[i].(GroupSnapshotter); ok {
			parts, err := g.SnapshotGroups(id, n, owner)
			if err != nil {
				return nil, fmt.Errorf("chain operator %d (%T): %w", i, c.ops[i], err)
			}
			fp := c.StateFingerprint()
			for k, p := range parts {
				if p != nil {
					parts[k] = c.wrap(id, fp, p)
				}
			}
			return parts, nil
		}
	}
	state, err := c.Snapshot(id)
	if err != nil {
		return nil, err
	}
	out, err := c.Rescale([][]byte{state}, n, owner)
	if err != nil {
		return nil, err
	}
	used := make([]bool, n)
	for _, i := range c.stateful {
		g, ok := c.ops[i].(GroupSnapshotter)
		if !ok {
			return out, nil
		}
		parts, err := g.SnapshotGroups(id, n, owner)
		if err != nil {
			return nil, fmt.Errorf("chain operator %d (%T): %w", i, c.ops[i], err)
		}
		for k, p := range parts {
			used[k] = used[k] || p != nil
		}
	}
	for k := range out {
		if !used[k] {
			out[k] = nil
		}
	}
	return out, nil
}

// wrap puts the snapshot of the chain's only stateful member into the chain's envelope.
func (c *snapshotChain) wrap(id uint64, fp string, part []byte) []byte {
	sw := newStateWriter(kindChain, chainStateVersion, id, fp)
	sw.buf.Grow(3*binary.MaxVarintLen64 + len(part) + 4)
	sw.uvarint(1)
	sw.uvarint(uint64(c.stateful[0]))
	sw.uvarint(uint64(len(part)))
	sw.buf.Write(part)
	return sw.seal()
}

// RestoreParts loads several snapshots of the chain: a chain of one PartsRestorer hands it
// its parts, any other chain restores them rescaled to one.
func (c *snapshotChain) RestoreParts(parts [][]byte) error {
	if len(c.stateful) == 1 {
		i := c.stateful[0]
		if r, ok := c.ops[i].(PartsRestorer); ok {
			members := make([][]byte, len(parts))
			for k, p := range parts {
				if p == nil {
					continue
				}
				m, _, err := c.memberStates(p)
				if err != nil {
					return fmt.Errorf("restore chain: part %d: %w", k, err)
				}
				members[k] = m[0]
			}
			if err := r.RestoreParts(members); err != nil {
				return fmt.Errorf("restore chain operator %d (%T): %w", i, c.ops[i], err)
			}
			return nil
		}
	}
	one, err := c.Rescale(parts, 1, oneOwner)
	if err != nil {
		return err
	}
	if one[0] == nil {
		return nil
	}
	return c.Restore(one[0])
}
