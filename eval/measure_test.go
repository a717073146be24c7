package eval

import (
	"bytes"
	"image/png"
	"math"
	"strings"
	"testing"
)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-12 }

// The table computed by hand: eight rows, three positives.
//
//	score  0.9  0.8  0.7  0.6  0.55 0.4  0.3  0.2
//	label  T    F    T    F    T    F    F    F
//
// At 0.5 five rows alert, three of them positive: precision 3/5, recall 1, F1 3/4. Average
// precision: recall rises by 1/3 at 0.9 (precision 1), at 0.7 (2/3) and at 0.55 (3/5):
// 1/3 + 2/9 + 1/5 = 34/45. ROC-AUC: of the 15 pairs of a positive and a negative, the
// positive scores higher in 5 + 4 + 3 = 12: 12/15. At an alert rate of 25% two rows alert:
// recall 1/3 at threshold 0.8.
var (
	handScores = []float64{0.9, 0.8, 0.7, 0.6, 0.55, 0.4, 0.3, 0.2}
	handLabels = []bool{true, false, true, false, true, false, false, false}
)

func TestMeasuresByHand(t *testing.T) {
	c := At(handScores, handLabels, 0.5)
	if c != (Counts{TP: 3, FP: 2, FN: 0, TN: 3}) || !near(c.Precision(), 0.6) || !near(c.Recall(), 1) || !near(c.F1(), 0.75) {
		t.Fatalf("at 0.5: %+v P %g R %g F1 %g", c, c.Precision(), c.Recall(), c.F1())
	}
	curve := Curve(handScores, handLabels)
	if len(curve) != 8 || curve[2] != (Point{Threshold: 0.7, Precision: 2.0 / 3, Recall: 2.0 / 3, FPR: 0.2, Alerts: 3}) {
		t.Fatalf("curve: %+v", curve)
	}
	if got := PRAUC(curve); !near(got, 34.0/45) {
		t.Errorf("PR-AUC %g, want %g", got, 34.0/45)
	}
	if got := ROCAUC(curve); !near(got, 0.8) {
		t.Errorf("ROC-AUC %g, want 0.8", got)
	}
	if r, thr := RecallAtRate(curve, 8, 0.25); !near(r, 1.0/3) || thr != 0.8 {
		t.Errorf("recall at 25%%: %g at %g", r, thr)
	}
}

// TestTiesAndRules checks ties and a rule, whose scores are 1 and 0: rows [1, 1, 0, 0, 0]
// labelled [T, F, T, F, F]. At 1: precision 1/2, recall 1/2, FPR 1/3; at 0 everything:
// precision 2/5. Average precision 1/2·1/2 + 1/2·2/5 = 0.45; ROC-AUC by pairs: 3.5 of 6.
func TestTiesAndRules(t *testing.T) {
	curve := Curve([]float64{1, 1, 0, 0, 0}, []bool{true, false, true, false, false})
	if len(curve) != 2 || !near(PRAUC(curve), 0.45) || !near(ROCAUC(curve), 3.5/6) {
		t.Fatalf("curve %+v: PR-AUC %g ROC-AUC %g", curve, PRAUC(curve), ROCAUC(curve))
	}
	// A budget of 3 of 5 rows: the rule's two matches alert, never the rows it does not
	// match; a budget of 1: its two matches still, the highest score's rows.
	for _, rate := range []float64{0.6, 0.2} {
		if r, thr := RecallAtRate(curve, 5, rate); r != 0.5 || thr != 1 {
			t.Errorf("rule at rate %g: recall %g at %g, want 0.5 at 1", rate, r, thr)
		}
	}
	nan := math.NaN()
	curve = Curve([]float64{nan, 0.5}, []bool{true, false})
	if len(curve) != 1 || curve[0].Recall != 0 || ROCAUC(curve) != 0 { // the positive ranks below the negative
		t.Fatalf("a NaN score alerted: %+v", curve)
	}
}

// TestEvaluatePerScenario splits the hand table's positives into two scenarios: a (rows 0
// and 4) and b (row 2). Per scenario the rows are its positives and the five negatives.
// Scenario a: scores 0.9 and 0.55 against 0.8 0.6 0.4 0.3 0.2: ROC-AUC (5 + 3)/10; average
// precision 1/2·1 + 1/2·2/4 = 3/4. Scenario b: 0.7 beats four of five: ROC-AUC 4/5; average
// precision 1·1/2.
func TestEvaluatePerScenario(t *testing.T) {
	scen := []string{"a", "", "b", "", "a", "", "", ""}
	rule := []float64{1, 0, 0, 0, 1, 0, 0, 1}
	rep, err := Evaluate(handLabels, scen, 0.25,
		Classifier{Name: "score", Scores: handScores, Threshold: 0.5},
		Classifier{Name: "rule r", Scores: rule, Threshold: 1})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(rep.Scenarios, ",") != "a,b" {
		t.Fatalf("scenarios %v", rep.Scenarios)
	}
	m := rep.Results[0]
	if !near(m.Overall.PRAUC, 34.0/45) || m.Overall.Positives != 3 || m.Overall.Rows != 8 {
		t.Errorf("overall %+v", m.Overall)
	}
	a, b := m.Scenarios["a"], m.Scenarios["b"]
	if a.Rows != 7 || !near(a.ROCAUC, 0.8) || !near(a.PRAUC, 0.75) || !near(a.At.Recall(), 1) || !near(a.At.Precision(), 2.0/4) {
		t.Errorf("scenario a: rows %d ROC %g PR %g P %g R %g", a.Rows, a.ROCAUC, a.PRAUC, a.At.Precision(), a.At.Recall())
	}
	if b.Rows != 6 || !near(b.ROCAUC, 0.8) || !near(b.PRAUC, 0.5) {
		t.Errorf("scenario b: rows %d ROC %g PR %g", b.Rows, b.ROCAUC, b.PRAUC)
	}
	// The rule matches rows 0, 4 (scenario a) and 7 (normal): overall precision 2/3, recall
	// 2/3; scenario a recall 1, b recall 0.
	r := rep.Results[1]
	if !near(r.Overall.At.Precision(), 2.0/3) || !near(r.Overall.At.Recall(), 2.0/3) ||
		!near(r.Scenarios["a"].At.Recall(), 1) || r.Scenarios["b"].At.Recall() != 0 {
		t.Errorf("rule: %+v / a %+v / b %+v", r.Overall.At, r.Scenarios["a"].At, r.Scenarios["b"].At)
	}
	var out bytes.Buffer
	if err := rep.Write(&out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"score >= 0.5", "rule r ", "recall@25%", "\n                               a "} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, out.String())
		}
	}
	var img bytes.Buffer
	if err := WritePNG(&img, rep); err != nil {
		t.Fatal(err)
	}
	pic, err := png.Decode(&img)
	if err != nil {
		t.Fatal(err)
	}
	if b := pic.Bounds(); b.Dx() != 1200 || b.Dy() != 560 {
		t.Fatalf("picture of %v", b)
	}
	if _, err := Evaluate(handLabels, nil, 0.01, Classifier{Name: "short", Scores: handScores[:3]}); err == nil {
		t.Fatal("evaluated 3 scores against 8 labels")
	}
}
