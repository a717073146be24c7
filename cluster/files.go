package cluster

import (
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"

	"millrace/engine"
	"millrace/op"
	"millrace/plan"
	"millrace/sink"
)

// File sinks in a cluster. Every worker writes part files into the sink's directory, which
// all of them see (a shared filesystem), under names of its own: each attempt of a
// generation names its files with the worker's name and the attempt's run name
// (sink.FileOptions.Prefix), as its state objects are named, so that no two writers, of
// two workers or two attempts of one, ever use one name, hidden or published.
//
// A sink pre-commits its files at each checkpoint, and its state, which lists them, goes
// into the units' state objects written before the transaction; the engine lets the sink
// publish them only once the transaction has committed. A worker that dies in between
// leaves them pre-committed, under hidden names, and whoever restores the units publishes
// them. A sink of a first stage runs one subtask per unit, whose state goes with that
// unit. A sink of a keyed stage runs one subtask over every key group the generation owns,
// whose files mix the rows of all of them: its state goes, whole, with one of the key
// groups the checkpoint's transaction commits (the first in order), whose next owner
// publishes the files, and a worker that takes over key groups carrying the states of
// several former runs merges them (sink.File.Merge). Every state restored is its writer's
// last committed one, as a unit is in every checkpoint of an attempt from the first that
// read it on: one carrying an older state of the same run never exists, so no restore
// removes a file pre-committed by a later checkpoint. A state restored twice (its unit
// taken over again before the new owner committed) publishes the same files, which
// publishing makes happen once.

// FileSink is a file sink of a stage: the part files of a directory.
type FileSink struct {
	// Sink names the sink in the spec, Node is its node in the plan.
	Sink string
	Node *engine.Node
	// Options are the sink's as the plan made them, without a prefix.
	Options sink.FileOptions
	Schema  *arrow.Schema
}

// fileSinks checks that a cluster can write every output of p, and returns the file
// sinks by node name, their nodes yet to be set: the sinks of many workers at once write part files into one
// directory each. A single file is refused: it is published whole, at the end, by the one
// run that wrote it all, and every stage of a cluster runs on many workers, whichever the
// group hands its units to (a rebalance moves even a single partition). So is stdout.
func fileSinks(p *plan.Plan) (map[string]*FileSink, error) {
	out := map[string]*FileSink{}
	for _, o := range p.Outputs {
		switch {
		case o.File == nil:
			return nil, fmt.Errorf("cluster: sink %q writes to stdout: the workers of a cluster cannot share a stream; write a directory of part files or a Kafka topic", o.Sink)
		case !o.File.Dir:
			return nil, fmt.Errorf("cluster: sink %q writes one file, %s: in a cluster many workers write each sink at once, so a file sink writes part files into a directory (a path without a file extension, or partition_by)", o.Sink, o.File.Path)
		}
		out[o.Node] = &FileSink{Sink: o.Sink, Options: *o.File, Schema: o.Schema}
	}
	return out, nil
}

// fileSink is the file sink node n is, if it is one.
func (s *Stage) fileSink(n *engine.Node) *FileSink {
	for _, f := range s.Files {
		if f.Node == n {
			return f
		}
	}
	return nil
}

// sharedSink tells whether node is a file sink of a keyed stage, whose one subtask's state
// goes with one of the key groups a checkpoint commits.
func (l *Layout) sharedSink(node string) bool {
	for _, st := range l.Stages {
		if !st.Keyed() {
			continue
		}
		for _, f := range st.Files {
			if f.Node.Name == node {
				return true
			}
		}
	}
	return false
}

// fileSinkOperator makes the subtasks of file sink f for this attempt of the generation:
// their files named by the worker and the attempt.
func (g *generation) fileSinkOperator(f *FileSink) (func(int) (op.Operator, error), error) {
	opts := f.Options
	opts.Prefix = runPrefix(g.w.opts.Worker, g.runName)
	newFile, err := sink.NewFileFactory(f.Schema, opts)
	if err != nil {
		return nil, fmt.Errorf("cluster: sink %q: %w", f.Sink, err)
	}
	return func(int) (op.Operator, error) { return newFile(), nil }, nil
}

// runPrefix names an attempt of worker in the files it writes: the worker's name, with
// what a file name cannot carry unambiguously replaced by '_', and the attempt's run name.
func runPrefix(worker, run string) string {
	safe := strings.Map(func(c rune) rune {
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' {
			return c
		}
		return '_'
	}, worker)
	return safe + "-" + run
}

// stateMerger is an operator whose states, each written by some subtask of some run, merge
// into one that a subtask restores: a file sink.
type stateMerger interface {
	Merge(states [][]byte) ([]byte, error)
}

// mergeShared merges the states of node, a file sink of a keyed stage, that the restored
// units carry.
func (g *generation) mergeShared(node string, states [][]byte) ([]byte, error) {
	n := g.nodeNamed(node)
	if n == nil {
		return nil, fmt.Errorf("cluster: restore: no step %q in this generation", node)
	}
	o, err := n.Operator(0)
	if err != nil {
		return nil, err
	}
	m, ok := o.(stateMerger)
	if !ok {
		return nil, fmt.Errorf("cluster: restore: the states of %q do not merge", node)
	}
	merged, err := m.Merge(states)
	if err != nil {
		return nil, fmt.Errorf("cluster: restore %q: %w", node, err)
	}
	return merged, nil
}
