// Package bench holds benchmark workloads that run whole pipelines on the engine and report
// their throughput.
package bench

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"millrace/engine"
	"millrace/examples"
	"millrace/nexmark"
	"millrace/op"
	"millrace/plan"
	"millrace/proctime"
	"millrace/spec"
)

// Result is what one benchmark run measured.
type Result struct {
	Name    string
	Events  int64 // events the source covered (Nexmark counts every kind, as its papers do)
	Rows    int64 // rows the query emitted
	Elapsed time.Duration
	// Cores is the number of cores the Go runtime used (GOMAXPROCS): run with GOMAXPROCS=1
	// for a one-core figure.
	Cores int
	// CPU is the CPU time the process used during the run (user and system, every thread),
	// zero where the system does not say. On a machine other work also loads, events per CPU
	// second stay what the run costs while events per second fall with the share it gets.
	CPU time.Duration
}

// PerCPUSecond is the event rate per second of CPU time the run used, or 0 when CPU is
// unknown.
func (r Result) PerCPUSecond() float64 {
	if r.CPU <= 0 {
		return 0
	}
	return float64(r.Events) / r.CPU.Seconds()
}

// PerSecond is the event rate over the run.
func (r Result) PerSecond() float64 { return float64(r.Events) / r.Elapsed.Seconds() }

// PerCore is the event rate per core used.
func (r Result) PerCore() float64 { return r.PerSecond() / float64(r.Cores) }

// String is the one-line report.
func (r Result) String() string {
	s := fmt.Sprintf("%s: %d events in %s: %.2f M events/s, %.2f M events/s per core (%d cores), %d rows out",
		r.Name, r.Events, r.Elapsed.Round(time.Millisecond), r.PerSecond()/1e6, r.PerCore()/1e6, r.Cores, r.Rows)
	if r.CPU > 0 {
		s += fmt.Sprintf("; %.2f M events per CPU second (%s of CPU)", r.PerCPUSecond()/1e6, r.CPU.Round(time.Millisecond))
	}
	return s
}

// NexmarkQueries lists the queries Nexmark runs: the specs under examples/nexmark.
func NexmarkQueries() []string {
	entries, err := examples.Specs.ReadDir("nexmark")
	if err != nil {
		return nil // the directory is embedded: it is there
	}
	var names []string
	for _, e := range entries {
		if n, ok := strings.CutSuffix(e.Name(), ".yaml"); ok {
			names = append(names, n)
		}
	}
	number := func(q string) int { n, _ := strconv.Atoi(strings.TrimPrefix(q, "q")); return n }
	slices.SortFunc(names, func(a, b string) int { return number(a) - number(b) })
	return names
}

// Nexmark runs Nexmark query name over events events with parallelism p (0: every core) and
// the engine options opts. The query is the embedded spec examples/nexmark/NAME.yaml, parsed
// with NEXMARK_EVENTS set to events; its sinks are replaced by counters of the rows they
// receive, each running beside the step that feeds it.
func Nexmark(ctx context.Context, name string, events int64, p int, opts engine.Options) (Result, error) {
	if p <= 0 {
		p = runtime.GOMAXPROCS(0)
	}
	pl, err := NexmarkPlan(name, NexmarkInput{Events: events}, p)
	if err != nil {
		return Result{}, err
	}
	var rows atomic.Int64
	countSinks(pl, &rows)
	recycleGeneratorBuffers(pl, func() memory.Allocator { return nexmark.NewRecycler() })
	start, cpu := time.Now(), proctime.CPU()
	if _, err := engine.Run(ctx, pl.Graph, opts); err != nil {
		return Result{}, fmt.Errorf("nexmark %s: %w", name, err)
	}
	return Result{Name: "nexmark " + name, Events: events, Rows: rows.Load(), Elapsed: time.Since(start), Cores: runtime.GOMAXPROCS(0),
		CPU: proctime.CPU() - cpu}, nil
}

// NexmarkInput says what the generator of a Nexmark query makes: Events events over all
// kinds, from Seed, at Rate events per second of event time. A zero Seed or Rate leaves the
// spec's default.
type NexmarkInput struct {
	Events, Seed, Rate int64
}

// NexmarkPlan plans Nexmark query name, the embedded spec examples/nexmark/NAME.yaml parsed
// with NEXMARK_EVENTS, NEXMARK_SEED and NEXMARK_RATE set from in, at parallelism p, and
// NEXMARK_SIDE_INPUT naming a copy of the embedded side-input file (see nexmarkSideInput)
// when the spec reads it.
func NexmarkPlan(name string, in NexmarkInput, p int) (*plan.Plan, error) {
	text, err := examples.Specs.ReadFile("nexmark/" + name + ".yaml")
	if err != nil {
		return nil, fmt.Errorf("unknown Nexmark query %q (available: %v)", name, NexmarkQueries())
	}
	sideInput := ""
	if strings.Contains(string(text), "NEXMARK_SIDE_INPUT") {
		if sideInput, err = nexmarkSideInput(); err != nil {
			return nil, fmt.Errorf("nexmark %s: %w", name, err)
		}
	}
	env := func(k string) (string, bool) {
		switch k {
		case "NEXMARK_SIDE_INPUT":
			return sideInput, sideInput != ""
		case "NEXMARK_EVENTS":
			return strconv.FormatInt(in.Events, 10), true
		case "NEXMARK_SEED":
			return strconv.FormatInt(in.Seed, 10), in.Seed != 0
		case "NEXMARK_RATE":
			return strconv.FormatInt(in.Rate, 10), in.Rate != 0
		}
		return "", false
	}
	s, err := spec.Parse(text, "nexmark/"+name+".yaml", env)
	if err != nil {
		return nil, err
	}
	return plan.Build(s, plan.Options{Parallelism: p, Stdout: io.Discard})
}

// countSinks makes every sink of pl count the rows it receives and drop them, with the
// parallelism of the step feeding it and a forward edge, so that the benchmark measures the
// query rather than the writing of its results.
func countSinks(pl *plan.Plan, rows *atomic.Int64) {
	sinks := map[*engine.Node]bool{}
	for i, st := range pl.Steps {
		if st.Kind == plan.KindSink {
			n := pl.Graph.Nodes[i]
			n.Operator = func(int) (op.Operator, error) { return &discard{rows: rows}, nil }
			sinks[n] = true
		}
	}
	for _, e := range pl.Graph.Edges {
		if sinks[e.To] {
			e.To.Parallelism, e.Partitioning, e.Key = e.From.Parallelism, engine.Forward, nil
		}
	}
}

// recycleGeneratorBuffers makes every Nexmark source of pl build its batches in buffers from
// an allocator of its own, made by alloc. With a nexmark.Recycler, a batch's buffers carry
// the next batches once every step has released it: the reference tests run each query so,
// with buffers scribbled over as they come back, and find the same rows. Real sinks (files,
// brokers, the cluster's exchanges) are not part of those runs, so only the benchmark, whose
// sinks are counters, recycles.
func recycleGeneratorBuffers(pl *plan.Plan, alloc func() memory.Allocator) {
	for _, n := range pl.Graph.Nodes {
		if s, ok := n.Source.(*nexmark.Source); ok {
			s.SetAllocator(alloc())
		}
	}
}

// discard counts rows and drops them.
type discard struct {
	op.Base
	rows *atomic.Int64
}

func (d *discard) Process(_ int, rec arrow.RecordBatch, _ op.Collector) error {
	d.rows.Add(rec.NumRows())
	rec.Release()
	return nil
}
