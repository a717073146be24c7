package scale

import (
	"bytes"
	"encoding/xml"
	"image"
	"image/png"
	"io"
	"strings"
	"testing"
	"time"
)

// weekResult is the predictive policy's run over the shipped week with nightly surges,
// forecast by Holt-Winters, which is late on the first two nights: a run with a forecast
// and a lag to draw.
func weekResult(t *testing.T) Result {
	t.Helper()
	cfg := DefaultSimConfig()
	cfg.Policy.Mode = Predictive
	cfg.Model = ModelHoltWinters
	res, err := Simulate(WeekWithNightlySurge(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestWritePlotDrawsAPNG(t *testing.T) {
	var b bytes.Buffer
	if err := WritePlot(&b, weekResult(t), "week-nightly-surge.csv", "png"); err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(&b)
	if err != nil {
		t.Fatalf("not a PNG: %v", err)
	}
	if got := img.Bounds().Size(); got != (image.Point{X: 1200, Y: 640}) {
		t.Errorf("size %v, want 1200×640", got)
	}
	// Each series is drawn in its own colour; count the pixels of each, anti-aliasing aside.
	for _, c := range []struct {
		name   string
		colour [3]uint32
		least  int
	}{
		{"input rate", rgb(colourRate), 500},
		{"workers × capacity", rgb(colourCapacity), 500},
		{"forecast", rgb(colourForecast), 300},
		{"lag", rgb(colourLag), 300},
	} {
		if n := pixelsNear(img, c.colour); n < c.least {
			t.Errorf("%d pixels of the %s colour, want at least %d", n, c.name, c.least)
		}
	}
	if white := pixelsNear(img, [3]uint32{0xff, 0xff, 0xff}); white < 1200*640/2 {
		t.Errorf("%d white pixels: the background should be white", white)
	}
}

// rgb returns c's 8-bit red, green and blue.
func rgb(c interface{ RGBA() (r, g, b, a uint32) }) [3]uint32 {
	r, g, b, _ := c.RGBA()
	return [3]uint32{r >> 8, g >> 8, b >> 8}
}

// pixelsNear counts the pixels of img within a few levels of want in every channel.
func pixelsNear(img image.Image, want [3]uint32) int {
	n := 0
	for y := img.Bounds().Min.Y; y < img.Bounds().Max.Y; y++ {
		for x := img.Bounds().Min.X; x < img.Bounds().Max.X; x++ {
			got := rgb(img.At(x, y))
			near := true
			for i := range got {
				if max(got[i], want[i])-min(got[i], want[i]) > 16 {
					near = false
				}
			}
			if near {
				n++
			}
		}
	}
	return n
}

func TestWritePlotDrawsAnSVGWithItsTitleAndLegend(t *testing.T) {
	var b bytes.Buffer
	if err := WritePlot(&b, weekResult(t), "week-nightly-surge.csv <predictive>", "svg"); err != nil {
		t.Fatal(err)
	}
	svg := b.String()
	d := xml.NewDecoder(strings.NewReader(svg))
	paths, inText := 0, false
	var texts []string
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed XML: %v", err)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			switch tok.Name.Local {
			case "path":
				paths++
			case "text":
				inText = true
			}
		case xml.EndElement:
			inText = false
		case xml.CharData:
			if inText {
				texts = append(texts, string(tok))
			}
		}
	}
	if paths < 7 {
		t.Errorf("%d paths, want at least one per series and the SLO", paths)
	}
	all := strings.Join(texts, "\n")
	for _, want := range []string{"week-nightly-surge.csv <predictive>", "predictive policy:",
		"input rate", "forecast mean", "forecast upper bound", "workers × capacity",
		"lag (backlog ÷ capacity)", "SLO 30s", "Mon Jan 1", "Sun Jan 7", "20k/s", "30s"} {
		if !strings.Contains(all, want) {
			t.Errorf("the plot has no text %q", want)
		}
	}
	if strings.Contains(svg, "NaN") || strings.Contains(svg, "Inf") {
		t.Error("the plot has NaN or Inf coordinates")
	}
	if len(svg) > 400_000 {
		t.Errorf("the plot is %d bytes: long runs should be merged to columns", len(svg))
	}
}

func TestWritePlotRefusesAnEmptyRunAndOtherFormats(t *testing.T) {
	if err := WritePlot(io.Discard, Result{}, "empty", "png"); err == nil {
		t.Error("no error for an empty run")
	}
	err := WritePlot(io.Discard, weekResult(t), "week", "jpeg")
	if err == nil || !strings.Contains(err.Error(), `format "jpeg": want png or svg`) {
		t.Errorf("jpeg: %v, want an error naming png and svg", err)
	}
}

func TestPlotFormatFollowsTheExtension(t *testing.T) {
	for path, want := range map[string]string{
		"week.png": "png", "out/Week.PNG": "png", "week.svg": "svg", "week.jpg": "", "week": "", "png": "",
	} {
		got, ok := PlotFormat(path)
		if got != want || ok != (want != "") {
			t.Errorf("PlotFormat(%q) = %q, %v; want %q", path, got, ok, want)
		}
	}
}

func TestColumnKeepsEachColumnsMaximum(t *testing.T) {
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	s := make([]Step, 3*maxColumns)
	for i := range s {
		s[i] = Step{Time: start.Add(time.Duration(i) * time.Minute), Rate: 1}
	}
	s[3*17+2].Rate = 99 // a one-step spike in the middle of the 18th column
	got := column(s, func(st Step) float64 { return st.Rate })
	if len(got) != maxColumns {
		t.Fatalf("%d points, want %d", len(got), maxColumns)
	}
	if got[17].v != 99 || got[16].v != 1 || !got[17].t.Equal(s[3*17].Time) {
		t.Errorf("columns 16, 17: %+v %+v; want the spike kept in its column", got[16], got[17])
	}
}

func TestTimeTicksAreRoundUTC(t *testing.T) {
	start := time.Date(2024, 1, 1, 0, 30, 0, 0, time.UTC)
	for _, c := range []struct {
		span  time.Duration
		first string
		n     int
	}{
		{7 * 24 * time.Hour, "Tue Jan 2", 7},
		{30 * 24 * time.Hour, "Jan 2", 15},
		{24 * time.Hour, "03:00", 8},
		{6 * time.Hour, "01:00", 6},
		{time.Hour, "00:30", 5},
	} {
		got := timeTicks{}.Ticks(unix(start), unix(start.Add(c.span)))
		if len(got) != c.n || got[0].Label != c.first {
			t.Errorf("%v: %d ticks from %+v, want %d from %q", c.span, len(got), got[0], c.n, c.first)
		}
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
