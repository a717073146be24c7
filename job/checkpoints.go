package job

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"millrace/checkpoint"
	"millrace/engine"
	"millrace/op"
	"millrace/plan"
	"millrace/scale"
	"millrace/sink"
)

// checkpoints connects the runs of a job to its checkpoint store: it writes the engine's
// snapshots as checkpoints, and reads the one a run resumes from.
type checkpoints struct {
	store  *checkpoint.Store
	plan   *plan.Plan // of the run now
	retain int
	log    io.Writer
	last   uint64 // the newest checkpoint written or resumed from
	final  bool   // the final checkpoint of input that ended is written
	// advisor, when set, keeps its forecast history in the checkpoints.
	advisor *scale.Advisor
	// discard: the checkpoints serve this job only and are removed at its end.
	discard bool
}

func openCheckpoints(dir string, retain int, log io.Writer) (*checkpoints, error) {
	return openCheckpointsOn(checkpoint.OSFS{}, dir, retain, log)
}

func openCheckpointsOn(fsys checkpoint.FS, dir string, retain int, log io.Writer) (*checkpoints, error) {
	s, err := checkpoint.Open(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("checkpoints in %s: %w", dir, err)
	}
	return &checkpoints{store: s, retain: retain, log: log}, nil
}

// finish ends a job that went to its end: after input that ended, the checkpoints are
// marked finished so the next run starts afresh; after a stop, it says where the next run
// goes on from. Checkpoints that served this job only are removed.
func (c *checkpoints) finish(w io.Writer) error {
	switch {
	case c == nil:
		return nil
	case c.discard:
		return os.RemoveAll(c.store.Dir())
	case c.final:
		return c.store.MarkFinished()
	}
	fmt.Fprintf(w, "stopped at checkpoint %d in %s; run again to go on from there\n", c.last, c.store.Dir())
	return nil
}

// resume returns the snapshot a run of p resumes from, or nil to start afresh: with
// fresh, when there is no checkpoint, or when the run that took them finished. PlanResume
// decides which steps take their state back; rescaling says the job resumes from the
// checkpoint it stopped at itself, and there is nothing to tell the user.
func (c *checkpoints) resume(p *plan.Plan, fresh, rescaling bool, reset []string) (*engine.Snapshot, error) {
	c.plan = p
	finished, err := c.store.Finished()
	if err != nil {
		return nil, err
	}
	if fresh || finished {
		return nil, c.store.Clear()
	}
	m, r, parts, err := c.newestUsable(p, reset)
	if errors.Is(err, checkpoint.ErrNone) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	c.last = m.ID
	if r.Advisor {
		if err := c.restoreAdvisor(m); err != nil {
			return nil, err
		}
	}
	snap := &engine.Snapshot{ID: m.ID, Taken: m.Taken, Parts: parts}
	if rescaling {
		return snap, nil
	}
	fmt.Fprintf(c.log, "resuming from checkpoint %d taken at %s; --fresh starts over\n", m.ID, m.Taken.Local().Format(time.DateTime))
	for _, name := range r.Redefined {
		fmt.Fprintf(c.log, "step %q changed since checkpoint %d: it held no state, and its rows follow the new definition from here on\n", name, m.ID)
	}
	for _, v := range r.Reset {
		fmt.Fprintf(c.log, "view %q starts with empty state (--reset-view): %s miss the rows read before checkpoint %d\n", v.View, v.openWindows(), m.ID)
	}
	if len(r.Moved) > 0 {
		fmt.Fprintf(c.log, "the parallelism changed: the state of %s is spread over the subtasks\n", strings.Join(r.Moved, ", "))
	}
	return snap, nil
}

// newestUsable finds the checkpoint a run of p goes on from: the newest intact one (every
// blob as its manifest recorded it) whose sinks' pre-committed files are intact too. It
// decides with PlanResume which steps take their state back, and reads their parts. A
// damaged checkpoint is reported, discarded (the run takes its id again) and passed over
// for the one before; with none left, the error says so. The sinks are checked here, before
// the engine starts, because once it runs one sink subtask could publish from a checkpoint
// in which another then finds a damaged file.
func (c *checkpoints) newestUsable(p *plan.Plan, reset []string) (checkpoint.Manifest, Resume, map[string][][]byte, error) {
	m, skipped, err := c.store.LatestIntact()
	var r Resume
	var parts map[string][][]byte
	for err == nil {
		if r, err = PlanResume(m, p, reset); err != nil {
			return m, r, nil, err
		}
		parts, err = c.read(m, r.Restore)
		if err == nil {
			err = verifySinks(p, parts)
		}
		if !errors.Is(err, sink.ErrDamaged) {
			break
		}
		skipped = append(skipped, checkpoint.Skipped{ID: m.ID, Reason: err})
		var more []checkpoint.Skipped
		m, more, err = c.store.IntactBefore(m.ID)
		skipped = append(skipped, more...)
	}
	if errors.Is(err, checkpoint.ErrNone) && len(skipped) > 0 {
		return m, r, nil, fmt.Errorf("no intact checkpoint to resume from: %s; --fresh starts over", skipped[len(skipped)-1]) // not ErrNone: that would start afresh silently
	}
	if err != nil {
		return m, r, nil, err
	}
	for _, sk := range skipped {
		fmt.Fprintf(c.log, "%s; resuming from checkpoint %d\n", sk, m.ID)
		if err := c.store.Discard(sk.ID); err != nil {
			return m, r, nil, err
		}
	}
	return m, r, parts, nil
}

