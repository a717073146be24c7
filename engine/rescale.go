package engine

import (
	"encoding/json"
	"fmt"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"millrace/op"
)

// Rescaling. A run may resume from a checkpoint taken at another parallelism: before any
// subtask starts, the parts of every node whose parallelism changed are spread over its
// subtasks now. A source's partitions go where the source now reads them; an operator's
// state goes through its op.Rescaler, keyed state to the subtask that now owns its key
// group, as in Flink, so nothing is lost or counted twice.

// rescaled returns s with the parts of every node whose parallelism changed spread over
// the node's subtasks in g. s itself is left as it is. A keyed node whose operator is an
// op.PartsRestorer, and whose old subtasks' key groups each fall to one new subtask (as
// when the parts were taken by key group, or from 4 subtasks to 2), keeps its parts as they
// are: bundles holds, for such a node, the old parts each new subtask restores together,
// and the node is left out of the returned snapshot's parts.
func rescaled(g *Graph, s *Snapshot) (*Snapshot, map[*Node][][][]byte, error) {
	out := *s
	out.Parts = make(map[string][][]byte, len(s.Parts))
	for name, parts := range s.Parts {
		out.Parts[name] = parts
	}
	var bundles map[*Node][][][]byte
	for _, n := range g.Nodes {
		parts, ok := s.Parts[n.Name]
		if !ok || len(parts) == n.Parallelism {
			continue
		}
		if b, ok := bundled(g, n, parts); ok {
			if bundles == nil {
				bundles = map[*Node][][][]byte{}
			}
			bundles[n] = b
			delete(out.Parts, n.Name)
			continue
		}
		moved, err := rescaleNode(g, n, parts)
		if err != nil {
			return nil, nil, fmt.Errorf("engine: checkpoint %d: %q from %d to %d subtasks: %w", s.ID, n.Name, len(parts), n.Parallelism, err)
		}
		out.Parts[n.Name] = moved
	}
	return &out, bundles, nil
}

// bundled gives each subtask of n the parts of the old subtasks whose key groups it now
// owns, when n is keyed, its operator restores several parts at once and no old subtask's
// key groups are split between new ones.
func bundled(g *Graph, n *Node, parts [][]byte) ([][][]byte, bool) {
	if !keyed(g, n) || g.KeyGroups <= 0 {
		return nil, false
	}
	if o, err := n.Operator(0); err != nil {
		return nil, false
	} else if _, ok := o.(op.PartsRestorer); !ok {
		return nil, false
	}
	k, from := g.KeyGroups, len(parts)
	to := make([]int, from) // each old subtask's new one
	for i := range to {
		to[i] = -1
	}
	for kg := range k {
		old, now := KeyGroupOwner(kg, k, from), KeyGroupOwner(kg, k, n.Parallelism)
		if to[old] == -1 {
			to[old] = now
		} else if to[old] != now {
			return nil, false
		}
	}
	out := make([][][]byte, n.Parallelism)
	for i, p := range parts {
		if p == nil {
			continue
		}
		if to[i] == -1 {
			return nil, false // state in a subtask that owned no key group
		}
		out[to[i]] = append(out[to[i]], p)
	}
	return out, true
}

// keyed reports whether every input of n, and it has one, is hash-partitioned.
func keyed(g *Graph, n *Node) bool {
	in := 0
	for _, e := range g.Edges {
		if e.To != n {
			continue
		}
		if e.Partitioning != Hash {
			return false
		}
		in++
	}
	return in > 0
}

// snapshotsByKeyGroup reports whether n takes its parts by key group when checkpoints are
// taken so: a keyed node whose operator is an op.GroupSnapshotter.
func snapshotsByKeyGroup(g *Graph, n *Node) (bool, error) {
	if n.Source != nil || n.Operator == nil || !keyed(g, n) || g.KeyGroups <= 0 {
		return false, nil
	}
	o, err := n.Operator(0)
	if err != nil {
		return false, fmt.Errorf("engine: %q: %w", n.Name, err)
	}
	_, ok := o.(op.GroupSnapshotter)
	return ok, nil
}

// rescaleNode spreads the parts of n over its subtasks through its operator's Rescale.
func rescaleNode(g *Graph, n *Node, parts [][]byte) ([][]byte, error) {
	if !slices.ContainsFunc(parts, func(p []byte) bool { return p != nil }) {
		return make([][]byte, n.Parallelism), nil // no state to move
	}
	if n.Source != nil {
		return rescaleSource(parts, n.Parallelism)
	}
	o, err := n.Operator(0)
	if err != nil {
		return nil, err
	}
	r, ok := o.(op.Rescaler)
	if !ok {
		return nil, fmt.Errorf("its state cannot move to another number of subtasks")
	}
	moved, err := r.Rescale(parts, n.Parallelism, KeyOwner(g.KeyGroups, n.Parallelism))
	if err != nil {
		return nil, err
	}
	if len(moved) != n.Parallelism {
		return nil, fmt.Errorf("rescaling made %d parts", len(moved))
	}
	return moved, nil
}

// KeyOwner is the subtask, of parallelism p, that a keyed exchange over keyGroups key
// groups sends each row of key columns to. With p = keyGroups it is the key group itself.
func KeyOwner(keyGroups, p int) op.KeyOwner {
	return func(keys []arrow.Array) ([]int, error) {
		if len(keys) == 0 {
			return nil, fmt.Errorf("no key columns")
		}
		fields := make([]arrow.Field, len(keys))
		idx := make([]int, len(keys))
		for i, k := range keys {
			fields[i] = arrow.Field{Name: fmt.Sprintf("key_%d", i), Type: k.DataType(), Nullable: true}
			idx[i] = i
		}
		rows := keys[0].Len()
		rec := array.NewRecordBatch(arrow.NewSchema(fields, nil), keys, int64(rows))
		defer rec.Release()
		hashes := make([]uint64, rows)
		if err := HashRows(rec, idx, hashes); err != nil {
			return nil, err
		}
		owners := make([]int, rows)
		for i, h := range hashes {
			owners[i] = KeyGroupOwner(KeyGroup(h, keyGroups), keyGroups, p)
		}
		return owners, nil
	}
}

// rescaleSource hands every partition to the subtask that reads it at parallelism p. Each
// new subtask starts from the lowest watermark the old ones had emitted, so no row that
// was on time is called late.
func rescaleSource(parts [][]byte, p int) ([][]byte, error) {
	var all []PartitionPart
	wm := int64(op.MaxWatermark)
	for sub, part := range parts {
		if part == nil {
			continue
		}
		var st SourcePart
		if err := json.Unmarshal(part, &st); err != nil {
			return nil, fmt.Errorf("unreadable state of source subtask %d: %w", sub, err)
		}
		if st.Version != 1 {
			return nil, fmt.Errorf("source subtask %d: state version %d, want 1", sub, st.Version)
		}
		all = append(all, st.Partitions...)
		wm = min(wm, st.Watermark)
	}
	slices.SortFunc(all, func(a, b PartitionPart) int { return a.Index - b.Index })
	states := make([]SourcePart, p)
	for s := range states {
		states[s] = SourcePart{Version: 1, Watermark: wm}
	}
	for i, pp := range all {
		if i > 0 && all[i-1].Index == pp.Index {
			return nil, fmt.Errorf("partition %d is in two subtasks' states", pp.Index)
		}
		s := &states[pp.Index%p] // as sourceTask spreads partitions
		s.Partitions = append(s.Partitions, pp)
	}
	out := make([][]byte, p)
	for s, st := range states {
		var err error
		if out[s], err = json.Marshal(st); err != nil {
			return nil, err
		}
	}
	return out, nil
}
