// Package plan turns a pipeline spec into a physical dataflow: which operators run, with
// how many subtasks, joined by which exchanges.
//
// A view without aggregates becomes one fused step (lookup join, where, select) that runs
// with its input's parallelism. A windowed view becomes two: a partial aggregation fused
// into the step before the keyed exchange, so a hot key reaches the exchange already
// folded, and the final aggregation after it, which fires windows on the watermark and
// computes the select expressions over the aggregates and the having filter.
package plan

import (
	"context"
	"fmt"
	"io"
	"millrace/reload"
	"os"
	"runtime"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/twmb/franz-go/pkg/kgo"

	"millrace/engine"
	"millrace/format"
	"millrace/op"
	"millrace/sink"
	"millrace/spec"
	"millrace/table"
	"millrace/tally"
)

// Options tunes planning.
type Options struct {
	// Parallelism is the number of subtasks of each parallel step (default: the number of
	// cores).
	Parallelism int
	// Partitions is the number of partitions of generated sources that set none (default:
	// Parallelism). A run whose parallelism changes fixes it, so that its generated streams
	// stay the same at every parallelism.
	Partitions int
	// KeyGroups is the number of key groups keyed exchanges hash into (default 256).
	KeyGroups int
	// IngestURL is the address of the embedded JetStream server that holds what http
	// sources were sent (package ingest); the runner starts it. Empty in a plan only shown.
	IngestURL string
	// Stdout receives stdout sinks (default os.Stdout).
	Stdout io.Writer
	// Stdin is what a file source with path - reads (default os.Stdin).
	Stdin io.Reader
	Mem   memory.Allocator
	// Outbox, when set, makes Kafka sinks hand each checkpoint's records to it (with the
	// sink's node name) instead of producing them: a cluster worker produces them in the
	// transaction that commits its input offsets.
	Outbox func(node string, subtask int, checkpoint uint64, records []*kgo.Record)
	// StateBackend is where window aggregates keep their groups (default MemoryBackend).
	StateBackend StateBackend
	// SpillDir is the directory under which the pebble backend makes one store per
	// subtask, each removed when its subtask closes (default: the OS temp directory).
	SpillDir string
	// SpillAbove is the bytes of window state the pebble backend holds in memory over all
	// its subtasks; each spills above an equal share. It must be set with PebbleBackend.
	SpillAbove int64
	// Alerts, when set, is the board a plan with a rules step feeds (Plan.Alerts) instead of
	// a new one: the plans of one run, rebuilt at another parallelism, feed one board.
	Alerts *tally.Board
}

// Plan is a spec's physical dataflow.
type Plan struct {
	Spec  *spec.Spec
	Graph *engine.Graph
	// Steps describe the graph's nodes for people, in graph order.
	Steps []*Step
	// Sources and Views name the nodes whose figures make the ledger.
	Sources []string
	Views   []ViewNodes
	// Warnings are what in the spec is likely a mistake though it runs (see Warnings).
	Warnings []string
	// Outputs say what each sink writes, in the spec's order.
	Outputs []Output
	// Reloads report on the files views reload while the pipeline runs (rules, models).
	Reloads []*reload.Status
	// Alerts, in a plan with a rules step, holds the running figures of the alerts and,
	// where the rows carry a label, of how well the rules and the model catch it, fed by
	// the rules and score steps as they run; nil without a rules step.
	Alerts *tally.Board
	// Tables are the materialized tables of view sinks, read while the pipeline runs.
	Tables []*table.Table

	// steps indexes Steps by name in a plan from Build; nil in a Plan built by hand.
	steps map[string]*Step
}

// Output is what a sink writes: files, as File says, or stdout when File is nil; rows of
// Schema, from the engine node Node.
type Output struct {
	Sink   string
	Node   string
	Kind   string
	File   *sink.FileOptions
	Schema *arrow.Schema
}

// ViewNodes are the engine nodes of a view: First receives its input, Last emits its rows.
type ViewNodes struct {
	Name        string
	First, Last string
}

