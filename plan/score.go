package plan

import (
	"fmt"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"

	"millrace/op"
	"millrace/reload"
	"millrace/rules"
	"millrace/score"
	"millrace/spec"
	"millrace/tally"
)

// perRow refuses score and rules in a view that aggregates, qualifies, computes features
// over keyed history or joins another stream: they work on the rows of a plain view.
func (b *builder) perRow(v *spec.View, grouped bool) error {
	path := "views." + v.Name
	if v.Score == nil && v.Rules == nil {
		return nil
	}
	clause := "score"
	if v.Score == nil {
		clause = "rules"
	}
	if grouped || !v.Qualify.IsZero() {
		return b.spec.Errorf(path+"."+clause, "a view with %s scores input rows one by one, so it takes no group_by, window, aggregates or qualify; aggregate in a view of its own and read it with from:", clause)
	}
	if v.Over != nil {
		return b.spec.Errorf(path+"."+clause, "a view with %s takes no over: compute the features in a view of their own and read it with from:", clause)
	}
	if v.Join != nil && v.Join.Stream != "" {
		return b.spec.Errorf(path+"."+clause, "a view with %s takes no stream join: join in a view of its own and read it with from:", clause)
	}
	return nil
}

// scoring adds the steps of a view's score and rules clauses after its select, whose output
// schema is in: the operators, their output schema and what they do.
func (b *builder) scoring(v *spec.View, in *arrow.Schema) ([]func() (op.Operator, error), *arrow.Schema, []string, error) {
	var ops []func() (op.Operator, error)
	var does []string
	out := in
	if s := v.Score; s != nil {
		f, o, what, err := b.scorer(v, s, out)
		if err != nil {
			return nil, nil, nil, err
		}
		ops, out, does = append(ops, f), o, append(does, what)
	}
	if r := v.Rules; r != nil {
		f, o, what, err := b.rules(v, r, out)
		if err != nil {
			return nil, nil, nil, err
		}
		ops, out, does = append(ops, f), o, append(does, what)
	}
	return ops, out, does, nil
}

// scorer plans a view's score clause over schema in.
func (b *builder) scorer(v *spec.View, s *spec.Score, in *arrow.Schema) (func() (op.Operator, error), *arrow.Schema, string, error) {
	path := "views." + v.Name + ".score"
	if len(in.FieldIndices(s.As)) > 0 {
		return nil, nil, "", b.spec.Errorf(path+".as", "the view already has a column %q; name the score otherwise with as:", s.As)
	}
	feats := make([]op.Evaluator, len(s.Features))
	texts := make([]string, len(s.Features))
	for i, f := range s.Features {
		e, err := compile(f, in)
		if err != nil {
			return nil, nil, "", err
		}
		switch e.Type().ID() {
		case arrow.FLOAT64, arrow.FLOAT32, arrow.INT32, arrow.INT64, arrow.BOOL, arrow.DECIMAL128, arrow.TIMESTAMP, arrow.NULL:
		default:
			return nil, nil, "", f.Errorf("a model reads numbers, and this is %s: cast it, or map its values to numbers with CASE", e.Type())
		}
		feats[i], texts[i] = e, f.Text
	}
	out := arrow.NewSchema(append(append([]arrow.Field{}, in.Fields()...), arrow.Field{Name: s.As, Type: arrow.PrimitiveTypes.Float64}), nil)
	status := &reload.Status{Path: s.Model, What: "model"}
	cfg := score.Config{Path: s.Model, Kind: score.Kind(s.Kind), Features: feats, Out: out, Status: status}
	if board := b.alertBoard(); board != nil {
		if t := board.Model(v.Name, s.As, in); t != nil {
			cfg.Tap = t
		}
	}
	// Loading the model now refuses a missing or unfit one before the run; every subtask
	// starts from this version.
	probe, err := score.NewScorer(cfg)
	if err != nil {
		return nil, nil, "", b.spec.Errorf(path+".model", "%v", err)
	}
	b.plan.Reloads = append(b.plan.Reloads, status)
	// The version stays out of what the step does, which its fingerprint hashes: a new
	// model does not make a checkpoint's state another step's.
	what := fmt.Sprintf("%s = %s model %s (%d trees; reloaded when it changes) over %s", s.As, s.Kind, s.Model, probe.Trees(), strings.Join(texts, ", "))
	return func() (op.Operator, error) { return probe.Clone(), nil }, out, what, nil
}

// rules plans a view's rules clause over schema in.
func (b *builder) rules(v *spec.View, r *spec.Rules, in *arrow.Schema) (func() (op.Operator, error), *arrow.Schema, string, error) {
	path := "views." + v.Name + ".rules"
	for _, f := range rules.AlertFields {
		if len(in.FieldIndices(f.Name)) > 0 {
			return nil, nil, "", b.spec.Errorf(path, "the view already has a column %q, which alerts add; rename it in select", f.Name)
		}
	}
	status := &reload.Status{Path: r.File, What: "rules"}
	// Loading the file now refuses a missing or invalid one before the run; every subtask
	// starts from this version.
	probe, err := rules.NewAlerter(r.File, in, status)
	if err != nil {
		return nil, nil, "", b.spec.Errorf(path+".file", "%v", err)
	}
	b.plan.Reloads = append(b.plan.Reloads, status)
	probe.SetTap(b.alertBoard().Rules(v.Name, in, b.eventTime(v.From[0], in)))
	what := fmt.Sprintf("alert on the rows matching the rules of %s (reloaded when it changes)", r.File)
	return func() (op.Operator, error) { return probe.Clone(), nil }, rules.AlertSchema(in), what, nil
}

// alertBoard is the plan's board of alerts in a plan with a rules step, Options.Alerts or,
// without one, made on first use; nil in a plan without one, whose scores nothing shows.
func (b *builder) alertBoard() *tally.Board {
	if b.plan.Alerts == nil && slices.ContainsFunc(b.spec.Views, func(v *spec.View) bool { return v.Rules != nil }) {
		b.plan.Alerts = b.opts.Alerts
		if b.plan.Alerts == nil {
			b.plan.Alerts = tally.NewBoard(tally.DefaultConfig())
		}
	}
	return b.plan.Alerts
}
