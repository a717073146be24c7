package eval

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestHistogramCurveIsCurveOfQuantizedScores checks that the curve of two histograms is
// Curve of the scores read as their bins' lower edges, point for point, so that its areas
// are the ones eval computes over those scores, and that they come within a bin's width
// of the exact areas for scores spread over many bins.
func TestHistogramCurveIsCurveOfQuantizedScores(t *testing.T) {
	const bins = 1000
	rnd := rand.New(rand.NewPCG(7, 7))
	var scores, quantized []float64
	var labels []bool
	pos, neg := NewHistogram(bins), NewHistogram(bins)
	for i := range 20_000 {
		positive := rnd.Float64() < 0.05
		s := rnd.Float64() * 0.7
		if positive {
			s += 0.3
		}
		switch i {
		case 10:
			s = math.NaN()
		case 11:
			s = -0.5
		case 12:
			s = 1
		}
		scores, labels = append(scores, s), append(labels, positive)
		quantized = append(quantized, Quantize(s, bins))
		if positive {
			pos.Add(s)
		} else {
			neg.Add(s)
		}
	}
	got, err := HistogramCurve(pos, neg)
	if err != nil {
		t.Fatal(err)
	}
	want := Curve(quantized, labels)
	if !slices.Equal(got, want) {
		t.Fatalf("histogram curve has %d points, Curve of the quantized scores %d; first: %+v and %+v", len(got), len(want), got[0], want[0])
	}
	if PRAUC(got) != PRAUC(want) || ROCAUC(got) != ROCAUC(want) {
		t.Fatalf("areas differ: PR %g and %g, ROC %g and %g", PRAUC(got), PRAUC(want), ROCAUC(got), ROCAUC(want))
	}
	exact := Curve(scores, labels)
	if d := math.Abs(ROCAUC(got) - ROCAUC(exact)); d > 1e-3 {
		t.Errorf("ROC-AUC %g from the histogram, %g exactly", ROCAUC(got), ROCAUC(exact))
	}
	if d := math.Abs(PRAUC(got) - PRAUC(exact)); d > 1e-2 {
		t.Errorf("PR-AUC %g from the histogram, %g exactly", PRAUC(got), PRAUC(exact))
	}
	if pos.Total()+neg.Total() != 20_000 {
		t.Errorf("counted %d scores of 20000", pos.Total()+neg.Total())
	}
}

func TestHistogramMergeAndBins(t *testing.T) {
	a, b := NewHistogram(4), NewHistogram(4)
	for _, s := range []float64{0, 0.25, 0.3, 0.99, 1.5, -1} {
		a.Add(s)
	}
	b.Add(math.NaN())
	b.Add(0.5)
	if err := a.Merge(b); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(a.Bins, []int64{2, 2, 1, 2}) || a.NaN != 1 || a.Total() != 8 {
		t.Fatalf("bins %v NaN %d", a.Bins, a.NaN)
	}
	if err := a.Merge(NewHistogram(5)); err == nil {
		t.Fatal("merged histograms of 4 and 5 bins")
	}
	if q := Quantize(0.3, 4); q != 0.25 {
		t.Errorf("Quantize(0.3, 4) = %g", q)
	}
}
