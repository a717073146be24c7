// Package eval measures how well scores and rules catch what a label marks: precision,
// recall and F1 at a threshold, the precision-recall and ROC curves with the areas under
// them, and recall at a given alert rate, overall and per fraud scenario. It is pure: the
// caller reads the rows (millrace eval) and draws the curves (plot.go).
//
// Definitions, for rows with a score s and a label y (a rule's score is 1 where it matches,
// 0 elsewhere):
//
//	at threshold t    a row alerts when s >= t; precision = TP/(TP+FP) (0 with no alert),
//	                  recall = TP/(TP+FN), F1 = 2PR/(P+R) (0 when both are 0)
//	PR-AUC            average precision: the sum over distinct thresholds, from the highest
//	                  score down, of (recall gained) × (precision there), as scikit-learn's
//	                  average_precision_score
//	ROC-AUC           the area under true positive rate against false positive rate, the
//	                  trapezoid rule over distinct thresholds (ties count half)
//	recall at rate a  the recall at the lowest threshold at which at most ceil(a × rows) rows
//	                  alert (at the highest score when more rows than that share it); a
//	                  rule that matches fewer rows alerts on those only
//
// Per scenario, the rows are the scenario's positives and every negative: the other
// scenarios' rows are left out, so a scenario's precision counts the false alarms on normal
// rows only.
package eval

import (
	"math"
	"sort"
)

// Counts are the four outcomes of alerting on rows.
type Counts struct{ TP, FP, FN, TN int }

// Precision is TP/(TP+FP), 0 without alerts.
func (c Counts) Precision() float64 { return ratio(c.TP, c.TP+c.FP) }

// Recall is TP/(TP+FN), 0 without positives.
func (c Counts) Recall() float64 { return ratio(c.TP, c.TP+c.FN) }

// F1 is the harmonic mean of precision and recall, 0 when both are 0.
func (c Counts) F1() float64 {
	p, r := c.Precision(), c.Recall()
	if p+r == 0 {
		return 0
	}
	return 2 * p * r / (p + r)
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// At counts the outcomes of alerting on the rows whose score is at least t.
func At(scores []float64, labels []bool, t float64) Counts {
	var c Counts
	for i, s := range scores {
		alert := s >= t
		switch {
		case alert && labels[i]:
			c.TP++
		case alert:
			c.FP++
		case labels[i]:
			c.FN++
		default:
			c.TN++
		}
	}
	return c
}

// Point is one threshold of a curve: alerting on scores at least Threshold.
type Point struct {
	Threshold         float64
	Precision, Recall float64
	// FPR is the false positive rate, FP/(FP+TN).
	FPR float64
	// Alerts is the number of rows that alert.
	Alerts int
}

// Curve returns a point for every distinct score, from the highest down: the
// precision-recall and ROC curves together. NaN scores never alert.
func Curve(scores []float64, labels []bool) []Point {
	idx := make([]int, 0, len(scores))
	pos, neg := 0, 0
	for i, s := range scores {
		if labels[i] {
			pos++
		} else {
			neg++
		}
		if !math.IsNaN(s) {
			idx = append(idx, i)
		}
	}
	sort.SliceStable(idx, func(a, b int) bool { return scores[idx[a]] > scores[idx[b]] })
	var out []Point
	tp, fp := 0, 0
	for k := 0; k < len(idx); {
		t := scores[idx[k]]
		for ; k < len(idx) && scores[idx[k]] == t; k++ {
			if labels[idx[k]] {
				tp++
			} else {
				fp++
			}
		}
		out = append(out, Point{Threshold: t, Precision: ratio(tp, tp+fp), Recall: ratio(tp, pos), FPR: ratio(fp, neg), Alerts: tp + fp})
	}
	return out
}

// PRAUC is the average precision of a curve (see the package doc).
func PRAUC(curve []Point) float64 {
	area, prev := 0.0, 0.0
	for _, p := range curve {
		area += (p.Recall - prev) * p.Precision
		prev = p.Recall
	}
	return area
}

// ROCAUC is the area under the ROC curve of a curve, from (0, 0) to (1, 1).
func ROCAUC(curve []Point) float64 {
	area, x, y := 0.0, 0.0, 0.0
	for _, p := range curve {
		area += (p.FPR - x) * (p.Recall + y) / 2
		x, y = p.FPR, p.Recall
	}
	return area + (1-x)*(1+y)/2
}

// RecallAtRate is the recall when at most the share rate of all rows alert, those of the
// highest scores, and the threshold that makes it; rows is how many rows the curve is of.
func RecallAtRate(curve []Point, rows int, rate float64) (recall, threshold float64) {
	budget := int(math.Ceil(rate * float64(rows)))
	for i, p := range curve {
		if i > 0 && p.Alerts > budget {
			break
		}
		recall, threshold = p.Recall, p.Threshold
	}
	return recall, threshold
}
