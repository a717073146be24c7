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
// the node's subtasks in g. s itself is left as it is.
func rescaled(g *Graph, s *Snapshot) (*Snapshot, error) {
	out := *s
	out.Parts = make(map[string][][]byte, len(s.Parts))
	for name, parts := range s.Parts {
		out.Parts[name] = parts
	}
	for _, n := range g.Nodes {
		parts, ok := s.Parts[n.Name]
		if !ok || len(parts) == n.Parallelism {
			continue
		}
		moved, err := rescaleNode(g, n, parts)
		if err != nil {
			return nil, fmt.Errorf("engine: checkpoint %d: %q from %d to %d subtasks: %w", s.ID, n.Name, len(parts), n.Parallelism, err)
		}
		out.Parts[n.Name] = moved
	}
	return &out, nil
}

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
	moved, err := r.Rescale(parts, n.Parallelism, keyOwner(g, n.Parallelism))
	if err != nil {
		return nil, err
	}
	if len(moved) != n.Parallelism {
		return nil, fmt.Errorf("rescaling made %d parts", len(moved))
	}
	return moved, nil
}

// keyOwner is the subtask, of parallelism p, that a keyed exchange of g sends each row of
// key columns to.
func keyOwner(g *Graph, p int) op.KeyOwner {
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
			owners[i] = KeyGroupOwner(KeyGroup(h, g.KeyGroups), g.KeyGroups, p)
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
