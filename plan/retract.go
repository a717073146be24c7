package plan

import (
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"

	"millrace/engine"
	"millrace/expr"
	"millrace/op"
	"millrace/schema"
	"millrace/spec"
)

// KindChangelogAggregate is the kind of the step of a view that aggregates a changelog,
// taking back the rows its -U and -D changes retract.
const KindChangelogAggregate StepKind = "changelog aggregate"

// liveColumn is the column a changelog aggregate says a group holds rows in.
const liveColumn = "__live"

// readsChangelog checks that view v may read its inputs when one of them is a changelog:
// only to aggregate it without a window, every input a changelog. It returns whether it
// reads one.
func (b *builder) readsChangelog(v *spec.View, inputs []stream) (bool, error) {
	path := "views." + v.Name
	first := -1
	for i, s := range inputs {
		if s.changelog != nil && first < 0 {
			first = i
		}
	}
	if first < 0 {
		return false, nil
	}
	ref := v.From[first]
	refuse := func(why string) (bool, error) {
		return false, b.spec.Errorf(fmt.Sprintf("%s.from[%d]", path, first), "%s is a changelog (rows of %s +I, -U, +U, -D), which a view reads only to aggregate it "+
			"with group_by and no window (count, count_if, sum, avg, min, max), taking back what -U and -D retract; %s", ref, op.OpColumn, why)
	}
	for i, s := range inputs {
		if s.changelog == nil {
			return refuse(fmt.Sprintf("%s is not one, and a view cannot mix them", v.From[i]))
		}
	}
	switch {
	case v.Window != nil:
		return refuse("remove window")
	case v.Join != nil || v.Dedup != nil || v.Top != nil || v.Over != nil || !v.Qualify.IsZero():
		return refuse("write the join, dedup, top, over or qualify in a view before the changelog")
	case len(v.GroupBy) == 0 && !hasAggregates(v):
		return refuse("add group_by and aggregates, or write the changelog to a sink")
	}
	return true, b.perRow(v, true)
}

