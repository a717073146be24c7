package bench

import (
	"fmt"
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"millrace/engine"
	"millrace/expr"
	"millrace/nexmark"
	"millrace/op"
	"millrace/schema"
	"millrace/window"
)

// project compiles name = expression pairs over s into a Map and its output schema.
func project(s *arrow.Schema, pairs ...[2]string) (func() op.Operator, *arrow.Schema, error) {
	var cols []op.Evaluator
	var fields []arrow.Field
	for _, p := range pairs {
		e, err := expr.CompileString(p[1], s)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", p[0], err)
		}
		cols = append(cols, e)
		fields = append(fields, arrow.Field{Name: p[0], Type: e.Type(), Nullable: e.Nullable()})
	}
	out := arrow.NewSchema(fields, nil)
	return func() op.Operator { return op.NewMap(nil, cols, out) }, out, nil
}

// topTwice runs a WindowTop in every subtask of step and once more over their outputs,
// then counts the rows.
func topTwice(g *engine.Graph, step *engine.Node, end, value int, rows *atomic.Int64) {
	global := &engine.Node{Name: "top", Parallelism: 1, Operator: func(int) op.Operator {
		return op.NewChain(op.NewWindowTop(end, value), &discard{rows: rows})
	}}
	g.Nodes = append(g.Nodes, global)
	g.Edges = append(g.Edges, &engine.Edge{From: step, To: global, Partitioning: engine.Rebalance})
}

// highestBid is Nexmark q7: the bids with the highest price of each 10-second tumbling
// window.
func highestBid(src *engine.Node, p int, rows *atomic.Int64) (*engine.Graph, error) {
	pre, s, err := project(nexmark.Bid(),
		[2]string{"auction", "auction"}, [2]string{"bidder", "bidder"}, [2]string{"price", "price"},
		[2]string{"date_time", "date_time"},
		[2]string{"window_end", "to_timestamp_ms(epoch_ms(date_time) - epoch_ms(date_time) % 10000 + 10000)"})
	if err != nil {
		return nil, err
	}
	end, price := s.FieldIndices("window_end")[0], s.FieldIndices("price")[0]
	local := &engine.Node{Name: "q7", Parallelism: p, Operator: func(int) op.Operator {
		return op.NewChain(pre(), op.NewWindowTop(end, price))
	}}
	g := &engine.Graph{Nodes: []*engine.Node{src, local}, Edges: []*engine.Edge{{From: src, To: local, Partitioning: engine.Forward}}}
	topTwice(g, local, end, price, rows)
	return g, nil
}

// hotItems is Nexmark q5: per hopping window of 10 seconds every 2 seconds, the auctions
// with the most bids.
func hotItems(src *engine.Node, p int, rows *atomic.Int64) (*engine.Graph, error) {
	pre, s, err := project(nexmark.Bid(), [2]string{"auction", "auction"}, [2]string{"date_time", "date_time"})
	if err != nil {
		return nil, err
	}
	w := window.Spec{Kind: window.Hop, Size: 10 * time.Second, Every: 2 * time.Second}
	counted := arrow.NewSchema([]arrow.Field{
		s.Field(0),
		{Name: "window_start", Type: schema.Timestamp},
		{Name: "window_end", Type: schema.Timestamp},
		{Name: "bids", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	}, nil)
	cfg := op.WindowAggConfig{Window: w, Keys: 1, Time: 1, Phase: op.Single, Calls: []op.AggCall{{Name: "count"}}, Out: counted}
	if _, err := op.NewWindowAgg(cfg); err != nil {
		return nil, err
	}
	prepare := &engine.Node{Name: "q5.prepare", Parallelism: p, Operator: func(int) op.Operator { return pre() }}
	count := &engine.Node{Name: "q5", Parallelism: p, Operator: func(int) op.Operator {
		a, err := op.NewWindowAgg(cfg)
		if err != nil {
			panic(err) // checked above with the same config
		}
		return op.NewChain(a, op.NewWindowTop(2, 3))
	}}
	g := &engine.Graph{Nodes: []*engine.Node{src, prepare, count}, Edges: []*engine.Edge{
		{From: src, To: prepare, Partitioning: engine.Forward},
		{From: prepare, To: count, Partitioning: engine.Hash, Key: []string{"auction"}},
	}}
	topTwice(g, count, 2, 3, rows)
	return g, nil
}
