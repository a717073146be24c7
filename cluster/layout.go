package cluster

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"

	"millrace/engine"
	"millrace/kafka"
	"millrace/plan"
)

// Layout is a plan cut into stages at its keyed exchanges: what every worker of a cluster
// runs, for the partitions it owns.
type Layout struct {
	Pipeline  string
	KeyGroups int
	Stages    []*Stage
	Exchanges []*Exchange
}

// Stage is a part of the plan joined by no keyed exchange. A first stage reads a Kafka
// source, one subtask per topic partition a worker owns; a keyed stage reads the key groups
// a worker owns of its exchanges' topics.
type Stage struct {
	Name string
	// Nodes are the plan's nodes of the stage, in graph order.
	Nodes []*engine.Node
	// Source is the source node of a first stage; nil in a keyed stage. Kafka is its
	// connector when it reads Kafka; otherwise the source is bounded (files) and its
	// partitions, the splits, are handed out as the partitions of the topic Splits.
	Source *engine.Node
	Kafka  *kafka.Source
	Splits string
	// Inputs are the exchanges a keyed stage reads.
	Inputs []*Exchange
	// Files are the stage's file sinks, each writing part files into a directory that
	// every worker shares.
	Files []*FileSink
	// edges are the plan's edges between nodes of the stage.
	edges []*engine.Edge
}

// Keyed tells whether the stage reads exchanges rather than a source.
func (s *Stage) Keyed() bool { return s.Source == nil }

// Exchange is a keyed edge between two stages, carried by an internal topic with one
// partition per key group.
type Exchange struct {
	Topic    string
	Edge     *engine.Edge
	From, To *Stage
	Schema   *arrow.Schema
}

// TopicPrefix starts the name of every internal topic of pipeline.
func TopicPrefix(pipeline string) string { return "millrace." + pipeline + "." }

// Cut cuts p into stages. A keyed stage may feed another (a window after a dedup), and a
// step may take keyed rows from two stages (a join), whose exchanges the group hands out
// co-partitioned. It refuses what a cluster cannot yet run, saying which step: a source
// neither Kafka nor bounded, a step that takes a source's rows and keyed rows, a sink that
// writes one file or to stdout.
func Cut(p *plan.Plan) (*Layout, error) {
	g := p.Graph
	l := &Layout{Pipeline: p.Spec.Name, KeyGroups: g.KeyGroups}
	if l.KeyGroups == 0 {
		l.KeyGroups = 256
	}
	files, err := fileSinks(p)
	if err != nil {
		return nil, err
	}
	// Nodes joined by an edge that is not keyed are in one stage.
	stageOf := map[*engine.Node]int{}
	for i, n := range g.Nodes {
		stageOf[n] = i
	}
	var find func(i int) int
	parent := make([]int, len(g.Nodes))
	for i := range parent {
		parent[i] = i
	}
	find = func(i int) int {
		for parent[i] != i {
			parent[i] = parent[parent[i]]
			i = parent[i]
		}
		return i
	}
	for _, e := range g.Edges {
		if e.Partitioning != engine.Hash {
			parent[find(stageOf[e.From])] = find(stageOf[e.To])
		}
	}
	byRoot := map[int]*Stage{}
	var order []int
	for i, n := range g.Nodes {
		r := find(i)
		st := byRoot[r]
		if st == nil {
			st = &Stage{}
			byRoot[r] = st
			order = append(order, r)
		}
		st.Nodes = append(st.Nodes, n)
		if f := files[n.Name]; f != nil {
			f.Node = n
			st.Files = append(st.Files, f)
		}
		if n.Source != nil {
			if st.Source != nil {
				return nil, fmt.Errorf("cluster: sources %q and %q feed one stage: a cluster runs a view over two sources only behind a keyed exchange", st.Source.Name, n.Name)
			}
			st.Source, st.Name = n, n.Name
			switch src := n.Source.(type) {
			case *kafka.Source:
				st.Kafka = src
			default:
				if !src.Capabilities().Bounded || !src.Capabilities().Resumable {
					return nil, fmt.Errorf("cluster: source %q is neither a Kafka topic nor bounded and resumable: a cluster cannot share it among workers", n.Name)
				}
				st.Splits = TopicPrefix(l.Pipeline) + "splits." + n.Name
			}
		}
	}
	stage := func(n *engine.Node) *Stage { return byRoot[find(stageOf[n])] }
	for _, e := range g.Edges {
		from, to := stage(e.From), stage(e.To)
		if e.Partitioning != engine.Hash {
			from.edges = append(from.edges, e)
			continue
		}
		if e.FromPort != engine.MainPort {
			return nil, fmt.Errorf("cluster: the keyed edge %s -> %s leaves port %d", e.From.Name, e.To.Name, e.FromPort)
		}
		if to.Source != nil {
			return nil, fmt.Errorf("cluster: step %q takes rows of source %q and keyed rows of %q: a cluster cannot yet run it", e.To.Name, to.Source.Name, e.From.Name)
		}
		step, ok := p.Step(e.From.Name)
		if !ok || step.Schema() == nil {
			return nil, fmt.Errorf("cluster: step %q: no schema", e.From.Name)
		}
		x := &Exchange{Topic: TopicPrefix(l.Pipeline) + e.To.Name, Edge: e, From: from, To: to, Schema: step.Schema()}
		if to.Name == "" {
			to.Name = e.To.Name
		}
		to.Inputs = append(to.Inputs, x)
		l.Exchanges = append(l.Exchanges, x)
	}
	for _, x := range l.Exchanges {
		if len(x.To.Inputs) > 1 {
			x.Topic += "." + fmt.Sprint(x.Edge.Input)
		}
	}
	for _, r := range order {
		st := byRoot[r]
		if st.Source == nil && len(st.Inputs) == 0 {
			return nil, fmt.Errorf("cluster: step %q has no input", st.Nodes[0].Name)
		}
		l.Stages = append(l.Stages, st)
	}
	// First stages before keyed ones, each group in graph order.
	slices.SortStableFunc(l.Stages, func(a, b *Stage) int {
		switch {
		case a.Keyed() == b.Keyed():
			return 0
		case b.Keyed():
			return -1
		}
		return 1
	})
	return l, nil
}

