package eval

import (
	"fmt"
	"math"
)

// Histogram counts scores in fixed bins of equal width over [0, 1], so that a running
// pipeline can measure a score over every row it saw in bounded memory. Bin i holds the
// scores in [i/n, (i+1)/n); a score below 0 counts in the first bin, one of 1 or more in the
// last, and NaN (a missing score, which never alerts) apart. Reading every score as the
// lower edge of its bin (Quantize), the curve of two histograms is exactly Curve of the
// quantized scores, so the areas under it differ from the exact ones only by the order of
// scores within a bin.
type Histogram struct {
	Bins []int64
	NaN  int64
}

// NewHistogram returns an empty histogram of n bins.
func NewHistogram(n int) Histogram { return Histogram{Bins: make([]int64, n)} }

// bin is the bin of score s among n, -1 for NaN.
func bin(s float64, n int) int {
	switch {
	case math.IsNaN(s):
		return -1
	case s <= 0:
		return 0
	case s >= 1:
		return n - 1
	}
	return min(int(s*float64(n)), n-1)
}

// Add counts score s.
func (h *Histogram) Add(s float64) {
	if i := bin(s, len(h.Bins)); i >= 0 {
		h.Bins[i]++
	} else {
		h.NaN++
	}
}

// Merge adds the counts of o, a histogram of as many bins.
func (h *Histogram) Merge(o Histogram) error {
	if len(o.Bins) != len(h.Bins) {
		return fmt.Errorf("eval: merge a histogram of %d bins into one of %d", len(o.Bins), len(h.Bins))
	}
	for i, c := range o.Bins {
		h.Bins[i] += c
	}
	h.NaN += o.NaN
	return nil
}

// Total is the number of scores counted, NaN included.
func (h *Histogram) Total() int64 {
	n := h.NaN
	for _, c := range h.Bins {
		n += c
	}
	return n
}

// Quantize is the score a histogram of n bins reads s as: the lower edge of its bin (NaN
// stays NaN).
func Quantize(s float64, n int) float64 {
	i := bin(s, n)
	if i < 0 {
		return s
	}
	return float64(i) / float64(n)
}

// HistogramCurve is the curve of the scores of the positives pos and of the negatives neg,
// two histograms of as many bins: a point for every bin that holds a score, from the highest
// down, each score read as its bin's lower edge. PRAUC and ROCAUC measure it as they
// measure Curve.
func HistogramCurve(pos, neg Histogram) ([]Point, error) {
	if len(pos.Bins) != len(neg.Bins) {
		return nil, fmt.Errorf("eval: curve of histograms of %d and %d bins", len(pos.Bins), len(neg.Bins))
	}
	p, n := int(pos.Total()), int(neg.Total())
	var out []Point
	tp, fp := 0, 0
	for i := len(pos.Bins) - 1; i >= 0; i-- {
		if pos.Bins[i] == 0 && neg.Bins[i] == 0 {
			continue
		}
		tp += int(pos.Bins[i])
		fp += int(neg.Bins[i])
		out = append(out, Point{Threshold: float64(i) / float64(len(pos.Bins)), Precision: ratio(tp, tp+fp),
			Recall: ratio(tp, p), FPR: ratio(fp, n), Alerts: tp + fp})
	}
	return out, nil
}