// read reads the parts of the steps named from checkpoint m.
func (c *checkpoints) read(m checkpoint.Manifest, steps []string) (map[string][][]byte, error) {
	out := map[string][][]byte{}
	for _, name := range steps {
		node := m.Nodes[name]
		parts := make([][]byte, len(node.Parts))
		for _, part := range node.Parts {
			if part.Blob == "" {
				continue
			}
			var err error
			if parts[part.Subtask], err = c.store.Read(m, part.Blob); err != nil {
				return nil, err
			}
		}
		out[name] = parts
	}
	return out, nil
}

// verifySinks checks the pre-committed files that the file sinks' parts name, as their
// Restore will: an error matching sink.ErrDamaged names a file that is not as written.
func verifySinks(p *plan.Plan, parts map[string][][]byte) error {
	for _, n := range p.Graph.Nodes {
		states, ok := parts[n.Name]
		if step, _ := p.Step(n.Name); !ok || step.Kind != plan.KindSink {
			continue
		}
		o, err := n.Operator(0)
		if err != nil {
			return err
		}
		f, ok := o.(*sink.File)
		if !ok {
			continue
		}
		for _, state := range states {
			if state == nil {
				continue
			}
			if err := f.Verify(state); err != nil {
				return fmt.Errorf("sink %s: %w", strings.TrimPrefix(n.Name, "sink."), err)
			}
		}
	}
	return nil
}

// complete writes a snapshot as a checkpoint and keeps the newest few. A checkpoint that
// cannot be written is reported; the previous one stays, and the next one tries again.
func (c *checkpoints) complete(s *engine.Snapshot) error {
	err := c.write(s)
	if err != nil && !s.Final {
		fmt.Fprintf(c.log, "checkpoint %d failed, the next one tries again: %v\n", s.ID, err)
	}
	return err
}

func (c *checkpoints) write(s *engine.Snapshot) error {
	p, err := c.store.Begin(s.ID)
	if err != nil {
		return err
	}
	m := checkpoint.Manifest{Taken: s.Taken, Pipeline: c.plan.Spec.Name, Final: s.Final, Nodes: map[string]checkpoint.Node{}}
	for name, parts := range s.Parts {
		step, _ := c.plan.Step(name)
		node := checkpoint.Node{Kind: string(step.Kind), Fingerprint: step.Fingerprint()}
		if wm, ok := s.Watermarks[name]; ok && wm < op.MaxWatermark { // at the maximum, every window fired
			at := time.UnixMilli(wm).UTC()
			node.Watermark = &at
		}
		keyed := step.Keyed()
		for sub, state := range parts {
			part := checkpoint.Part{Subtask: sub}
			if keyed {
				part.KeyGroups.Start, part.KeyGroups.End = engine.KeyGroupRange(sub, c.plan.Graph.KeyGroups, len(parts))
			}
			if state != nil {
				part.Blob = fmt.Sprintf("%s.%d", name, sub)
				if err := p.Write(part.Blob, state); err != nil {
					return errors.Join(err, p.Abort())
				}
			}
			node.Parts = append(node.Parts, part)
		}
		m.Nodes[name] = node
	}
	if c.advisor != nil {
		state, err := c.advisor.MarshalJSON()
		if err != nil {
			return errors.Join(err, p.Abort())
		}
		const blob = "scale-advisor"
		if err := p.Write(blob, state); err != nil {
			return errors.Join(err, p.Abort())
		}
		m.Nodes[advisorNode] = checkpoint.Node{Kind: "advisor", Parts: []checkpoint.Part{{Subtask: 0, Blob: blob}}}
	}
	if _, err := p.Commit(m); err != nil {
		return err
	}
	c.last, c.final = s.ID, s.Final
	return c.store.Retain(c.retain)
}

// restoreAdvisor gives the scaling advisor the forecast history a checkpoint kept.
func (c *checkpoints) restoreAdvisor(m checkpoint.Manifest) error {
	node := m.Nodes[advisorNode]
	if c.advisor == nil || len(node.Parts) != 1 || node.Parts[0].Blob == "" {
		return nil
	}
	state, err := c.store.Read(m, node.Parts[0].Blob)
	if err != nil {
		return err
	}
	if err := c.advisor.UnmarshalJSON(state); err != nil {
		fmt.Fprintf(c.log, "scaling advice starts without history: checkpoint %d: %v\n", m.ID, err)
	}
	return nil
}
