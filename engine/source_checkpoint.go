package engine

import (
	"context"
	"encoding/json"
	"fmt"

	"millrace/op"
	"millrace/source"
)

// SourcePart is a source subtask's part of a checkpoint (an entry of Snapshot.Parts): where
// each of its partitions stands, and the watermark it has emitted, so lateness is decided
// as before the stop. A cluster worker takes the parts apart by partition and puts them
// together again for the partitions it is given; nothing else reads them.
type SourcePart struct {
	Version    int             `json:"version"`
	Watermark  int64           `json:"watermark"`
	Partitions []PartitionPart `json:"partitions"`
}

// PartitionPart is one partition in a checkpoint: done, or where its reader stood
// (Position, from its reader's Checkpoint; none if it was not opened yet), and the largest
// event time it had read. Index is the partition's number in its source.
type PartitionPart struct {
	Index    int             `json:"index"`
	Done     bool            `json:"done,omitempty"`
	Position json.RawMessage `json:"position,omitempty"`
	MaxTime  int64           `json:"max_time"`
}

// DecodeSourcePart reads a source subtask's part of a checkpoint.
func DecodeSourcePart(data []byte) (SourcePart, error) {
	var st SourcePart
	if err := json.Unmarshal(data, &st); err != nil {
		return st, fmt.Errorf("source part: %w", err)
	}
	if st.Version != 1 {
		return st, fmt.Errorf("source part: version %d, want 1", st.Version)
	}
	return st, nil
}

// Encode writes the part as Snapshot.Parts holds it.
func (st SourcePart) Encode() ([]byte, error) {
	st.Version = 1
	return json.Marshal(st)
}

// state encodes where the subtask's partitions stand, and returns the positions of those
// not done, for Source.Committed once the checkpoint holding them is durable.
func (t *sourceTask) state() ([]byte, map[int][]byte, error) {
	if t.r.coord == nil {
		return nil, nil, nil
	}
	st := SourcePart{Version: 1, Watermark: t.emitted}
	at := map[int][]byte{}
	for _, p := range t.parts {
		pp := PartitionPart{Index: p.index, Done: p.done, MaxTime: p.maxTime, Position: p.resume}
		if p.reader != nil {
			pos, err := p.reader.Checkpoint()
			if err != nil {
				return nil, nil, fmt.Errorf("partition %d: %w", p.index, err)
			}
			pp.Position = pos
		}
		if !p.done && pp.Position != nil {
			at[p.index] = pp.Position
		}
		st.Partitions = append(st.Partitions, pp)
	}
	state, err := json.Marshal(st)
	return state, at, err
}

// checkpoint takes the subtask's part of checkpoint id and sends its barrier on.
func (t *sourceTask) checkpoint(id uint64) error {
	state, at, err := t.state()
	if err != nil {
		return fmt.Errorf("checkpoint %d: %w", id, err)
	}
	t.r.coord.ack(ack{node: t.n, sub: t.sub, id: id, state: state, watermark: t.emitted})
	t.positions[id] = at
	for _, out := range t.outs {
		if err := out.send(op.Message{Kind: op.Barrier, Checkpoint: id}); err != nil {
			return err
		}
	}
	return nil
}

// restore places the partitions where the checkpoint the run resumes from left them.
func (t *sourceTask) restore() error {
	data, ok := t.r.coord.restored(t.n, t.sub)
	if !ok {
		return nil
	}
	var st SourcePart
	if err := json.Unmarshal(data, &st); err != nil {
		return fmt.Errorf("checkpoint %d: unreadable state of source subtask %d: %w", t.r.coord.cfg.Restore.ID, t.sub, err)
	}
	if st.Version != 1 {
		return fmt.Errorf("checkpoint %d: source subtask %d: state version %d, want 1", t.r.coord.cfg.Restore.ID, t.sub, st.Version)
	}
	if len(st.Partitions) != len(t.parts) {
		return fmt.Errorf("checkpoint %d: source subtask %d had %d partitions, now %d: the input changed since",
			t.r.coord.cfg.Restore.ID, t.sub, len(st.Partitions), len(t.parts))
	}
	t.emitted = st.Watermark
	t.stats.Watermark.Store(st.Watermark)
	for i, pp := range st.Partitions {
		p := t.parts[i]
		if pp.Index != p.index {
			return fmt.Errorf("checkpoint %d: source subtask %d: partition %d where %d was expected", t.r.coord.cfg.Restore.ID, t.sub, pp.Index, p.index)
		}
		p.done, p.maxTime, p.resume = pp.Done, pp.MaxTime, pp.Position
		if p.done && p.size > 0 {
			p.read = p.size
			t.stats.InputBytesRead.Add(p.size)
		}
	}
	return nil
}

// open opens partition p, where a checkpoint left it if the run resumes.
func (t *sourceTask) open(p *partitionState) (source.PartitionReader, error) {
	if p.resume == nil {
		rd, err := t.src.Open(t.r.ctx, p.index, nil)
		if err != nil {
			return nil, fmt.Errorf("open partition %d: %w", p.index, err)
		}
		return rd, nil
	}
	rd, err := t.src.Open(t.r.ctx, p.index, p.resume)
	if err != nil {
		return nil, fmt.Errorf("resume partition %d: %w", p.index, err)
	}
	p.resume = nil
	return rd, nil
}

// committed hands the source the positions of the newest checkpoint up to id, now
// durable, and forgets those of that one and older. Committing is the source's business:
// an error is logged, and the next checkpoint commits further.
func (t *sourceTask) committed(id uint64) {
	newest := uint64(0)
	for c := range t.positions {
		if c <= id && c > newest {
			newest = c
		}
	}
	if newest == 0 {
		return
	}
	at := t.positions[newest]
	for c := range t.positions {
		if c <= newest {
			delete(t.positions, c)
		}
	}
	if len(at) == 0 {
		return
	}
	if err := t.src.Committed(t.r.ctx, newest, at); err != nil {
		t.r.opts.Log.Warn("source commit failed; the next checkpoint commits further", "source", t.n.Name, "subtask", t.sub, "checkpoint", newest, "err", err)
	}
}

// finishCommits waits, once the subtask has handed over its final state, for the final
// checkpoint to be durable, and commits the positions at, where the subtask ended.
func (t *sourceTask) finishCommits(at map[int][]byte) error {
	if t.r.coord == nil {
		return nil
	}
	t.positions[op.FinalCheckpoint] = at
	for t.commits.latest() != op.FinalCheckpoint {
		select {
		case <-t.commits.ready():
			t.committed(t.commits.latest())
		case <-t.r.ctx.Done():
			return context.Cause(t.r.ctx)
		}
	}
	t.committed(op.FinalCheckpoint)
	return nil
}
