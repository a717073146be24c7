package scale

import (
	"bufio"
	"fmt"
	"html"
	"io"
	"math"
	"strings"
	"time"
)

// Plot geometry, in SVG user units.
const (
	plotWidth   = 1200
	plotLeft    = 80  // room for the y-axis labels
	plotRight   = 20  //
	plotTop     = 50  // room for the title and legend
	rateHeight  = 330 // the rate panel
	panelGap    = 50  // room for the time labels between the panels
	lagHeight   = 150 // the lag panel
	plotBottom  = 40
	plotHeight  = plotTop + rateHeight + panelGap + lagHeight + plotBottom
	innerWidth  = plotWidth - plotLeft - plotRight
	maxColumns  = innerWidth // points per series drawn; more are merged by their maximum
	labelMargin = 6
)

// The series' colours.
const (
	colourRate     = "#1f77b4"
	colourForecast = "#ff7f0e"
	colourCapacity = "#2ca02c"
	colourLag      = "#d62728"
	colourGrid     = "#dddddd"
)

// WriteSVG draws a simulation as an SVG: above, the arriving rate, the forecast made one
// horizon earlier (mean dashed, upper bound dotted) and the serving capacity (workers ×
// capacity per worker); below, the lag against the SLO. title heads the picture. A long
// run is merged to one point per horizontal unit, keeping each column's maximum so no surge
// or lag spike disappears.
func WriteSVG(w io.Writer, res Result, title string) error {
	s := res.Series
	if len(s) == 0 {
		return fmt.Errorf("scale: plot: no steps to draw")
	}
	bw := bufio.NewWriter(w)
	p := func(format string, args ...any) { fmt.Fprintf(bw, format, args...) }
	p(`<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n",
		plotWidth, plotHeight, plotWidth, plotHeight)
	p(`<rect width="100%%" height="100%%" fill="white"/>` + "\n")
	p(`<text x="%d" y="20" font-size="15" font-weight="bold">%s</text>`+"\n", plotLeft, html.EscapeString(title))

	first, last := s[0].Time, s[len(s)-1].Time
	span := last.Sub(first)
	if span <= 0 {
		span = time.Second
	}
	x := func(t time.Time) float64 { return plotLeft + innerWidth*float64(t.Sub(first))/float64(span) }

	rate := column(s, func(st Step) float64 { return st.Rate })
	mean := column(s, func(st Step) float64 { return st.ForecastMean })
	hi := column(s, func(st Step) float64 { return st.ForecastHi })
	capa := column(s, func(st Step) float64 { return st.Capacity })
	lag := column(s, func(st Step) float64 { return st.LagS })

	// The rate panel.
	top := maxOf(rate, hi, capa)
	rateTicks := ticks(top)
	rateTop := rateTicks[len(rateTicks)-1]
	yRate := func(v float64) float64 { return plotTop + rateHeight*(1-v/rateTop) }
	axes(p, plotTop, rateHeight, rateTicks, yRate, func(v float64) string { return fmtRate(v) })
	timeAxis(p, first, last, plotTop+rateHeight, x)
	polyline(p, rate, x, yRate, colourRate, "")
	polyline(p, capa, x, yRate, colourCapacity, "")
	polyline(p, mean, x, yRate, colourForecast, `stroke-dasharray="6 3"`)
	polyline(p, hi, x, yRate, colourForecast, `stroke-dasharray="2 3"`)

	// The lag panel.
	lagPanel := plotTop + rateHeight + panelGap
	lagTicks := ticks(math.Max(maxOf(lag), 1.5*res.SLOLagS))
	lagTop := lagTicks[len(lagTicks)-1]
	yLag := func(v float64) float64 { return float64(lagPanel) + lagHeight*(1-v/lagTop) }
	axes(p, lagPanel, lagHeight, lagTicks, yLag, func(v float64) string { return fmt.Sprintf("%gs", v) })
	timeAxis(p, first, last, lagPanel+lagHeight, x)
	if res.SLOLagS > 0 {
		y := yLag(res.SLOLagS)
		p(`<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="%s" stroke-dasharray="4 4"/>`+"\n", plotLeft, y, plotLeft+innerWidth, y, colourLag)
		p(`<text x="%d" y="%.1f" text-anchor="end" fill="%s">SLO %gs</text>`+"\n", plotLeft+innerWidth-labelMargin, y-labelMargin, colourLag, res.SLOLagS)
	}
	polyline(p, lag, x, yLag, colourLag, "")
	p(`<text x="%d" y="%d" font-weight="bold">lag (backlog ÷ capacity)</text>`+"\n", plotLeft+labelMargin, lagPanel-labelMargin)

	// The legend and the summary.
	lx := plotLeft
	for _, e := range []struct{ label, colour, dash string }{
		{"input rate", colourRate, ""},
		{"forecast mean", colourForecast, `stroke-dasharray="6 3"`},
		{"forecast upper bound", colourForecast, `stroke-dasharray="2 3"`},
		{"workers × capacity", colourCapacity, ""},
	} {
		p(`<line x1="%d" y1="38" x2="%d" y2="38" stroke="%s" stroke-width="2" %s/>`+"\n", lx, lx+24, e.colour, e.dash)
		p(`<text x="%d" y="42">%s</text>`+"\n", lx+30, e.label)
		lx += 40 + 8*len(e.label)
	}
	p(`<text x="%d" y="20" text-anchor="end">%s policy: %g SLO-violation minutes, %.0f worker-minutes, max lag %gs, %d scale events</text>`+"\n",
		plotWidth-plotRight, html.EscapeString(res.Policy), res.SLOViolationMinutes, res.WorkerMinutes, res.MaxLagS, res.ScaleEvents)
	p("</svg>\n")
	return bw.Flush()
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

// axes draws a panel's frame, its horizontal grid lines and their labels.
func axes(p func(string, ...any), top, height int, ticks []float64, y func(float64) float64, label func(float64) string) {
	for _, v := range ticks {
		yy := y(v)
		p(`<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="%s"/>`+"\n", plotLeft, yy, plotLeft+innerWidth, yy, colourGrid)
		p(`<text x="%d" y="%.1f" text-anchor="end">%s</text>`+"\n", plotLeft-labelMargin, yy+4, label(v))
	}
	p(`<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="black"/>`+"\n", plotLeft, top, innerWidth, height)
}

// timeAxis labels the time under a panel: days for a run of more than two days, hours
// otherwise.
func timeAxis(p func(string, ...any), first, last time.Time, bottom int, x func(time.Time) float64) {
	span := last.Sub(first)
	every, layout := time.Hour, "15:04"
	switch {
	case span > 14*24*time.Hour:
		every, layout = 2*24*time.Hour, "Jan 2"
	case span > 2*24*time.Hour:
		every, layout = 24*time.Hour, "Mon Jan 2"
	case span > 12*time.Hour:
		every = 3 * time.Hour
	}
	for t := first.Truncate(every); !t.After(last); t = t.Add(every) {
		if t.Before(first) {
			continue
		}
		xx := x(t)
		p(`<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="black"/>`+"\n", xx, bottom, xx, bottom+4)
		p(`<text x="%.1f" y="%d" text-anchor="middle">%s</text>`+"\n", xx, bottom+16, t.UTC().Format(layout))
	}
}

// polyline draws a series, broken where it is NaN.
func polyline(p func(string, ...any), s []point, x func(time.Time) float64, y func(float64) float64, colour, extra string) {
	var b strings.Builder
	flush := func() {
		if b.Len() > 0 {
			p(`<polyline fill="none" stroke="%s" stroke-width="1.5" %s points="%s"/>`+"\n", colour, extra, strings.TrimSpace(b.String()))
			b.Reset()
		}
	}
	for _, pt := range s {
		if math.IsNaN(pt.v) || math.IsInf(pt.v, 0) {
			flush()
			continue
		}
		fmt.Fprintf(&b, "%.1f,%.1f ", x(pt.t), y(pt.v))
	}
	flush()
}
