package plan

import (
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"

	"millrace/expr"
	"millrace/kafka"
	"millrace/op"
	"millrace/spec"
)

// changelogStream describes a stream of changes (an _op column first): the columns that key
// its table, which with rows set (a top's changes) hold several rows per key, each row
// standing for itself.
type changelogStream struct {
	keys []string
	rows bool
}

// keepColumn is the column a changelog view computes its having into.
const keepColumn = "__keep"

// emitMode is when a view that aggregates without a window emits: what it says, else a
// changelog of each batch over an unbounded input and the final table over a bounded one.
// emit: final over an unbounded input is refused, since it would never emit.
func (b *builder) emitMode(v *spec.View, inputs []stream) (spec.Emit, error) {
	src, kind := b.unbounded(inputs)
	switch {
	case v.Emit == spec.EmitFinal && src != "":
		return "", b.spec.Errorf("views."+v.Name+".emit", "final waits for the input to end, but source %s (%s) never ends; "+
			"leave emit out (or write batch or watermark) for a changelog, or add window: {tumble: ...}", src, kind)
	case v.Emit != "":
		return v.Emit, nil
	case src != "":
		return spec.EmitBatch, nil
	}
	return spec.EmitFinal, nil
}

// havingStep appends to ops, whose last step is a view's select over the aggregation's rows
// inter giving out, a step that passes out's first passed columns on and computes cond, the
// view's having, into a boolean column after them. Having may name select's columns (n > 20)
// or aggregates (count(*) > 20): in the second case the step computes select and cond over
// inter, in place of the select. It returns the operators, the schema of the step (its last
// column the boolean) and what it does.
func (b *builder) havingStep(v *spec.View, ops []func() (op.Operator, error), out, inter *arrow.Schema, passed int, sel []spec.Field,
	cond spec.Expr, resolve expr.Option) ([]func() (op.Operator, error), *arrow.Schema, string, error) {
	path := "views." + v.Name
	keep := spec.Field{Name: keepColumn, Expr: cond}
	var pass []spec.Field
	for _, f := range out.Fields()[:passed] {
		pass = append(pass, spec.Field{Name: f.Name, Expr: spec.Expr{Text: quoteIdent(f.Name), Path: path + ".select"}})
	}
	m, withKeep, _, err := b.mapStep(path, out, spec.Expr{}, append(pass, keep), v.OnError)
	if err != nil {
		var errInter error
		if m, withKeep, _, errInter = b.mapStep(path, inter, spec.Expr{}, append(sel[:len(sel):len(sel)], keep), v.OnError, resolve); errInter != nil {
			return nil, nil, "", err
		}
		ops = ops[:len(ops)-1]
	}
	if t := withKeep.Field(withKeep.NumFields() - 1).Type; t.ID() != arrow.BOOL {
		return nil, nil, "", v.Having.Errorf("must be true or false, not %s", t)
	}
	ops = append(ops, func() (op.Operator, error) { return m(), nil })
	return ops, withKeep, "having " + v.Having.Text + ", a key's row deleted when it turns false", nil
}

// changelogOps makes the operators that follow a continuous aggregation's final phase: the
// select (post, over the aggregation's rows inter, giving out), having computed into a
// boolean column, and the Changelog that turns each batch's rows into changes. It returns
// them with the changelog's schema and what they do.
func (b *builder) changelogOps(v *spec.View, mode spec.Emit, inter, out *arrow.Schema, post func() op.Operator, sel []spec.Field,
	resolve expr.Option, keys int) ([]func() (op.Operator, error), *arrow.Schema, []string, error) {
	path := "views." + v.Name
	ops := []func() (op.Operator, error){func() (op.Operator, error) { return post(), nil }}
	in, keep := out, -1
	var does []string
	if !v.Having.IsZero() {
		var said string
		var err error
		if ops, in, said, err = b.havingStep(v, ops, out, inter, out.NumFields(), sel, v.Having, resolve); err != nil {
			return nil, nil, nil, err
		}
		keep = in.NumFields() - 1
		does = append(does, said)
	}
	changelog, schema, said, err := b.changelogStep(path, in, keys, keep, mode)
	if err != nil {
		return nil, nil, nil, err
	}
	return append(ops, changelog), schema, append(does, said), nil
}

// changelogStep makes the step that turns a view's rows into a changelog, emitted as mode
// says: the rows' first keys columns are the key, and keep is the column saying whether a
// key's row is live, or -1. It returns the step, its schema and what it does.
func (b *builder) changelogStep(path string, in *arrow.Schema, keys, keep int, mode spec.Emit) (func() (op.Operator, error), *arrow.Schema, string, error) {
	cfg := op.ChangelogConfig{In: in, Keys: keys, Keep: keep, OnWatermark: mode == spec.EmitWatermark}
	schema, err := op.ChangelogSchema(cfg)
	if err != nil {
		return nil, nil, "", b.spec.Errorf(path+".select", "%v", err)
	}
	when := "each batch"
	if cfg.OnWatermark {
		when = "each key's latest row when the watermark advances"
	}
	does := fmt.Sprintf("changelog (%s: +I, -U/+U, -D) of %s", op.OpColumn, when)
	return func() (op.Operator, error) { return op.NewChangelog(cfg) }, schema, does, nil
}

// upsert is how a kafka sink with mode: upsert writes its stream, which must be a
// changelog, and what it does.
func (b *builder) upsert(k *spec.Sink, from stream) (*kafka.Upsert, string, error) {
	if from.changelog == nil {
		return nil, "", b.spec.Errorf("sinks."+k.Name+".mode", "upsert writes a changelog by key, and %s is none: "+
			"write a view with group_by and no window (over an unbounded input, or with emit: batch)", k.From)
	}
	if from.changelog.rows {
		return nil, "", b.spec.Errorf("sinks."+k.Name+".mode", "upsert writes one row per key, and %s keeps several per key (a top): "+
			"write it to a file sink, or leave mode out", k.From)
	}
	up := &kafka.Upsert{Op: from.schema.FieldIndices(op.OpColumn)[0]}
	for _, key := range from.changelog.keys {
		up.Keys = append(up.Keys, from.schema.FieldIndices(key)[0])
	}
	how := "upsert into a compacted topic keyed by " + strings.Join(from.changelog.keys, ", ")
	if len(up.Keys) == 0 {
		how = "upsert into a compacted topic, one key {}"
	}
	return up, how, nil
}
