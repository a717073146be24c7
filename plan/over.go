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
	// Arguments other than input columns are computed before the exchange, with where, as
	// columns __arg_K_J after the input's, so that a row an argument fails on goes to the
	// view's errors as in any view.
	var calls []string
	pre := make([]spec.Field, 0, in.NumFields())
	for _, fl := range in.Fields() {
		pre = append(pre, spec.Field{Name: fl.Name, Expr: spec.Expr{Text: quoteIdent(fl.Name), Path: path}})
	}
	var argCols [][]string // the column each call's arguments are read from
	for k, f := range v.Select {
		call, err := featureCallOf(f)
		if err != nil {
			return err
		}
		var cols []string
		for j, a := range call.Args {
			if c, ok := a.(*expr.Column); ok && len(in.FieldIndices(c.Name)) > 0 {
				cols = append(cols, c.Name)
				continue
			}
			name := fmt.Sprintf("__arg_%d_%d", k, j)
			pre = append(pre, spec.Field{Name: name, Expr: spec.Expr{Text: a.String(), Path: f.Expr.Path, Pos: f.Expr.Pos}})
			cols = append(cols, name)
		}
		argCols = append(argCols, cols)
		calls = append(calls, fmt.Sprintf("%s = %s", f.Name, f.Expr.Text))
	}
	computed := len(pre) > in.NumFields()
	var nodes []*engine.Node
	from, fin := inputs, in
	if len(first) > 0 || !v.Where.IsZero() || computed {
		sel := pre
		if !computed {
			sel = nil // where alone passes the rows on as they are
		}
		m, preSchema, mdoes, err := b.mapStep(path, in, v.Where, sel, v.OnError)
		if err != nil {
			return err
		}
		ops := append(first, func() (op.Operator, error) { return m(), nil })
		prep := &engine.Node{Name: v.Name + ".prepare", Parallelism: b.opts.Parallelism, Operator: chain(ops)}
		passed := map[string]bool{}
		for _, fl := range in.Fields() {
			passed[fl.Name+" = "+quoteIdent(fl.Name)] = true
		}
		var prepDoes []string
		for _, d := range mdoes {
			if !passed[d] { // the input's columns, passed on, go without saying
				prepDoes = append(prepDoes, d)
			}
		}
		b.addNode(prep, KindPrepare, preSchema, append(does, prepDoes...)...)
		for i, s := range inputs {
			b.connect(s, prep, i, follow(s, prep.Parallelism))
		}
		nodes = append(nodes, prep)
		from, fin = []stream{{node: prep, port: engine.MainPort, schema: preSchema}}, preSchema
	}
	cfg := op.FeaturesConfig{In: fin, Pass: in.NumFields(), Time: fin.FieldIndices(timeCol)[0], Range: v.Over.Range, Rows: v.Over.Rows, TTL: v.Over.TTL}
	for _, k := range v.Over.Key {
		idx := fin.FieldIndices(k)
		if len(idx) == 0 {
			return b.spec.Errorf(path+".over.key", "unknown column %q (columns: %s)", k, columnList(in))
		}
		cfg.Keys = append(cfg.Keys, idx[0])
	}
	args := map[string]*expr.Expr{} // one evaluator a column, which calls reading it share
	for k, f := range v.Select {
		call, _ := featureCallOf(f)
		c := op.FeatureCall{Name: f.Name, Func: strings.ToLower(call.Name), Star: call.Star, Text: call.String()}
		for _, col := range argCols[k] {
			e := args[col]
			if e == nil {
				var err error
				if e, err = compile(spec.Expr{Text: quoteIdent(col), Path: f.Expr.Path, Pos: f.Expr.Pos}, fin); err != nil {
					return err
				}
				args[col] = e
			}
			c.Args = append(c.Args, e)
			c.ArgTypes = append(c.ArgTypes, e.Type())
		}
		cfg.Calls = append(cfg.Calls, c)
	}
	probe, err := op.NewFeatures(cfg)
	if err != nil {
		return b.spec.Errorf(path+".select", "%v", err)
	}
	out := probe.Schema()
	ttl := ""
	if v.Over.TTL > 0 {
		ttl = ", running figures kept " + v.Over.TTL.String() + " past a key's last row"
	}
	frame := "range " + v.Over.Range.String()
	if v.Over.Rows > 0 {
		frame = fmt.Sprintf("the last %d rows", v.Over.Rows)
		if v.Over.TTL > 0 {
			ttl = ", a key's frame and running figures kept " + v.Over.TTL.String() + " past its last row"
		}
	}
	what := fmt.Sprintf("features per %s over %s%s, in event-time order (rows held until the watermark passes them)",
		strings.Join(v.Over.Key, ", "), frame, ttl)
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

// featureCallOf reads a select entry of an over view, which must be one feature function
// call.
func featureCallOf(f spec.Field) (*expr.Call, error) {
	n, err := expr.Parse(f.Expr.Text)
	if err != nil {
		return nil, f.Expr.Errorf("%v", err)
	}
	call, ok := n.(*expr.Call)
	if !ok || !op.IsFeatureFunc(call.Name) {
		return nil, f.Expr.Errorf("must be one feature function call (%s); compute with its result in a view that reads this one",
			strings.Join(op.FeatureFuncs(), ", "))
	}
	if call.Distinct {
		return nil, f.Expr.Errorf("%s takes no DISTINCT; count distinct values with count_distinct(x)", call.Name)
	}
	return call, nil
}
