package spec

import (
	"go.yaml.in/yaml/v3"
)

// Score makes a view score every row with a tree model trained outside millrace: the view's
// rows gain a float64 column As holding the model's score (for a binary classifier, the
// probability of the positive class).
type Score struct {
	// Model is the path of the model file, reloaded while the pipeline runs when it changes.
	Model string
	// Kind is the model's framework: xgboost (its binary format) or lightgbm (text format).
	Kind string
	// Features are the model's inputs, in the order it was trained with: expressions over
	// the view's columns (after select), numbers, booleans or timestamps.
	Features []Expr
	// As names the score column; "score" by default.
	As string
	// Pos is where the score clause stands in the file.
	Pos Pos
}

// Rules makes a view emit alerts: every input row that matches a rule of a rules file, once
// per rule it matches, with the columns rule, severity, reason and rules_version added. The
// file is reloaded while the pipeline runs when it changes.
type Rules struct {
	// File is the path of the rules file.
	File string
	// Pos is where the rules clause stands in the file.
	Pos Pos
}

// The model kinds a score clause takes.
var modelKinds = []string{"xgboost", "lightgbm"}

// score decodes `{model: path, kind: xgboost, features: [...], as: score}`.
func (d *decoder) score(n *yaml.Node, path string) *Score {
	pairs, ok := d.mapping(n, path, "a mapping such as {model: models/fraud.xgb, kind: xgboost, features: [amount]}")
	if !ok {
		return nil
	}
	s := &Score{As: "score", Pos: d.pos(deref(n))}
	decodeFields(d, s, pairs, path, scoreFields, "", "score")
	has := map[string]bool{}
	for _, p := range pairs {
		has[p.key] = true
	}
	for _, k := range []string{"model", "kind", "features"} {
		if !has[k] {
			d.errorf(n, path, "%s is required", k)
		}
	}
	return s
}

// scoreFields are the keys of a score clause.
var scoreFields = map[string]field[Score]{
	"model": {set: func(d *decoder, s *Score, n *yaml.Node, p string) {
		s.Model, _ = d.str(n, p, "the path of a model file")
	}},
	"kind": {set: func(d *decoder, s *Score, n *yaml.Node, p string) {
		if k, ok := enum(d, n, p, "model kind", modelKinds); ok {
			s.Kind = k
		}
	}},
	"features": {set: func(d *decoder, s *Score, n *yaml.Node, p string) {
		s.Features = d.exprs(n, p, "a list of feature expressions, in the model's order")
	}},
	"as": {set: func(d *decoder, s *Score, n *yaml.Node, p string) {
		s.As, _ = d.ident(n, p, "a column name")
	}},
}

// rules decodes `{file: rules.yaml}`.
func (d *decoder) rules(n *yaml.Node, path string) *Rules {
	pairs, ok := d.mapping(n, path, "a mapping such as {file: rules/fraud.yaml}")
	if !ok {
		return nil
	}
	r := &Rules{Pos: d.pos(deref(n))}
	decodeFields(d, r, pairs, path, rulesFields, "", "rules")
	if r.File == "" {
		d.errorf(n, path, "file is required: the rules file")
	}
	return r
}

// rulesFields are the keys of a rules clause.
var rulesFields = map[string]field[Rules]{
	"file": {set: func(d *decoder, r *Rules, n *yaml.Node, p string) {
		r.File, _ = d.str(n, p, "the path of a rules file")
	}},
}
