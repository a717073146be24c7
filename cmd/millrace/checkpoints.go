package main

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"millrace/checkpoint"
	"millrace/engine"
	"millrace/plan"
	"millrace/scale"
)

// checkpoints connects a run to its checkpoint store: it writes the engine's snapshots as
// checkpoints, and finds the one a run resumes from.
type checkpoints struct {
	store  *checkpoint.Store
	plan   *plan.Plan
	retain int
	log    io.Writer
	last   uint64 // the newest checkpoint written
	final  bool   // the final checkpoint of input that ended is written
	// advisor, when set, keeps its forecast history in the checkpoints.
	advisor *scale.Advisor
	// rescaling is set when the run resumes from a checkpoint it took itself to change its
	// parallelism: there is nothing to tell the user about resuming.
	rescaling bool
	// discard: the checkpoints serve this run only, to change its parallelism (the demo),
	// and no later run resumes from them.
	discard bool
}

// advisorNode names the scaling advisor's state in a checkpoint; no step of a plan has a
// name with a slash.
const advisorNode = "scale/advisor"

// checkpointFlags are run's checkpoint options.
type checkpointFlags struct {
	dir      string
	off      bool
	interval time.Duration
	retain   int
	fresh    bool
	restarts restarts
	// rescaling: the next run goes on from the checkpoint its predecessor stopped at to
	// rescale.
	rescaling bool
	// discard: the checkpoints serve this run only and are removed at its end.
	discard bool
}

func (f *checkpointFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.dir, "checkpoint", "", "directory of the pipeline's checkpoints (default ./.millrace/PIPELINE/)")
	cmd.Flags().BoolVar(&f.off, "no-checkpoint", false, "take no checkpoints: a crash loses the run, and sinks publish at the end")
	cmd.Flags().DurationVar(&f.interval, "checkpoint-interval", 10*time.Second, "time between checkpoints (e.g. 200ms, 10s)")
	cmd.Flags().IntVar(&f.retain, "checkpoint-retain", 2, "how many of the newest checkpoints to keep")
	cmd.Flags().BoolVar(&f.fresh, "fresh", false, "start over: discard the checkpoints of an earlier run")
	cmd.Flags().IntVar(&f.restarts.attempts, "restarts", 3, "how often a failed run starts again from its newest checkpoint")
	cmd.Flags().DurationVar(&f.restarts.base, "restart-backoff", time.Second, "the wait before the first restart; it doubles with each")
	f.restarts.max = 30 * time.Second
}

// open sets up the checkpoints of a run of p, and the run's resumption from the newest
// one; it returns nil with --no-checkpoint.
func (f *checkpointFlags) open(cmd *cobra.Command, p *plan.Plan, opts *engine.Options, advisor *scale.Advisor) (*checkpoints, error) {
	switch {
	case f.off && (f.fresh || f.dir != ""):
		return nil, usagef("--no-checkpoint takes no --fresh or --checkpoint")
	case f.off:
		return nil, nil
	case f.interval <= 0:
		return nil, usagef("--checkpoint-interval %s: want a positive duration such as 10s", f.interval)
	case f.retain < 1:
		return nil, usagef("--checkpoint-retain %d: keep at least 1", f.retain)
	case f.restarts.attempts < 0 || f.restarts.base <= 0:
		return nil, usagef("--restarts %d --restart-backoff %s: want a count of 0 or more and a positive duration", f.restarts.attempts, f.restarts.base)
	}
	dir := f.dir
	if dir == "" {
		dir = defaultCheckpointDir(p.Spec.Name)
	}
	c, err := openCheckpoints(checkpoint.OSFS{}, dir, p, f.retain, cmd.ErrOrStderr())
	if err != nil {
		return nil, err
	}
	c.advisor, c.rescaling, c.discard = advisor, f.rescaling, f.discard
	snap, err := c.resume(f.fresh)
	if err != nil {
		return nil, err
	}
	opts.Checkpointing = &engine.Checkpointing{Interval: f.interval, Restore: snap, Complete: c.complete}
	return c, nil
}

// finish ends a run that went to its end: after input that ended, the checkpoints are
// marked finished so the next run starts afresh; after a stop, it says where the next run
// goes on from. Checkpoints that served this run only are removed.
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

// defaultCheckpointDir is where run keeps a pipeline's checkpoints unless told otherwise.
func defaultCheckpointDir(pipeline string) string {
	return filepath.Join(".millrace", pipeline)
}

func openCheckpoints(fsys checkpoint.FS, dir string, p *plan.Plan, retain int, log io.Writer) (*checkpoints, error) {
	s, err := checkpoint.Open(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("checkpoints in %s: %w", dir, err)
	}
	return &checkpoints{store: s, plan: p, retain: retain, log: log}, nil
}

// resume returns the snapshot the run resumes from, or nil to start afresh: with fresh,
// when there is no checkpoint, or when the run that took them finished. Steps whose
// definition changed since start with fresh state; a changed source or sink cannot resume
// and is refused. Another parallelism is fine: the engine spreads the state anew.
func (c *checkpoints) resume(fresh bool) (*engine.Snapshot, error) {
	finished, err := c.store.Finished()
	if err != nil {
		return nil, err
	}
	if fresh || finished {
		return nil, c.store.Clear()
	}
	m, err := c.store.Latest()
	if errors.Is(err, checkpoint.ErrNone) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	c.last = m.ID
	names := slices.Sorted(maps.Keys(m.Nodes))
	snap := &engine.Snapshot{ID: m.ID, Taken: m.Taken, Parts: map[string][][]byte{}}
	var moved []string // steps whose parallelism changed
	for _, name := range names {
		node := m.Nodes[name]
		if name == advisorNode {
			if err := c.restoreAdvisor(m, node); err != nil {
				return nil, err
			}
			continue
		}
		step, ok := c.plan.Step(name)
		if !ok {
			continue // a step the spec no longer has
		}
		if node.Fingerprint != step.Fingerprint() {
			if step.Kind == "source" || step.Kind == "sink" {
				return nil, fmt.Errorf("%s %q changed since checkpoint %d: it cannot go on from there; --fresh starts over", step.Kind, name, m.ID)
			}
			fmt.Fprintf(c.log, "step %q changed since checkpoint %d: it starts with fresh state\n", name, m.ID)
			continue
		}
		if n := len(node.Parts); n != step.Parallelism {
			moved = append(moved, fmt.Sprintf("%s (%d→%d)", name, n, step.Parallelism))
		}
		parts := make([][]byte, len(node.Parts))
		for _, part := range node.Parts {
			if part.Blob == "" {
				continue
			}
			if parts[part.Subtask], err = c.store.Read(m, part.Blob); err != nil {
				return nil, err
			}
		}
		snap.Parts[name] = parts
	}
	if c.rescaling {
		return snap, nil // the run says so itself
	}
	fmt.Fprintf(c.log, "resuming from checkpoint %d taken at %s; --fresh starts over\n", m.ID, m.Taken.Local().Format(time.DateTime))
	if len(moved) > 0 {
		fmt.Fprintf(c.log, "the parallelism changed: the state of %s is spread over the subtasks\n", strings.Join(moved, ", "))
	}
	return snap, nil
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
		node := checkpoint.Node{Kind: step.Kind, Fingerprint: step.Fingerprint()}
		keyed := slices.ContainsFunc(step.Inputs, func(in plan.Input) bool { return in.Partitioning == engine.Hash.String() })
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
func (c *checkpoints) restoreAdvisor(m checkpoint.Manifest, node checkpoint.Node) error {
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
