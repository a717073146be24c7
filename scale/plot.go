package scale

import (
	"fmt"
	"image/color"
	"io"
	"math"
	"path/filepath"
	"strings"
	"time"

	xfont "golang.org/x/image/font"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Plot geometry, in points (1/72 inch). A PNG is drawn at 96 dots per inch, so the picture
// is 1200 × 640 pixels.
const (
	plotWidth  = 900
	plotHeight = 480
	plotMargin = 8  // around the whole picture
	headerSize = 44 // the title, the summary and the legend above the panels
	rateShare  = 0.64
	maxColumns = 1200 // points per series drawn; more are merged by their maximum
)

// The series' colours.
var (
	colourRate     = color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff}
	colourForecast = color.RGBA{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff}
	colourCapacity = color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff}
	colourLag      = color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff}
	colourGrid     = color.RGBA{R: 0xdd, G: 0xdd, B: 0xdd, A: 0xff}
)

// PlotFormat returns the format WritePlot draws for a file named path, from its extension in
// any case: "png" or "svg". ok is false for any other extension.
func PlotFormat(path string) (format string, ok bool) {
	switch f := strings.ToLower(strings.TrimPrefix(filepath.Ext(path), ".")); f {
	case "png", "svg":
		return f, true
	}
	return "", false
}

// WritePlot draws a simulation as a PNG or an SVG, as format ("png" or "svg") says: above,
// the arriving rate, the forecast made one horizon earlier (mean dashed, upper bound dotted)
// and the serving capacity (workers × capacity per worker); below, the lag against the SLO;
// time, in UTC, across both. title heads the picture, beside a summary of the run. A long
// run is merged to at most 1200 points per series, each the maximum of the steps it stands
// for, so no surge or lag spike disappears.
func WritePlot(w io.Writer, res Result, title, format string) error {
	if len(res.Series) == 0 {
		return fmt.Errorf("scale: plot: no steps to draw")
	}
	var c vg.CanvasWriterTo
	switch format {
	case "png":
		c = vgimg.PngCanvas{Canvas: vgimg.NewWith(vgimg.UseWH(plotWidth, plotHeight), vgimg.UseBackgroundColor(color.White))}
	case "svg":
		c = vgsvg.New(plotWidth, plotHeight)
	default:
		return fmt.Errorf("scale: plot: format %q: want png or svg", format)
	}
	drawPlot(draw.New(c), res, title)
	if _, err := c.WriteTo(w); err != nil {
		return fmt.Errorf("scale: plot: write %s: %w", format, err)
	}
	return nil
}

// legendEntry is one entry of the legend above the panels.
type legendEntry struct {
	label string
	thumb plot.Thumbnailer
}