// Step describes one node of the plan.
type Step struct {
	Name string   `json:"name"`
	Kind StepKind `json:"kind"`
	// View is the view the step computes part of; empty for a source or a sink.
	View        string   `json:"-"`
	Parallelism int      `json:"parallelism"`
	Does        []string `json:"does"`
	Inputs      []Input  `json:"inputs,omitempty"`
	Columns     []string `json:"columns"`

	schema *arrow.Schema
}

// Schema is the schema of the rows the step emits on its main output; nil for a sink.
func (s *Step) Schema() *arrow.Schema { return s.schema }

// StepKind is what a step does, as plan prints it.
type StepKind string

// The kinds of step. A view is planned as one step (KindView), as a prepare or partial
// aggregate step before a keyed exchange and a window aggregate after it, or as two window
// top steps.
const (
	KindSource          StepKind = "source"
	KindSink            StepKind = "sink"
	KindView            StepKind = "view"
	KindPrepare         StepKind = "prepare"
	KindPartial         StepKind = "partial aggregate"
	KindWindowAggregate StepKind = "window aggregate"
	KindWindowTop       StepKind = "window top"
)

// Input is an edge into a step.
type Input struct {
	From         string   `json:"from"`
	Port         string   `json:"port,omitempty"`
	Partitioning string   `json:"partitioning"`
	Key          []string `json:"key,omitempty"`
}

// Keyed tells whether the input is hashed by key, so that the step's state is spread over
// its subtasks by key group.
func (in Input) Keyed() bool { return in.Partitioning == engine.Hash.String() }

// Keyed tells whether any input of the step is hashed by key.
func (s *Step) Keyed() bool { return slices.ContainsFunc(s.Inputs, Input.Keyed) }

// HoldsKeyedState tells whether a run of the plan keeps state per key: a step fed by a keyed
// exchange (grouped windows and aggregates, deduplication), a table source read whole for
// lookup joins, or a view sink's materialized table. A plan without any holds little more than
// the batches in flight.
func (p *Plan) HoldsKeyedState() bool {
	if slices.ContainsFunc(p.Steps, (*Step).Keyed) || len(p.Tables) > 0 {
		return true
	}
	return p.Spec != nil && slices.ContainsFunc(p.Spec.Sources, func(s *spec.Source) bool { return s.Table })
}

// stream is a named stream of the spec as the plan has built it so far.
type stream struct {
	node *engine.Node
	// also lists further nodes whose output on port is part of the stream: the errors of a
	// view come from each of its steps.
	also   []*engine.Node
	port   int
	schema *arrow.Schema
	// changelog is set when the stream's rows are changes to a table (see changelog.go).
	changelog *changelogStream
}

// builder carries the state of one Build.
type builder struct {
	ctx      context.Context // the build's, for steps that ask a broker
	spec     *spec.Spec
	opts     Options
	plan     *Plan
	streams  map[string]stream // "tx", "tx.late", "velocity"
	steps    map[*engine.Node]*Step
	timeCols map[string]string // a stream's event-time column, as timeColumn found it
	view     string            // the view whose steps are being added, if any
	// spill is what every spilling window aggregate is given, and spillSubtasks how many
	// subtasks share its threshold (see spillConfig).
	spill         *op.SpillConfig
	spillSubtasks int
}

// Build plans s. Errors name the spec's key path and, for expressions, the column or
// function at fault: `card-velocity.yaml:24: views.velocity.select.spend: unknown column
// "amout" (did you mean "amount"?)`.
func Build(s *spec.Spec, opts Options) (*Plan, error) {
	return BuildContext(context.Background(), s, opts)
}

