package eval

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
)

// Classifier is one score to measure: a model's score column, or a rule (1 where it matches,
// 0 elsewhere, with threshold 1).
type Classifier struct {
	Name      string
	Scores    []float64
	Threshold float64
}

// Measures are the figures of one classifier over one set of rows.
type Measures struct {
	Rows, Positives int
	// At counts the outcomes at the classifier's threshold.
	At     Counts
	PRAUC  float64
	ROCAUC float64
	// RecallAtRate is the recall when the Report's AlertRate of the rows alert, and
	// RateThreshold the score threshold that makes it.
	RecallAtRate, RateThreshold float64
	Curve                       []Point
}

// Result is what Evaluate found for one classifier: over every row, and per scenario.
type Result struct {
	Classifier string
	Threshold  float64
	Overall    Measures
	// Scenarios holds the measures per scenario, by name, over the scenario's positives
	// and every negative.
	Scenarios map[string]Measures
}

// Report is the evaluation of several classifiers over the same rows.
type Report struct {
	AlertRate float64
	// Scenarios lists the scenario names found among the positives, sorted.
	Scenarios []string
	Results   []Result
}

// Evaluate measures every classifier against labels; scenario, when not nil, names each
// positive row's scenario (rows of an empty name belong to none). alertRate is the share of
// rows RecallAtRate alerts on.
func Evaluate(labels []bool, scenario []string, alertRate float64, cs ...Classifier) (Report, error) {
	rep := Report{AlertRate: alertRate}
	for _, c := range cs {
		if len(c.Scores) != len(labels) {
			return Report{}, fmt.Errorf("eval: %s has %d scores for %d labels", c.Name, len(c.Scores), len(labels))
		}
	}
	if scenario != nil && len(scenario) != len(labels) {
		return Report{}, fmt.Errorf("eval: %d scenario names for %d labels", len(scenario), len(labels))
	}
	var all []int
	groups := map[string][]int{} // per scenario: its positives and every negative
	var negatives []int
	for i, pos := range labels {
		all = append(all, i)
		switch {
		case !pos:
			negatives = append(negatives, i)
		case scenario != nil && scenario[i] != "":
			groups[scenario[i]] = append(groups[scenario[i]], i)
		}
	}
	for name := range groups {
		rep.Scenarios = append(rep.Scenarios, name)
		groups[name] = append(groups[name], negatives...)
	}
	slices.Sort(rep.Scenarios)
	for _, c := range cs {
		r := Result{Classifier: c.Name, Threshold: c.Threshold, Overall: measure(c, labels, all, alertRate), Scenarios: map[string]Measures{}}
		for _, name := range rep.Scenarios {
			r.Scenarios[name] = measure(c, labels, groups[name], alertRate)
		}
		rep.Results = append(rep.Results, r)
	}
	return rep, nil
}

// measure computes the measures of c over the rows rows.
func measure(c Classifier, labels []bool, rows []int, alertRate float64) Measures {
	scores := make([]float64, len(rows))
	ls := make([]bool, len(rows))
	m := Measures{Rows: len(rows)}
	for k, i := range rows {
		scores[k], ls[k] = c.Scores[i], labels[i]
		if labels[i] {
			m.Positives++
		}
	}
	m.At = At(scores, ls, c.Threshold)
	m.Curve = Curve(scores, ls)
	m.PRAUC, m.ROCAUC = PRAUC(m.Curve), ROCAUC(m.Curve)
	m.RecallAtRate, m.RateThreshold = RecallAtRate(m.Curve, len(rows), alertRate)
	return m
}

// Write prints the report as a table: a line per classifier and set of rows.
func (r Report) Write(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%-30s %-22s %9s %9s %9s %9s %9s %9s %13s\n", "classifier", "over", "positives", "precision", "recall", "F1", "PR-AUC", "ROC-AUC",
		fmt.Sprintf("recall@%g%%", r.AlertRate*100))
	line := func(name, set string, m Measures) {
		fmt.Fprintf(&b, "%-30s %-22s %9d %9.4f %9.4f %9.4f %9.4f %9.4f %13.4f\n", name, set, m.Positives,
			m.At.Precision(), m.At.Recall(), m.At.F1(), m.PRAUC, m.ROCAUC, m.RecallAtRate)
	}
	for _, res := range r.Results {
		name := res.Classifier
		if res.Threshold != 1 || !strings.HasPrefix(name, "rule ") {
			name = fmt.Sprintf("%s >= %g", res.Classifier, res.Threshold)
		}
		line(name, "all", res.Overall)
		for _, s := range r.Scenarios {
			line("", s, res.Scenarios[s])
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// jsonMeasures are Measures as WriteJSON writes them: the counts and figures, not the curve.
type jsonMeasures struct {
	Rows         int     `json:"rows"`
	Positives    int     `json:"positives"`
	TP           int     `json:"tp"`
	FP           int     `json:"fp"`
	FN           int     `json:"fn"`
	TN           int     `json:"tn"`
	Precision    float64 `json:"precision"`
	Recall       float64 `json:"recall"`
	F1           float64 `json:"f1"`
	PRAUC        float64 `json:"pr_auc"`
	ROCAUC       float64 `json:"roc_auc"`
	RecallAtRate float64 `json:"recall_at_rate"`
}

func (m Measures) json() jsonMeasures {
	return jsonMeasures{Rows: m.Rows, Positives: m.Positives, TP: m.At.TP, FP: m.At.FP, FN: m.At.FN, TN: m.At.TN,
		Precision: m.At.Precision(), Recall: m.At.Recall(), F1: m.At.F1(), PRAUC: m.PRAUC, ROCAUC: m.ROCAUC, RecallAtRate: m.RecallAtRate}
}

// WriteJSON writes the report as one JSON object: the alert rate, and per classifier its
// threshold and measures over all rows and per scenario, with the four counts at the
// threshold.
func (r Report) WriteJSON(w io.Writer) error {
	type result struct {
		Classifier string                  `json:"classifier"`
		Threshold  float64                 `json:"threshold"`
		Overall    jsonMeasures            `json:"overall"`
		Scenarios  map[string]jsonMeasures `json:"scenarios"`
	}
	out := struct {
		AlertRate float64  `json:"alert_rate"`
		Results   []result `json:"results"`
	}{AlertRate: r.AlertRate, Results: []result{}}
	for _, res := range r.Results {
		x := result{Classifier: res.Classifier, Threshold: res.Threshold, Overall: res.Overall.json(), Scenarios: map[string]jsonMeasures{}}
		for _, s := range r.Scenarios {
			x.Scenarios[s] = res.Scenarios[s].json()
		}
		out.Results = append(out.Results, x)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		return fmt.Errorf("eval: write the report as JSON: %w", err)
	}
	return nil
}
