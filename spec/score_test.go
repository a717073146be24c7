package spec

import (
	"strings"
	"testing"
)

// TestScoreAndRulesClauses decodes the score and rules clauses of a view, their defaults and
// their errors, each with the key path.
func TestScoreAndRulesClauses(t *testing.T) {
	const head = "name: s\nsources:\n  tx: {kind: generator, rows: 10}\nviews:\n  v:\n    from: tx\n"
	s, err := Parse([]byte(head+"    score: {model: m.xgb, kind: xgboost, features: [amount, mcc]}\n    rules: {file: r.yaml}\n"), "s.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	v := s.View("v")
	if v.Score == nil || v.Score.Model != "m.xgb" || v.Score.Kind != "xgboost" || v.Score.As != "score" ||
		len(v.Score.Features) != 2 || v.Score.Features[1].Text != "mcc" || v.Score.Features[1].Path != "views.v.score.features[1]" {
		t.Fatalf("score: %+v", v.Score)
	}
	if v.Rules == nil || v.Rules.File != "r.yaml" {
		t.Fatalf("rules: %+v", v.Rules)
	}
	for clause, want := range map[string]string{
		"score: {model: m.xgb, kind: onnx, features: [amount]}":        `s.yaml:7: views.v.score.kind: unknown model kind "onnx"`,
		"score: {model: m.xgb, features: [amount]}":                    "s.yaml:7: views.v.score: kind is required",
		"score: {kind: xgboost, features: [amount]}":                   "s.yaml:7: views.v.score: model is required",
		"score: {model: m.xgb, kind: lightgbm}":                        "s.yaml:7: views.v.score: features is required",
		"score: {model: m.xgb, kind: xgboost, features: [a], as: 2x}":  `views.v.score.as: "2x" is not a column name`,
		"score: {model: m.xgb, kind: xgboost, features: [a], modl: x}": `views.v.score.modl: unknown key (did you mean "model"?)`,
		"rules: {}":     "s.yaml:7: views.v.rules: file is required",
		"rules: r.yaml": "views.v.rules: must be a mapping such as {file: rules/fraud.yaml}",
	} {
		_, err := Parse([]byte(head+"    "+clause+"\n"), "s.yaml", nil)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want %q", clause, err, want)
		}
	}
}
