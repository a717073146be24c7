package plan

import (
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"

	"millrace/engine"
	"millrace/expr"
	"millrace/op"
	"millrace/spec"
)

// KindFeatures is the step of a view with over: it adds features from each key's earlier
// rows to every row, after a keyed exchange.
const KindFeatures StepKind = "features"

// over adds the nodes of a view with over: its join and where, if it has them, in a step
// before the keyed exchange, then the features step, keyed by over's key columns.
func (b *builder) over(v *spec.View, inputs []stream, in *arrow.Schema, first []func() (op.Operator, error), does []string) error {
	path := "views." + v.Name
	timeCol := b.eventTime(v.From[0], in)
	if timeCol == "" {
		return b.spec.Errorf(path+".over", "input %s has no event time column: over takes each key's rows in event-time order", v.From[0])
	}
	cfg := op.FeaturesConfig{In: in, Time: in.FieldIndices(timeCol)[0], Range: v.Over.Range, TTL: v.Over.TTL}
	for _, k := range v.Over.Key {
		idx := in.FieldIndices(k)
		if len(idx) == 0 {
			return b.spec.Errorf(path+".over.key", "unknown column %q (columns: %s)", k, columnList(in))
		}
		cfg.Keys = append(cfg.Keys, idx[0])
	}
	var calls []string
	for _, f := range v.Select {
		c, err := featureCall(f, in)
		if err != nil {
			return err
		}
		cfg.Calls = append(cfg.Calls, c)
		calls = append(calls, fmt.Sprintf("%s = %s", f.Name, f.Expr.Text))
	}
	probe, err := op.NewFeatures(cfg)
	if err != nil {
		return b.spec.Errorf(path+".select", "%v", err)
	}
	out := probe.Schema()

	var nodes []*engine.Node
	from := inputs
	if len(first) > 0 || !v.Where.IsZero() {
		m, _, mdoes, err := b.mapStep(path, in, v.Where, nil, v.OnError)
		if err != nil {
			return err
		}
		ops := append(first, func() (op.Operator, error) { return m(), nil })
		pre := &engine.Node{Name: v.Name + ".prepare", Parallelism: b.opts.Parallelism, Operator: chain(ops)}
		b.addNode(pre, KindPrepare, in, append(does, mdoes...)...)
		for i, s := range inputs {
			b.connect(s, pre, i, follow(s, pre.Parallelism))
		}
		nodes = append(nodes, pre)
		from = []stream{{node: pre, port: engine.MainPort, schema: in}}
	}
	ttl := ""
	if v.Over.TTL > 0 {
		ttl = ", running figures kept " + v.Over.TTL.String() + " past a key's last row"
	}
	what := fmt.Sprintf("features per %s over range %s%s, in event-time order (rows held until the watermark passes them)",
		strings.Join(v.Over.Key, ", "), v.Over.Range.String(), ttl)
	n := &engine.Node{Name: v.Name, Parallelism: b.opts.Parallelism, Operator: func(int) (op.Operator, error) { return op.NewFeatures(cfg) }}
	b.addNode(n, KindFeatures, out, append([]string{what}, calls...)...)
	for i, s := range from {
		b.connect(s, n, i, engine.Hash, v.Over.Key...)
	}
	first0 := n
	if len(nodes) > 0 {
		first0 = nodes[0]
	}
	b.streams[v.Name] = stream{node: n, port: engine.MainPort, schema: out}
	b.errorStream(v, append(nodes, n)...)
	b.plan.Views = append(b.plan.Views, ViewNodes{Name: v.Name, First: first0.Name, Last: n.Name})
	return nil
}

// featureCall compiles a select entry of an over view, which must be one feature function
// call, against the view's input.
func featureCall(f spec.Field, in *arrow.Schema) (op.FeatureCall, error) {
	n, err := expr.Parse(f.Expr.Text)
	if err != nil {
		return op.FeatureCall{}, f.Expr.Errorf("%v", err)
	}
	call, ok := n.(*expr.Call)
	if !ok || !op.IsFeatureFunc(call.Name) {
		return op.FeatureCall{}, f.Expr.Errorf("must be one feature function call (%s); compute with its result in a view that reads this one",
			strings.Join(op.FeatureFuncs(), ", "))
	}
	if call.Distinct {
		return op.FeatureCall{}, f.Expr.Errorf("%s takes no DISTINCT; count distinct values with count_distinct(x)", call.Name)
	}
	c := op.FeatureCall{Name: f.Name, Func: strings.ToLower(call.Name), Star: call.Star, Text: call.String()}
	for _, a := range call.Args {
		e, err := compile(spec.Expr{Text: a.String(), Path: f.Expr.Path, Pos: f.Expr.Pos}, in)
		if err != nil {
			return op.FeatureCall{}, err
		}
		c.Args = append(c.Args, e)
		c.ArgTypes = append(c.ArgTypes, e.Type())
	}
	return c, nil
}
