package plan

import (
	"fmt"
	"strings"

	"millrace/engine"
	"millrace/op"
	"millrace/spec"
)

// dedup adds the node of a view that drops duplicates: its input goes through a keyed
// exchange on the dedup key into one step that applies where, drops the duplicates among
// the rows left, and applies select to the rows kept.
func (b *builder) dedup(v *spec.View, inputs []stream) error {
	path := "views." + v.Name
	dp := path + ".dedup"
	if err := b.refuseWith(v, "dedup"); err != nil {
		return err
	}
	if hasAggregates(v) {
		return b.spec.Errorf(path+".select", "cannot aggregate in a view with dedup; aggregate in a view that reads %s", v.Name)
	}
	in := inputs[0].schema
	cfg := op.DedupConfig{Within: v.Dedup.Within.Milliseconds(), KeepLast: v.Dedup.Keep == spec.DedupLast, Schema: in}
	for _, k := range v.Dedup.Key {
		i := in.FieldIndices(k)
		if len(i) == 0 {
			return b.spec.Errorf(dp+".key", "unknown column %q (columns: %s)", k, columnList(in))
		}
		if t := in.Field(i[0]).Type; !op.KeyType(t) {
			return b.spec.Errorf(dp+".key", "column %q is %s, which cannot be a key", k, t)
		}
		cfg.Key = append(cfg.Key, i[0])
	}
	col := b.eventTime(v.From[0], in)
	if col == "" {
		return b.spec.Errorf(dp, "input %s has no event time column to measure within by", v.From[0])
	}
	cfg.Time = in.FieldIndices(col)[0]
	if _, err := op.NewDedup(cfg); err != nil {
		return b.spec.Errorf(dp, "%v", err)
	}
	if err := checkSelectNames(v, in, false); err != nil {
		return err
	}
	where, _, wdoes, err := b.mapStep(path, in, v.Where, nil, v.OnError)
	if err != nil {
		return err
	}
	sel, out, sdoes, err := b.mapStep(path, in, spec.Expr{}, v.Select, v.OnError)
	if err != nil {
		return err
	}
	var ops []func() (op.Operator, error)
	var does []string
	if v.OnError.Fails() {
		does = append(does, "a row an expression fails on fails the run (on_error: fail)")
	}
	if !v.Where.IsZero() {
		ops = append(ops, func() (op.Operator, error) { return where(), nil })
		does = append(does, wdoes...)
	}
	keep := "keep the first row"
	if cfg.KeepLast {
		keep = "keep the last row (the latest event time), emitted when the watermark passes the interval"
	}
	does = append(does, fmt.Sprintf("dedup on %s within %s: %s", strings.Join(v.Dedup.Key, ", "), v.Dedup.Within, keep))
	ops = append(ops, func() (op.Operator, error) { return op.NewDedup(cfg) })
	if len(v.Select) > 0 {
		ops = append(ops, func() (op.Operator, error) { return sel(), nil })
		does = append(does, sdoes...)
	}
	n := &engine.Node{Name: v.Name, Parallelism: b.opts.Parallelism, Operator: chain(ops)}
	b.addNode(n, KindDedup, out, does...)
	for _, s := range inputs {
		b.connect(s, n, 0, engine.Hash, v.Dedup.Key...)
	}
	b.streams[v.Name] = stream{node: n, port: engine.MainPort, schema: out}
	b.errorStream(v, n)
	b.plan.Views = append(b.plan.Views, ViewNodes{Name: v.Name, First: n.Name, Last: n.Name})
	return nil
}
