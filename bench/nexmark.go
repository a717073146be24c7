// Package bench holds benchmark workloads that run whole pipelines on the engine and report
// their throughput.
package bench

import (
	"context"
	"fmt"
	"runtime"
	"sort"
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"millrace/engine"
	"millrace/expr"
	"millrace/nexmark"
	"millrace/op"
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
}

// PerSecond is the event rate over the run.
func (r Result) PerSecond() float64 { return float64(r.Events) / r.Elapsed.Seconds() }

// PerCore is the event rate per core used.
func (r Result) PerCore() float64 { return r.PerSecond() / float64(r.Cores) }

// String is the one-line report.
func (r Result) String() string {
	return fmt.Sprintf("%s: %d events in %s: %.2f M events/s, %.2f M events/s per core (%d cores), %d rows out",
		r.Name, r.Events, r.Elapsed.Round(time.Millisecond), r.PerSecond()/1e6, r.PerCore()/1e6, r.Cores, r.Rows)
}

// nexmarkQueries are the stateless Nexmark queries over bids, as a where clause and select
// list over the bid schema (empty: the query passes rows through).
var nexmarkQueries = map[string]struct {
	where  string
	fields [][2]string
}{
	"q0": {},
	"q1": {fields: [][2]string{{"auction", "auction"}, {"bidder", "bidder"}, {"price", "0.908 * price"}, {"date_time", "date_time"}}},
	"q2": {where: "auction % 123 = 0", fields: [][2]string{{"auction", "auction"}, {"price", "price"}}},
}

// windowedQueries are the Nexmark queries with windows: they build their graphs themselves.
var windowedQueries = map[string]func(src *engine.Node, p int, rows *atomic.Int64) (*engine.Graph, error){
	"q5": hotItems,
	"q7": highestBid,
}

// NexmarkQueries lists the queries Nexmark runs.
func NexmarkQueries() []string {
	names := make([]string, 0, len(nexmarkQueries)+len(windowedQueries))
	for n := range nexmarkQueries {
		names = append(names, n)
	}
	for n := range windowedQueries {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Nexmark runs Nexmark query name over events events with parallelism p (0: every core).
func Nexmark(ctx context.Context, name string, events int64, p int) (Result, error) {
	q, ok := nexmarkQueries[name]
	build, windowed := windowedQueries[name]
	if !ok && !windowed {
		return Result{}, fmt.Errorf("unknown Nexmark query %q (available: %v)", name, NexmarkQueries())
	}
	if p <= 0 {
		p = runtime.GOMAXPROCS(0)
	}
	cfg := nexmark.DefaultConfig()
	cfg.Events, cfg.Partitions = events, p
	if windowed {
		var rows atomic.Int64
		src := &engine.Node{Name: "bids", Parallelism: p, Source: nexmark.NewSource(cfg, nexmark.Bids, 0)}
		g, err := build(src, p, &rows)
		if err != nil {
			return Result{}, fmt.Errorf("%s: %w", name, err)
		}
		start := time.Now()
		if _, err := engine.Run(ctx, g, engine.DefaultOptions()); err != nil {
			return Result{}, err
		}
		return Result{Name: "nexmark " + name, Events: events, Rows: rows.Load(), Elapsed: time.Since(start), Cores: runtime.GOMAXPROCS(0)}, nil
	}
	in := nexmark.Bid()
	var where op.Evaluator
	if q.where != "" {
		e, err := expr.CompileString(q.where, in)
		if err != nil {
			return Result{}, fmt.Errorf("%s where: %w", name, err)
		}
		where = e
	}
	var cols []op.Evaluator
	var fields []arrow.Field
	for _, f := range q.fields {
		e, err := expr.CompileString(f[1], in)
		if err != nil {
			return Result{}, fmt.Errorf("%s %s: %w", name, f[0], err)
		}
		cols = append(cols, e)
		fields = append(fields, arrow.Field{Name: f[0], Type: e.Type(), Nullable: e.Nullable()})
	}
	var out *arrow.Schema
	if len(fields) > 0 {
		out = arrow.NewSchema(fields, nil)
	}
	var rows atomic.Int64
	src := &engine.Node{Name: "bids", Parallelism: p, Source: nexmark.NewSource(cfg, nexmark.Bids, 0)}
	query := &engine.Node{Name: name, Parallelism: p, Operator: func(int) op.Operator { return op.NewMap(where, cols, out) }}
	sink := &engine.Node{Name: "discard", Parallelism: p, Operator: func(int) op.Operator { return &discard{rows: &rows} }}
	g := &engine.Graph{Nodes: []*engine.Node{src, query, sink}, Edges: []*engine.Edge{
		{From: src, To: query, Partitioning: engine.Forward},
		{From: query, To: sink, Partitioning: engine.Forward},
	}}
	start := time.Now()
	if _, err := engine.Run(ctx, g, engine.DefaultOptions()); err != nil {
		return Result{}, err
	}
	return Result{Name: "nexmark " + name, Events: events, Rows: rows.Load(), Elapsed: time.Since(start), Cores: runtime.GOMAXPROCS(0)}, nil
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