// drawPlot draws the header and the two panels of res onto dc.
func drawPlot(dc draw.Canvas, res Result, title string) {
	s := res.Series
	dc.SetColor(color.White)
	dc.Fill(dc.Path())
	dc = draw.Crop(dc, plotMargin, -plotMargin, plotMargin, -plotMargin)

	rate := column(s, func(st Step) float64 { return st.Rate })
	mean := column(s, func(st Step) float64 { return st.ForecastMean })
	hi := column(s, func(st Step) float64 { return st.ForecastHi })
	capa := column(s, func(st Step) float64 { return st.Capacity })
	lag := column(s, func(st Step) float64 { return st.LagS })
	first, last := unix(s[0].Time), unix(s[len(s)-1].Time)
	if last <= first {
		last = first + 1
	}

	// The rate panel, the input rate drawn last so that the forecasts, which mostly follow
	// it, do not hide it.
	rp := newPanel(first, last, "rate", ticks(maxOf(rate, hi, capa)), fmtRate)
	rateStyle := draw.LineStyle{Color: colourRate, Width: 1}
	legend := []legendEntry{{"input rate", &plotter.Line{LineStyle: rateStyle}}}
	for _, l := range []struct {
		label  string
		s      []point
		colour color.Color
		dashes []vg.Length
	}{
		{"workers × capacity", capa, colourCapacity, nil},
		{"forecast mean", mean, colourForecast, []vg.Length{6, 3}},
		{"forecast upper bound", hi, colourForecast, []vg.Length{2, 3}},
	} {
		sty := draw.LineStyle{Color: l.colour, Width: 1, Dashes: l.dashes}
		addLine(rp, l.s, sty)
		legend = append(legend, legendEntry{l.label, &plotter.Line{LineStyle: sty}})
	}
	addLine(rp, rate, rateStyle)

	// The lag panel.
	lp := newPanel(first, last, "lag", ticks(math.Max(maxOf(lag), 1.5*res.SLOLagS)), func(v float64) string { return fmt.Sprintf("%gs", v) })
	lagStyle := draw.LineStyle{Color: colourLag, Width: 1}
	sloStyle := draw.LineStyle{Color: colourLag, Width: 1, Dashes: []vg.Length{4, 4}}
	if res.SLOLagS > 0 {
		lp.Add(&plotter.Line{XYs: plotter.XYs{{X: first, Y: res.SLOLagS}, {X: last, Y: res.SLOLagS}}, LineStyle: sloStyle})
	}
	addLine(lp, lag, lagStyle)
	legend = append(legend, legendEntry{"lag (backlog ÷ capacity)", &plotter.Line{LineStyle: lagStyle}})
	if res.SLOLagS > 0 {
		legend = append(legend, legendEntry{fmt.Sprintf("SLO %gs", res.SLOLagS), &plotter.Line{LineStyle: sloStyle}})
	}

	body := draw.Crop(dc, 0, 0, 0, -headerSize)
	split := body.Min.Y + vg.Length(1-rateShare)*body.Size().Y
	rc := draw.Crop(body, 0, 0, split-body.Min.Y, 0)
	lc := draw.Crop(body, 0, 0, 0, split-body.Max.Y)
	alignData([]*plot.Plot{rp, lp}, []*draw.Canvas{&rc, &lc})
	rp.Draw(rc)
	lp.Draw(lc)

	// The header, its legend starting where the panels' data does.
	th := rp.TextHandler
	top := dc.Max.Y
	dc.FillText(text.Style{Color: color.Black, Font: sans(13, true), YAlign: draw.YTop, Handler: th},
		vg.Point{X: dc.Min.X, Y: top}, title)
	dc.FillText(text.Style{Color: color.Black, Font: sans(10, false), XAlign: draw.XRight, YAlign: draw.YTop, Handler: th},
		vg.Point{X: dc.Max.X, Y: top},
		fmt.Sprintf("%s policy: %g SLO-violation minutes, %.0f worker-minutes, max lag %gs, %d scale events",
			res.Policy, res.SLOViolationMinutes, res.WorkerMinutes, res.MaxLagS, res.ScaleEvents))
	legendSty := text.Style{Color: color.Black, Font: sans(10, false), YAlign: draw.YCenter, Handler: th}
	drawLegend(dc, legendSty, rp.DataCanvas(rc).Min.X, top-30, legend)
}

// newPanel returns a plot over [first, last] Unix seconds whose y axis, named name, runs
// from 0 to the last of yTicks, each labelled by label.
func newPanel(first, last float64, name string, yTicks []float64, label func(float64) string) *plot.Plot {
	p := plot.New()
	p.X.Min, p.X.Max = first, last
	p.X.Tick.Marker = timeTicks{}
	p.Y.Min, p.Y.Max = 0, yTicks[len(yTicks)-1]
	marks := make(plot.ConstantTicks, len(yTicks))
	for i, v := range yTicks {
		marks[i] = plot.Tick{Value: v, Label: label(v)}
	}
	p.Y.Tick.Marker = marks
	p.Y.Label.Text = name
	for _, sty := range []*text.Style{&p.X.Tick.Label, &p.Y.Tick.Label, &p.Y.Label.TextStyle} {
		sty.Font = sans(10, false)
	}
	p.Y.Label.TextStyle.Font = sans(11, true)
	grid := plotter.NewGrid()
	grid.Horizontal.Color, grid.Vertical.Color = colourGrid, colourGrid
	grid.Horizontal.Width, grid.Vertical.Width = 0.75, 0.75
	p.Add(grid)
	return p
}

// addLine adds s to p as lines broken where s is NaN or infinite, and keeps p's axes as set.
func addLine(p *plot.Plot, s []point, sty draw.LineStyle) {
	var seg plotter.XYs
	flush := func() {
		if len(seg) > 0 {
			p.Add(&plotter.Line{XYs: seg, LineStyle: sty})
			seg = nil
		}
	}
	for _, pt := range s {
		if math.IsNaN(pt.v) || math.IsInf(pt.v, 0) {
			flush()
			continue
		}
		seg = append(seg, plotter.XY{X: unix(pt.t), Y: pt.v})
	}
	flush()
}

