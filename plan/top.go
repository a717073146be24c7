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

// KindTop is the kind of the step of a top view that keeps each key's first rows.
const KindTop StepKind = "top"

// top adds the nodes of a view with a top clause: its join, where and select in every
// subtask (when it has any), then, through a keyed exchange on the group_by columns, the TopN
// that keeps each key's first rows and emits their changes.
func (b *builder) top(v *spec.View, inputs []stream, in *arrow.Schema, first []func() (op.Operator, error), does []string) error {
	path := "views." + v.Name
	if hasAggregates(v) {
		return b.spec.Errorf(path+".select", "cannot aggregate in a view with top: top keeps input rows")
	}
	if err := checkSelectNames(v, in, false); err != nil {
		return err
	}
	m, out, mdoes, err := b.mapStep(path, in, v.Where, v.Select, v.OnError)
	if err != nil {
		return err
	}
	cfg := op.TopNConfig{In: out, N: v.Top.N, Desc: v.Top.Desc}
	var keys []string
	for i, g := range v.GroupBy {
		n, err := expr.Parse(g.Text)
		c, ok := n.(*expr.Column)
		if err != nil || !ok {
			return g.Errorf("a top view's group_by names columns of its rows (compute others in select)")
		}
		idx := out.FieldIndices(c.Name)
		if len(idx) == 0 {
			return b.spec.Errorf(fmt.Sprintf("%s.group_by[%d]", path, i), "unknown column %q (columns: %s)", c.Name, columnList(out))
		}
		if t := out.Field(idx[0]).Type; !op.KeyType(t) {
			return b.spec.Errorf(fmt.Sprintf("%s.group_by[%d]", path, i), "column %q is %s, which cannot be a key", c.Name, t)
		}
		cfg.Keys, keys = append(cfg.Keys, idx[0]), append(keys, c.Name)
	}
	by := out.FieldIndices(v.Top.By)
	if len(by) == 0 {
		return b.spec.Errorf(path+".top.by", "unknown column %q (columns: %s)", v.Top.By, columnList(out))
	}
	cfg.By = by[0]
	order := fmt.Sprintf("%s %s", v.Top.By, direction(v.Top.Desc))
	for i, then := range v.Top.Then {
		col := out.FieldIndices(then.Col)
		if len(col) == 0 {
			return b.spec.Errorf(fmt.Sprintf("%s.top.by[%d]", path, i+1), "unknown column %q (columns: %s)", then.Col, columnList(out))
		}
		cfg.Then = append(cfg.Then, op.TopOrder{Col: col[0], Desc: then.Desc})
		order += fmt.Sprintf(", %s %s", then.Col, direction(then.Desc))
	}
	schema, err := op.TopNSchema(cfg)
	if err != nil {
		return b.spec.Errorf(path+".top", "%v", err)
	}
	// The rows reach the top through a keyed exchange; a view that only ranks its input
	// sends the input there as it is, with no step before.
	var prep *engine.Node
	if len(first) > 0 || !v.Where.IsZero() || len(v.Select) > 0 {
		ops := append(first, func() (op.Operator, error) { return m(), nil })
		prep = &engine.Node{Name: v.Name + ".prepare", Parallelism: b.opts.Parallelism, Operator: chain(ops)}
		b.addNode(prep, KindPrepare, out, append(does, mdoes...)...)
		for i, s := range inputs {
			b.connect(s, prep, i, follow(s, prep.Parallelism))
		}
	}
	p, partitioning := b.opts.Parallelism, engine.Hash
	per := "per " + strings.Join(keys, ", ")
	if len(keys) == 0 {
		p, partitioning, per = 1, engine.Rebalance, "of all rows"
	}
	n := &engine.Node{Name: v.Name, Parallelism: p, Operator: func(int) (op.Operator, error) { return op.NewTopN(cfg) }}
	b.addNode(n, KindTop, schema, fmt.Sprintf("keep the first %d rows by %s %s, as a changelog (%s: +I, -D)", cfg.N, order, per, op.OpColumn))
	firstNode := n
	if prep != nil {
		b.connect(stream{node: prep, schema: out}, n, 0, partitioning, keys...)
		firstNode = prep
	} else {
		for i, s := range inputs {
			b.connect(s, n, i, partitioning, keys...)
		}
	}
	b.streams[v.Name] = stream{node: n, port: engine.MainPort, schema: schema, changelog: &changelogStream{keys: keys, rows: true}}
	b.errorStream(v, firstNode)
	b.plan.Views = append(b.plan.Views, ViewNodes{Name: v.Name, First: firstNode.Name, Last: n.Name})
	return nil
}

// direction names a ranking's direction.
func direction(desc bool) string {
	if desc {
		return "desc"
	}
	return "asc"
}
