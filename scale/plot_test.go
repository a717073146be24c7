package scale

import (
	"bytes"
	"encoding/xml"
	"io"
	"strings"
	"testing"
)

func TestWriteSVGIsWellFormedAndLabelled(t *testing.T) {
	cfg := DefaultSimConfig()
	cfg.Policy.Mode = Predictive
	res, err := Simulate(WeekWithNightlySurge(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := WriteSVG(&b, res, "week-nightly-surge.csv <predictive>"); err != nil {
		t.Fatal(err)
	}
	svg := b.String()
	d := xml.NewDecoder(strings.NewReader(svg))
	polylines := 0
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed XML: %v", err)
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "polyline" {
			polylines++
		}
	}
	if polylines < 5 {
		t.Errorf("%d polylines, want at least one per series", polylines)
	}
	for _, want := range []string{"input rate", "forecast mean", "forecast upper bound", "workers × capacity",
		"lag (backlog ÷ capacity)", "SLO 30s", "Mon Jan 1", "&lt;predictive&gt;", "20k/s"} {
		if !strings.Contains(svg, want) {
			t.Errorf("the plot has no %q", want)
		}
	}
	if strings.Contains(svg, "NaN") || strings.Contains(svg, "Inf") {
		t.Error("the plot has NaN or Inf coordinates")
	}
	if len(svg) > 400_000 {
		t.Errorf("the plot is %d bytes: long runs should be merged to columns", len(svg))
	}
}

func TestWriteSVGRefusesAnEmptyRun(t *testing.T) {
	if err := WriteSVG(io.Discard, Result{}, "empty"); err == nil {
		t.Error("no error for an empty run")
	}
}

func TestTicksAreRound(t *testing.T) {
	for _, c := range []struct {
		top  float64
		want []float64
	}{
		{31000, []float64{0, 5000, 10000, 15000, 20000, 25000, 30000, 35000}},
		{45, []float64{0, 10, 20, 30, 40, 50}},
		{0, []float64{0, 0.2, 0.4, 0.6000000000000001, 0.8, 1}},
	} {
		got := ticks(c.top)
		if len(got) != len(c.want) || got[len(got)-1] != c.want[len(c.want)-1] {
			t.Errorf("ticks(%v) = %v, want %v", c.top, got, c.want)
		}
	}
}
