// Package engine runs a physical dataflow graph: every node as Parallelism subtasks, each a
// goroutine, connected by bounded channels that carry op.Message values.
//
// Backpressure is blocking: a subtask whose downstream channel is full waits, and the time
// it waits is measured. Watermarks flow with the data; a subtask's watermark is the minimum
// over its inputs, and an input that has ended no longer holds it back. An error in any
// subtask cancels the run and Run returns that error; nothing hangs.
package engine

import (
	"fmt"
	"millrace/source"

	"millrace/op"
)

// Partitioning says how an edge routes rows from upstream subtasks to downstream ones.
type Partitioning uint8

// The ways an edge routes rows.
const (
	// Forward sends subtask i's output to subtask i downstream; both sides have the same
	// parallelism.
	Forward Partitioning = iota
	// Rebalance spreads batches round-robin over the downstream subtasks.
	Rebalance
	// Hash sends each row to the subtask that owns its key group (see KeyGroupOwner).
	Hash
	// Broadcast sends every batch to every downstream subtask.
	Broadcast
)

func (p Partitioning) String() string {
	return [...]string{"forward", "rebalance", "hash", "broadcast"}[p]
}

// Graph is a physical dataflow.
type Graph struct {
	Nodes []*Node
	Edges []*Edge
	// KeyGroups is the number of key groups hashed keys fall into (default 256). Subtasks of
	// a keyed node own contiguous ranges of key groups, so parallelism can change by moving
	// whole key groups.
	KeyGroups int
}

// Node is one step of the dataflow.
type Node struct {
	Name        string
	Parallelism int
	// Exactly one of Source and Operator is set.
	Source source.Source
	// Watermarks and Checks are what the pipeline does with a source's rows: how event time
	// and watermarks work, and the predicates every row must pass.
	Watermarks WatermarkPolicy
	Checks     []Check
	// FailOnError fails the run when a check cannot be evaluated on a row; otherwise the
	// row becomes a dead letter saying why.
	FailOnError bool
	// Operator makes the operator instance of one subtask; an error fails the run before
	// any subtask starts.
	Operator func(subtask int) (op.Operator, error)
}

// Edge connects an output of one node to an input of another.
type Edge struct {
	From *Node
	// FromPort is the output of From: 0 is the main output; sources also have DeadLetters
	// and Late, operators ErrorPort.
	FromPort int
	To       *Node
	// Input is the index the receiving operator sees in Process.
	Input        int
	Partitioning Partitioning
	// Key lists the columns hashed by a Hash edge.
	Key []string
}

// The outputs of a source node.
const (
	MainPort = iota
	DeadLetterPort
	LatePort
)

// ErrorPort is the second output of an operator node: the rows its operator rejected
// through op.Context.Errors. Signals (watermarks, barriers, the end of data) go out on it as
// on the main output.
const ErrorPort = 1

// validate checks the graph's shape before anything runs.
func (g *Graph) validate() error {
	if g.KeyGroups == 0 {
		g.KeyGroups = 256
	}
	seen := map[*Node]bool{}
	for _, n := range g.Nodes {
		if n.Parallelism < 1 {
			return fmt.Errorf("engine: node %q: parallelism %d", n.Name, n.Parallelism)
		}
		if (n.Source == nil) == (n.Operator == nil) {
			return fmt.Errorf("engine: node %q needs exactly one of Source and Operator", n.Name)
		}
		if n.Parallelism > g.KeyGroups {
			return fmt.Errorf("engine: node %q: parallelism %d exceeds %d key groups", n.Name, n.Parallelism, g.KeyGroups)
		}
		seen[n] = true
	}
	inputs := map[*Node]map[int]bool{}
	for _, e := range g.Edges {
		if !seen[e.From] || !seen[e.To] {
			return fmt.Errorf("engine: edge between nodes not in the graph")
		}
		if e.To.Source != nil {
			return fmt.Errorf("engine: edge into source %q", e.To.Name)
		}
		if e.FromPort != MainPort && e.FromPort != ErrorPort && e.From.Source == nil {
			return fmt.Errorf("engine: edge from port %d of operator %q", e.FromPort, e.From.Name)
		}
		if e.Partitioning == Forward && e.From.Parallelism != e.To.Parallelism {
			return fmt.Errorf("engine: forward edge %s -> %s joins parallelism %d to %d", e.From.Name, e.To.Name, e.From.Parallelism, e.To.Parallelism)
		}
		if e.Partitioning == Hash && len(e.Key) == 0 {
			return fmt.Errorf("engine: hash edge %s -> %s has no key", e.From.Name, e.To.Name)
		}
		if inputs[e.To] == nil {
			inputs[e.To] = map[int]bool{}
		}
		inputs[e.To][e.Input] = true
	}
	for _, n := range g.Nodes {
		if n.Operator == nil {
			continue
		}
		for i := range len(inputs[n]) {
			if !inputs[n][i] {
				return fmt.Errorf("engine: node %q: inputs must be numbered from 0; %d is missing", n.Name, i)
			}
		}
		if len(inputs[n]) == 0 {
			return fmt.Errorf("engine: operator %q has no input", n.Name)
		}
	}
	return nil
}

// KeyGroupOwner is the subtask, of parallelism p, that owns key group kg of k: subtasks own
// contiguous ranges, as in Flink.
func KeyGroupOwner(kg, k, p int) int { return kg * p / k }

// KeyGroupRange is the half-open range of the k key groups that subtask sub of p owns.
func KeyGroupRange(sub, k, p int) (start, end int) {
	first := func(s int) int { return (s*k + p - 1) / p } // the least kg with kg*p/k >= s
	return first(sub), first(sub + 1)
}
