package eval

import (
	"fmt"
	"image/color"
	"io"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// palette colours the classifiers in turn.
var palette = []color.Color{
	color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff}, color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff},
	color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff}, color.RGBA{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff},
	color.RGBA{R: 0x94, G: 0x67, B: 0xbd, A: 0xff}, color.RGBA{R: 0x8c, G: 0x56, B: 0x4b, A: 0xff},
	color.RGBA{R: 0xe3, G: 0x77, B: 0xc2, A: 0xff}, color.RGBA{R: 0x7f, G: 0x7f, B: 0x7f, A: 0xff},
}

// The dashes of the scenarios' curves, in turn.
var scenarioDashes = [][]vg.Length{{6, 3}, {2, 3}, {8, 3, 2, 3}, {4, 4}}

// WritePNG draws the report's curves as a PNG of 1200 × 560 pixels: on the left precision
// against recall, on the right the true positive rate against the false positive rate. Each
// classifier is a solid line over every row, its scenarios dashed lines of the same colour,
// and its point at its threshold a dot.
func WritePNG(w io.Writer, r Report) error {
	pr, roc := plot.New(), plot.New()
	pr.Title.Text, pr.X.Label.Text, pr.Y.Label.Text = "precision / recall", "recall", "precision"
	roc.Title.Text, roc.X.Label.Text, roc.Y.Label.Text = "ROC", "false positive rate", "recall (true positive rate)"
	for _, p := range []*plot.Plot{pr, roc} {
		p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = 0, 1, 0, 1
		p.Add(plotter.NewGrid())
		p.Legend.Top = true
	}
	roc.Legend.Left = false
	for k, res := range r.Results {
		c := palette[k%len(palette)]
		if err := addCurve(pr, roc, res.Classifier, res.Overall, draw.LineStyle{Color: c, Width: vg.Points(1.5)}, true); err != nil {
			return err
		}
		for j, s := range r.Scenarios {
			sty := draw.LineStyle{Color: c, Width: vg.Points(0.8), Dashes: scenarioDashes[j%len(scenarioDashes)]}
			if err := addCurve(pr, roc, res.Classifier+": "+s, res.Scenarios[s], sty, false); err != nil {
				return err
			}
		}
	}
	const width, height = 12.5 * vg.Inch, 5.833 * vg.Inch // 1200 × 560 at 96 dpi
	img := vgimg.NewWith(vgimg.UseWH(width, height), vgimg.UseDPI(96), vgimg.UseBackgroundColor(color.White))
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: 1, Cols: 2, PadX: vg.Millimeter * 4, PadTop: vg.Millimeter * 2, PadBottom: vg.Millimeter * 2, PadLeft: vg.Millimeter * 2, PadRight: vg.Millimeter * 2}
	pr.Draw(tiles.At(dc, 0, 0))
	roc.Draw(tiles.At(dc, 1, 0))
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(w); err != nil {
		return fmt.Errorf("eval: write png: %w", err)
	}
	return nil
}

// addCurve adds one set of measures to both plots; dot marks the point at the threshold.
func addCurve(pr, roc *plot.Plot, name string, m Measures, sty draw.LineStyle, dot bool) error {
	prXY := plotter.XYs{}
	rocXY := plotter.XYs{{X: 0, Y: 0}}
	for _, p := range m.Curve {
		prXY = append(prXY, plotter.XY{X: p.Recall, Y: p.Precision})
		rocXY = append(rocXY, plotter.XY{X: p.FPR, Y: p.Recall})
	}
	rocXY = append(rocXY, plotter.XY{X: 1, Y: 1})
	for _, c := range []struct {
		p   *plot.Plot
		xys plotter.XYs
		at  plotter.XY
	}{
		{pr, prXY, plotter.XY{X: m.At.Recall(), Y: m.At.Precision()}},
		{roc, rocXY, plotter.XY{X: ratio(m.At.FP, m.At.FP+m.At.TN), Y: m.At.Recall()}},
	} {
		if len(c.xys) == 0 {
			continue
		}
		l, err := plotter.NewLine(c.xys)
		if err != nil {
			return fmt.Errorf("eval: plot %s: %w", name, err)
		}
		l.LineStyle = sty
		c.p.Add(l)
		if c.p == pr {
			pr.Legend.Add(name, l)
		}
		if dot {
			s, err := plotter.NewScatter(plotter.XYs{c.at})
			if err != nil {
				return fmt.Errorf("eval: plot %s: %w", name, err)
			}
			s.Color, s.Radius = sty.Color, vg.Points(3.5)
			s.Shape = draw.CircleGlyph{}
			c.p.Add(s)
		}
	}
	return nil
}