// alignData crops each canvas so that the data areas of the plots drawn onto them share
// their left and right edges, whatever the widths of their axis labels.
func alignData(ps []*plot.Plot, cs []*draw.Canvas) {
	left, right := make([]vg.Length, len(ps)), make([]vg.Length, len(ps))
	var maxLeft, maxRight vg.Length
	for i, p := range ps {
		d := p.DataCanvas(*cs[i])
		left[i], right[i] = d.Min.X-cs[i].Min.X, cs[i].Max.X-d.Max.X
		maxLeft, maxRight = max(maxLeft, left[i]), max(maxRight, right[i])
	}
	for i, c := range cs {
		*c = draw.Crop(*c, maxLeft-left[i], right[i]-maxRight, 0, 0)
	}
}

// drawLegend draws the entries in one row from x, centred on y.
func drawLegend(c draw.Canvas, sty text.Style, x, y vg.Length, entries []legendEntry) {
	const thumbWidth, gap = 24, 16
	h := sty.Height("M")
	for _, e := range entries {
		thumb := draw.Canvas{Canvas: c.Canvas, Rectangle: vg.Rectangle{
			Min: vg.Point{X: x, Y: y - h/2}, Max: vg.Point{X: x + thumbWidth, Y: y + h/2}}}
		e.thumb.Thumbnail(&thumb)
		x += thumbWidth + 4
		c.FillText(sty, vg.Point{X: x, Y: y}, e.label)
		x += sty.Width(e.label) + gap
	}
}

// sans returns Liberation Sans of the given size, in points.
func sans(size vg.Length, bold bool) font.Font {
	f := font.Font{Typeface: "Liberation", Variant: "Sans"}
	if bold {
		f.Weight = xfont.WeightBold
	}
	return font.From(f, size)
}

// unix returns t in Unix seconds, the x coordinate of the panels.
func unix(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }

// timeTicks marks a time axis in Unix seconds at round times of UTC: days for a run of more
// than two days, hours or quarter hours otherwise.
type timeTicks struct{}

// Ticks implements plot.Ticker.
func (timeTicks) Ticks(lo, hi float64) []plot.Tick {
	first, last := time.Unix(0, int64(lo*1e9)).UTC(), time.Unix(0, int64(hi*1e9)).UTC()
	span := last.Sub(first)
	every, layout := 15*time.Minute, "15:04"
	switch {
	case span > 14*24*time.Hour:
		every, layout = 2*24*time.Hour, "Jan 2"
	case span > 2*24*time.Hour:
		every, layout = 24*time.Hour, "Mon Jan 2"
	case span > 12*time.Hour:
		every = 3 * time.Hour
	case span > 3*time.Hour:
		every = time.Hour
	}
	var out []plot.Tick
	for t := first.Truncate(every); !t.After(last); t = t.Add(every) {
		if !t.Before(first) {
			out = append(out, plot.Tick{Value: unix(t), Label: t.Format(layout)})
		}
	}
	return out
}

// point is one drawn point of a series.
type point struct {
	t time.Time
	v float64
}

// column merges s into at most maxColumns points of v, each the maximum of its column
// (NaN where every value is NaN).
func column(s []Step, v func(Step) float64) []point {
	per := (len(s) + maxColumns - 1) / maxColumns
	out := make([]point, 0, len(s)/per+1)
	for i := 0; i < len(s); i += per {
		m := math.NaN()
		for _, st := range s[i:min(i+per, len(s))] {
			if x := v(st); !math.IsNaN(x) && (math.IsNaN(m) || x > m) {
				m = x
			}
		}
		out = append(out, point{s[i].Time, m})
	}
	return out
}

func maxOf(series ...[]point) float64 {
	m := 0.0
	for _, s := range series {
		for _, p := range s {
			if p.v > m && !math.IsInf(p.v, 0) {
				m = p.v
			}
		}
	}
	return m
}

// ticks returns 0 and 4 to 10 round steps up to at least top.
func ticks(top float64) []float64 {
	if !(top > 0) {
		top = 1
	}
	step := math.Pow(10, math.Floor(math.Log10(top/5)))
	for _, f := range []float64{1, 2, 5, 10} {
		if top/(step*f) <= 8 {
			step *= f
			break
		}
	}
	var out []float64
	for v := 0.0; ; v += step {
		out = append(out, v)
		if v >= top {
			return out
		}
	}
}