// BuildContext is Build that gives up when ctx ends: between one source, view or sink and
// the next it returns ctx's error.
func BuildContext(ctx context.Context, s *spec.Spec, opts Options) (*Plan, error) {
	if opts.Parallelism <= 0 {
		opts.Parallelism = runtime.GOMAXPROCS(0)
	}
	if opts.KeyGroups <= 0 {
		opts.KeyGroups = 256
	}
	if opts.Partitions <= 0 {
		opts.Partitions = opts.Parallelism
	}
	if opts.Parallelism > opts.KeyGroups {
		return nil, fmt.Errorf("parallelism %d exceeds %d key groups", opts.Parallelism, opts.KeyGroups)
	}
	if opts.StateBackend == PebbleBackend && opts.SpillAbove <= 0 {
		return nil, fmt.Errorf("the pebble state backend needs a threshold to spill above, not %d bytes", opts.SpillAbove)
	}
	if opts.Stdin == nil {
		opts.Stdin = os.Stdin
	}
	if opts.Stdout == nil {
		opts.Stdout = os.Stdout
	}
	if opts.Mem == nil {
		opts.Mem = memory.DefaultAllocator
	}
	b := &builder{ctx: ctx, spec: s, opts: opts, plan: &Plan{Spec: s, Graph: &engine.Graph{KeyGroups: opts.KeyGroups}, Warnings: Warnings(s)},
		streams: map[string]stream{}, steps: map[*engine.Node]*Step{}, timeCols: map[string]string{}}
	for _, src := range s.Sources {
		if src.Table || src.LiveOf != "" {
			continue // read by a join, or after a lake's history
		}
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("plan: %w", err)
		}
		if err := b.source(ctx, src); err != nil {
			return nil, err
		}
	}
	for _, name := range s.Order() {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("plan: %w", err)
		}
		b.view = name
		err := b.planView(s.View(name))
		b.view = ""
		if err != nil {
			return nil, err
		}
	}
	for _, k := range s.Sinks {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("plan: %w", err)
		}
		if err := b.sink(k); err != nil {
			return nil, err
		}
	}
	b.finishSpill()
	b.plan.steps = make(map[string]*Step, len(b.plan.Steps))
	for _, st := range b.plan.Steps {
		b.plan.steps[st.Name] = st
	}
	return b.plan, nil
}

// addNode adds a node and its description.
func (b *builder) addNode(n *engine.Node, kind StepKind, schema *arrow.Schema, does ...string) *Step {
	b.plan.Graph.Nodes = append(b.plan.Graph.Nodes, n)
	st := &Step{Name: n.Name, Kind: kind, Parallelism: n.Parallelism, Does: does, View: b.view, schema: schema}
	if schema != nil {
		for _, f := range schema.Fields() {
			st.Columns = append(st.Columns, f.Name+" "+f.Type.String())
		}
	}
	b.plan.Steps = append(b.plan.Steps, st)
	b.steps[n] = st
	return st
}

// connect adds an edge from each node of a stream into input `input` of node to. An edge
// that cannot be forward, its node having another parallelism than to, spreads round-robin.
func (b *builder) connect(from stream, to *engine.Node, input int, p engine.Partitioning, key ...string) {
	for _, n := range append([]*engine.Node{from.node}, from.also...) {
		p := p
		if p == engine.Forward && n.Parallelism != to.Parallelism {
			p = engine.Rebalance
		}
		b.plan.Graph.Edges = append(b.plan.Graph.Edges, &engine.Edge{From: n, FromPort: from.port, To: to, Input: input, Partitioning: p, Key: key})
		port := ""
		switch {
		case n.Source == nil && from.port == engine.ErrorPort:
			port = spec.ErrorRows
		case from.port == engine.DeadLetterPort:
			port = spec.DeadLetters
		case from.port == engine.LatePort:
			port = spec.Late
		}
		b.steps[to].Inputs = append(b.steps[to].Inputs, Input{From: n.Name, Port: port, Partitioning: p.String(), Key: key})
	}
}

// follow picks the partitioning from a stream into a node of parallelism p: forward when
// the parallelism matches, else spread round-robin.
func follow(from stream, p int) engine.Partitioning {
	if from.node.Parallelism == p {
		return engine.Forward
	}
	return engine.Rebalance
}

// lookup finds a stream by reference, such as "tx" or "tx.dead_letters".
func (b *builder) lookup(ref string) (stream, error) {
	s, ok := b.streams[ref]
	if !ok {
		return stream{}, fmt.Errorf("plan: stream %q is not built", ref)
	}
	return s, nil
}

// deadLetterSchema is the schema of every source's dead letters.
func deadLetterSchema() *arrow.Schema { return format.DeadLetterSchema() }

// ViewOf returns the view a step computes part of, and false for a step of no view (a
// source or a sink) or a step the plan does not have.
func (p *Plan) ViewOf(step string) (string, bool) {
	st, ok := p.Step(step)
	if !ok || st.View == "" {
		return "", false
	}
	return st.View, true
}
