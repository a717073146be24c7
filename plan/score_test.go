package plan

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"

	"millrace/engine"
	"millrace/format"
	"millrace/reload"
	"millrace/spec"
)

// TestScoreAndRules runs the sample of the shipped fraud model through a view that scores it
// and alerts on two rules, at parallelism 2, and checks every alert against what the sample
// says: the score XGBoost computed (to 1e-6), which rows each rule matches, its reason and
// the version of the rules file.
func TestScoreAndRules(t *testing.T) {
	dir := t.TempDir()
	sample, err := filepath.Abs("../examples/models/fraud-expected.csv")
	if err != nil {
		t.Fatal(err)
	}
	rulesFile := filepath.Join(dir, "rules.yaml")
	rulesText := `rules:
  - name: high_score
    when: score > 0.5
    severity: high
    reason: the model scores it above 0.5
  - name: small_online
    when: amount < 3 AND channel_code = 1
    reason: a small online payment
`
	if err := os.WriteFile(rulesFile, []byte(rulesText), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "alerts.jsonl")
	inf, err := format.Infer(sample, format.CSV, 10_000)
	if err != nil {
		t.Fatal(err)
	}
	var cols []string
	for _, f := range inf.Schema.Fields() {
		cols = append(cols, fmt.Sprintf("%s: %q", f.Name, typeName(f.Type)+" null"))
	}
	names, err := os.ReadFile("../examples/models/fraud.features")
	if err != nil {
		t.Fatal(err)
	}
	features := strings.Fields(string(names))
	text := fmt.Sprintf(`
name: scoring
sources:
  tx:
    kind: file
    path: %s
    format: csv
    columns: {%s}
views:
  alerts:
    from: tx
    score: {model: ../examples/models/fraud.xgb, kind: xgboost, features: [%s]}
    rules: {file: %s}
sinks:
  alerts: {from: alerts, kind: jsonl, path: %s}
`, sample, strings.Join(cols, ", "), strings.Join(features, ", "), rulesFile, out)
	s, err := spec.Parse([]byte(text), "scoring.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	pl, err := Build(s, Options{Parallelism: 2})
	if err != nil {
		t.Fatal(err)
	}
	if got := pl.String(); !strings.Contains(got, "score = xgboost model ../examples/models/fraud.xgb (150 trees; reloaded when it changes) over "+strings.Join(features, ", ")) ||
		!strings.Contains(got, "alert on the rows matching the rules of "+rulesFile) {
		t.Fatalf("plan:\n%s", got)
	}
	if len(pl.Reloads) != 2 || pl.Reloads[0].What != "model" || pl.Reloads[1].What != "rules" {
		t.Fatalf("reloads: %v", pl.Reloads)
	}
	stats, err := engine.Run(context.Background(), pl.Graph, engine.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	if l := pl.Ledger(stats); !l.Balanced() || l.Sources[0].Rejected != 0 {
		t.Fatalf("ledger:\n%s", l)
	}

	// What the sample says: per tx_id, XGBoost's score, the amount and the channel.
	f, err := os.Open(sample)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{} // tx_id/rule
	scoreOf := map[string]float64{}
	at := map[string]int{}
	for i, name := range rows[0] {
		at[name] = i
	}
	for _, r := range rows[1:] {
		expected, _ := strconv.ParseFloat(r[at["expected_score"]], 64)
		amount, _ := strconv.ParseFloat(r[at["amount"]], 64)
		scoreOf[r[0]] = expected
		if expected > 0.5 {
			want[r[0]+"/high_score"] = true
		}
		if amount < 3 && r[at["channel_code"]] == "1" {
			want[r[0]+"/small_online"] = true
		}
	}
	version := reload.Version([]byte(rulesText))
	got := map[string]bool{}
	af, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer af.Close()
	sc := bufio.NewScanner(af)
	for sc.Scan() {
		var a struct {
			ID                     string `json:"tx_id"`
			Rule, Severity, Reason string
			Version                string  `json:"rules_version"`
			Score                  float64 `json:"score"`
		}
		if err := json.Unmarshal(sc.Bytes(), &a); err != nil {
			t.Fatal(err)
		}
		id := a.ID
		if d := math.Abs(a.Score - scoreOf[id]); d > 1e-6 {
			t.Errorf("%s: score %.9g, XGBoost's %.9g", id, a.Score, scoreOf[id])
		}
		if a.Version != version {
			t.Errorf("%s: rules_version %q, want %q", id, a.Version, version)
		}
		switch {
		case a.Rule == "high_score" && (a.Severity != "high" || a.Reason != "the model scores it above 0.5"),
			a.Rule == "small_online" && (a.Severity != "medium" || a.Reason != "a small online payment"):
			t.Errorf("%s: rule %s has severity %q and reason %q", id, a.Rule, a.Severity, a.Reason)
		}
		if got[id+"/"+a.Rule] {
			t.Errorf("%s: alerted twice by %s", id, a.Rule)
		}
		got[id+"/"+a.Rule] = true
	}
	if len(want) < 20 {
		t.Fatalf("the sample makes only %d alerts", len(want))
	}
	for k := range want {
		if !got[k] {
			t.Errorf("alert %s is missing", k)
		}
	}
	for k := range got {
		if !want[k] {
			t.Errorf("alert %s is not one", k)
		}
	}
}

// typeName writes an inferred column type as a spec's columns take it.
func typeName(t arrow.DataType) string {
	switch t.ID() {
	case arrow.STRING:
		return "string"
	case arrow.BOOL:
		return "bool"
	case arrow.DECIMAL128:
		d := t.(*arrow.Decimal128Type)
		return fmt.Sprintf("decimal(%d,%d)", d.Precision, d.Scale)
	}
	return t.String()
}

// TestScoreAndRulesErrors checks what planning says about a score or rules clause that
// cannot work.
func TestScoreAndRulesErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("rules:\n  - name: r1\n    when: amout > 1\n    reason: big\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	const head = `
name: bad
sources:
  tx: {kind: generator, rows: 10, rate: 10}
views:
  v:
    from: tx
`
	for name, c := range map[string]struct{ view, want string }{
		"text feature": {`    score: {model: ../examples/models/fraud.xgb, kind: xgboost, features: [amount, country]}`,
			`views.v.score.features[1]: a model reads numbers, and this is utf8`},
		"missing model": {`    score: {model: ` + dir + `/none.xgb, kind: xgboost, features: [amount]}`,
			`views.v.score.model: model ` + dir + `/none.xgb: stat`},
		"too few features": {`    score: {model: ../examples/models/fraud.xgb, kind: xgboost, features: [amount]}`,
			`the model reads 15 features, but 1 are given`},
		"wrong kind": {`    score: {model: ../examples/models/fraud.xgb, kind: lightgbm, features: [amount, mcc, mcc, mcc, mcc]}`,
			`read lightgbm model`},
		"aggregating": {"    group_by: [card_id]\n    select: {n: count(*)}\n    rules: {file: " + bad + "}",
			`views.v.rules: a view with rules scores input rows one by one`},
		"stream join": {"    join: {stream: tx, on: card_id, within: [0s, 1m]}\n    rules: {file: " + bad + "}",
			`views.v.rules: a view with rules takes no stream join`},
		"bad rule": {"    rules: {file: " + bad + "}",
			bad + `:2: rules[0] r1: when: unknown column "amout" (did you mean "amount"?)`},
		"taken name": {`    select: {score: amount, mcc: mcc}
    score: {model: ../examples/models/fraud.xgb, kind: xgboost, features: [score, mcc, mcc, mcc, mcc]}`,
			`views.v.score.as: the view already has a column "score"`},
	} {
		s, err := spec.Parse([]byte(head+c.view+"\n"), "bad.yaml", nil)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		_, err = Build(s, Options{Parallelism: 1})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want %q", name, err, c.want)
		}
	}
}