// Topics lists every topic the workers' consumer group owns partitions of: the sources'
// topics and the exchanges'.
func (l *Layout) Topics() []string {
	var topics []string
	for _, st := range l.Stages {
		switch {
		case st.Kafka != nil:
			topics = append(topics, st.Kafka.Topics()...)
		case st.Splits != "":
			topics = append(topics, st.Splits)
		}
	}
	for _, x := range l.Exchanges {
		topics = append(topics, x.Topic)
	}
	return topics
}

// Print writes the stages and their topics for people, as `millrace plan --cluster` shows
// them.
func (l *Layout) Print(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "cluster of pipeline %s: %d stage(s), group %s, %d key groups\n", l.Pipeline, len(l.Stages), l.Pipeline, l.KeyGroups)
	for i, st := range l.Stages {
		fmt.Fprintf(&b, "\nstage %d: %s\n", i, st.Name)
		switch {
		case st.Kafka != nil:
			fmt.Fprintf(&b, "  reads kafka topic(s) %s: one subtask per partition a worker owns\n", strings.Join(st.Kafka.Topics(), ", "))
		case st.Splits != "":
			fmt.Fprintf(&b, "  reads %d split(s) of source %s, handed out as the partitions of topic %s: one subtask per split a worker owns\n",
				st.Source.Source.Partitions(), st.Name, st.Splits)
		}
		for _, x := range st.Inputs {
			fmt.Fprintf(&b, "  reads topic %s (%d partitions = key groups, by %s)", x.Topic, l.KeyGroups, strings.Join(x.Edge.Key, ", "))
			if len(st.Inputs) > 1 {
				fmt.Fprintf(&b, " into input %d of %s", x.Edge.Input, x.Edge.To.Name)
			}
			if x.From.Keyed() {
				fmt.Fprintf(&b, ", watermarks from the %d key groups of stage %s", l.KeyGroups, x.From.Name)
			}
			b.WriteString("\n")
		}
		if len(st.Inputs) > 1 {
			b.WriteString("  co-partitioned: the group gives key group k of every topic it reads to one worker, which keeps the state of k\n")
		}
		names := make([]string, len(st.Nodes))
		for j, n := range st.Nodes {
			names[j] = n.Name
		}
		fmt.Fprintf(&b, "  runs %s\n", strings.Join(names, ", "))
		for _, x := range l.Exchanges {
			if x.From == st {
				fmt.Fprintf(&b, "  writes %s -> topic %s, partition = key group of %s\n", x.Edge.From.Name, x.Topic, strings.Join(x.Edge.Key, ", "))
			}
		}
		for _, f := range st.Files {
			fmt.Fprintf(&b, "  writes %s part files of sink %s under %s, each worker's named part-WORKER-RUN-SSS-NNNNN.%s\n",
				f.Options.Kind, f.Sink, f.Options.Path, f.Options.Kind)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