// changelogAggregate adds the two steps of a view that aggregates changelogs: the where,
// keys and arguments before the keyed exchange, then a RetractAgg by key that adds the rows
// of +I and +U and takes back those of -U and -D, followed by select and, as the view
// emits, a Changelog of its own (a group whose rows all left is deleted) or the final
// table with having.
func (b *builder) changelogAggregate(v *spec.View, inputs []stream) error {
	path := "views." + v.Name
	in := inputs[0].schema
	if err := checkSelectNames(v, in, true); err != nil {
		return err
	}
	mode, err := b.emitMode(v, inputs)
	if err != nil {
		return err
	}
	if mode == spec.EmitWatermark && b.eventTime(v.From[0], in) == "" {
		return b.spec.Errorf(path+".emit", "watermark needs an event time, and input %s has none; write emit: batch", v.From[0])
	}
	pre, keys := groupKeys(v)
	nk := len(keys)
	pre = append(pre, spec.Field{Name: op.OpColumn, Expr: spec.Expr{Text: quoteIdent(op.OpColumn), Path: path + ".from"}})
	calls, index, err := b.aggregateCalls(v)
	if err != nil {
		return err
	}
	var aggCalls []op.AggCall
	for k, c := range calls {
		ac, more, err := aggCall(k, c, pre)
		if err != nil {
			return err
		}
		if !op.RetractableAggregate(ac.Name) {
			return c.at.Errorf("%s cannot take back the rows a changelog retracts: over a changelog, aggregates are count, count_if, sum, avg, min and max", c.call)
		}
		pre, aggCalls = more, append(aggCalls, ac)
	}
	preMap, preSchema, preDoes, err := b.mapStep(path, in, v.Where, pre, v.OnError)
	if err != nil {
		return err
	}
	for k := range aggCalls {
		aggCalls[k].ArgTypes = fillTypes(aggCalls[k], preSchema)
		if err := checkFilter(calls[k], aggCalls[k], preSchema); err != nil {
			return err
		}
	}
	prepare := &engine.Node{Name: v.Name + ".prepare", Parallelism: b.opts.Parallelism, Operator: chain([]func() (op.Operator, error){
		func() (op.Operator, error) { return preMap(), nil }})}
	b.addNode(prepare, KindPrepare, preSchema, preDoes...)
	for i, s := range inputs {
		b.connect(s, prepare, i, follow(s, prepare.Parallelism))
	}

	// After the exchange: the aggregate's rows (keys, window bounds, results, live), select
	// and having, then the changelog or the final table.
	probe, err := op.NewRetractAgg(op.RetractAggConfig{In: preSchema, Keys: nk, Calls: aggCalls})
	if err != nil {
		return b.spec.Errorf(path+".select", "%v", err)
	}
	interFields := append(append([]arrow.Field{}, preSchema.Fields()[:nk]...),
		arrow.Field{Name: "window_start", Type: schema.Timestamp}, arrow.Field{Name: "window_end", Type: schema.Timestamp})
	for k, t := range probe.ResultTypes() {
		interFields = append(interFields, arrow.Field{Name: fmt.Sprintf("__agg_%d", k), Type: t, Nullable: true})
	}
	inter := arrow.NewSchema(append(interFields, arrow.Field{Name: liveColumn, Type: arrow.FixedWidthTypes.Boolean}), nil)
	cfg := op.RetractAggConfig{In: preSchema, Keys: nk, Calls: aggCalls, Out: inter, EmitUpdates: mode.Changelog()}
	resolve := aggregateColumns(index, nk)
	var sel []spec.Field
	isKey := map[string]bool{}
	for _, k := range keys {
		isKey[k] = true
		sel = append(sel, spec.Field{Name: k, Expr: spec.Expr{Text: quoteIdent(k), Path: path + ".group_by"}})
	}
	for _, f := range v.Select {
		if !isKey[f.Name] {
			sel = append(sel, f)
		}
	}
	ops := []func() (op.Operator, error){func() (op.Operator, error) { return op.NewRetractAgg(cfg) }}
	var out *arrow.Schema
	var does []string
	var cl *changelogStream
	if mode.Changelog() {
		var cdoes []string
		ops, out, cdoes, err = b.retractChangelogOps(v, mode, inter, sel, resolve, nk, ops)
		if err != nil {
			return err
		}
		does = append(does, cdoes...)
		cl = &changelogStream{keys: keys}
	} else {
		post, postOut, postDoes, err := b.mapStep(path, inter, spec.Expr{}, sel, v.OnError, resolve)
		if err != nil {
			return err
		}
		ops, out, does = append(ops, func() (op.Operator, error) { return post(), nil }), postOut, postDoes
		if !v.Having.IsZero() {
			having, _, hdoes, herr := b.mapStep(path, out, v.Having, nil, v.OnError)
			if herr != nil {
				if having, _, hdoes, err = b.mapStep(path, inter, v.Having, nil, v.OnError, resolve); err != nil {
					return herr
				}
				ops = []func() (op.Operator, error){ops[0], func() (op.Operator, error) { return having(), nil }, ops[1]}
			} else {
				ops = append(ops, func() (op.Operator, error) { return having(), nil })
			}
			does = append(does, strings.Replace(hdoes[0], "where", "having", 1))
		}
	}
	parallelism, partitioning := b.opts.Parallelism, engine.Hash
	if nk == 0 {
		parallelism, partitioning = 1, engine.Rebalance
	}
	final := &engine.Node{Name: v.Name, Parallelism: parallelism, Operator: chain(ops)}
	fired := "emitted once the input has ended"
	switch mode {
	case spec.EmitBatch:
		fired = "updated each batch"
	case spec.EmitWatermark:
		fired = "updated as the watermark advances"
	}
	what := fmt.Sprintf("%s of the table the changelog makes (+I and +U rows added, -U and -D taken back), %s", describeCalls(calls), fired)
	b.addNode(final, KindChangelogAggregate, out, append([]string{what}, does...)...)
	b.connect(stream{node: prepare, schema: preSchema}, final, 0, partitioning, keys...)
	b.streams[v.Name] = stream{node: final, port: engine.MainPort, schema: out, changelog: cl}
	b.errorStream(v, prepare, final)
	b.plan.Views = append(b.plan.Views, ViewNodes{Name: v.Name, First: prepare.Name, Last: final.Name})
	return nil
}

// retractChangelogOps adds to ops, after a RetractAgg whose rows are inter, the select (sel,
// with live passed on), having and live folded into one boolean column, and the Changelog
// that deletes a group once that turns false. It returns the operators, the changelog's
// schema and what they do.
func (b *builder) retractChangelogOps(v *spec.View, mode spec.Emit, inter *arrow.Schema, sel []spec.Field, resolve expr.Option, keys int,
	ops []func() (op.Operator, error)) ([]func() (op.Operator, error), *arrow.Schema, []string, error) {
	path := "views." + v.Name
	live := spec.Field{Name: liveColumn, Expr: spec.Expr{Text: quoteIdent(liveColumn), Path: path}}
	post, out, does, err := b.mapStep(path, inter, spec.Expr{}, append(sel[:len(sel):len(sel)], live), v.OnError, resolve)
	if err != nil {
		return nil, nil, nil, err
	}
	ops = append(ops, func() (op.Operator, error) { return post(), nil })
	keep := out.NumFields() - 1
	if !v.Having.IsZero() {
		cond := spec.Expr{Text: quoteIdent(liveColumn) + " AND (" + v.Having.Text + ")", Path: v.Having.Path, Pos: v.Having.Pos}
		var said string
		if ops, out, said, err = b.havingStep(v, ops, out, inter, out.NumFields()-1, sel, cond, resolve); err != nil {
			return nil, nil, nil, err
		}
		keep = out.NumFields() - 1
		does = append(does, said)
	}
	changelog, schema, said, err := b.changelogStep(path, out, keys, keep, mode)
	if err != nil {
		return nil, nil, nil, err
	}
	return append(ops, changelog), schema, append(does, said+", a key deleted once its rows have all been taken back"), nil
}
