package main

import (
	"encoding/json"
	"errors"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestScaleSimulatePrintsTheSummaryAndPlots(t *testing.T) {
	plot := filepath.Join(t.TempDir(), "week.svg")
	trace := filepath.Join("..", "..", "examples", "traces", "week-nightly-surge.csv")
	out := mustRun(t, "scale", "simulate", "--trace", trace, "--policy", "predictive", "--plot", plot, "--decisions")
	var got struct {
		Policy              string   `json:"policy"`
		SLOViolationMinutes *float64 `json:"slo_violation_minutes"`
		WorkerMinutes       float64  `json:"worker_minutes"`
		MaxLagS             *float64 `json:"max_lag_s"`
		ScaleEvents         int      `json:"scale_events"`
		Decisions           []struct {
			At      string `json:"at"`
			Workers int    `json:"workers"`
			Reason  string `json:"reason"`
		} `json:"decisions"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v in %s", err, out)
	}
	if got.Policy != "predictive" || got.SLOViolationMinutes == nil || got.MaxLagS == nil || got.WorkerMinutes <= 0 || got.ScaleEvents == 0 {
		t.Errorf("summary %s", out)
	}
	if len(got.Decisions) != got.ScaleEvents || !strings.Contains(out, "forecast") {
		t.Errorf("%d decisions for %d scale events, or none names the forecast", len(got.Decisions), got.ScaleEvents)
	}
	svg, err := os.ReadFile(plot)
	if err != nil || !strings.Contains(string(svg), "<svg") || !strings.Contains(string(svg), "week-nightly-surge.csv") {
		t.Errorf("plot: %v, %.200q", err, svg)
	}
}

func TestScaleSimulatePlotsAPNG(t *testing.T) {
	plot := filepath.Join(t.TempDir(), "week.PNG")
	trace := filepath.Join("..", "..", "examples", "traces", "week-nightly-surge.csv")
	mustRun(t, "scale", "simulate", "--trace", trace, "--policy", "reactive", "--plot", plot)
	fh, err := os.Open(plot)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = fh.Close() }()
	img, err := png.Decode(fh)
	if err != nil {
		t.Fatalf("%s is not a PNG: %v", plot, err)
	}
	if got := img.Bounds().Size(); got.X < 800 || got.Y < 400 {
		t.Errorf("%s is %v, too small to read", plot, got)
	}
	// The input rate is drawn in blue, the lag in red: count the pixels of each.
	var blue, red int
	for y := img.Bounds().Min.Y; y < img.Bounds().Max.Y; y++ {
		for x := img.Bounds().Min.X; x < img.Bounds().Max.X; x++ {
			r, g, b, _ := img.At(x, y).RGBA()
			r, g, b = r>>8, g>>8, b>>8
			switch {
			case b > r+0x60 && b > g+0x20:
				blue++
			case r > g+0x90 && r > b+0x90: // not the orange forecast
				red++
			}
		}
	}
	if blue < 500 || red < 300 {
		t.Errorf("%s has %d blue and %d red pixels: the rate or the lag is not drawn", plot, blue, red)
	}
}

func TestScaleSimulateUsageErrors(t *testing.T) {
	trace := filepath.Join("..", "..", "examples", "traces", "month-end.csv")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{}, "--trace FILE.csv is required"},
		{[]string{"--trace", trace, "--policy", "eager"}, `--policy "eager": want reactive or predictive`},
		{[]string{"--trace", trace, "--season", "daily"}, `--season "daily"`},
		{[]string{"--trace", trace, "--plot", "out.jpg"}, `--plot "out.jpg": name the file .png or .svg`},
		{[]string{"--trace", trace, "--min", "10", "--max", "5"}, "max workers 5 is below min 10"},
		{[]string{"--trace", trace, "--target-utilization", "1.5"}, "target utilisation 1.5"},
		{[]string{"--trace", trace, "--startup", "soon"}, "invalid argument"},
	} {
		_, err := run(t, append([]string{"scale", "simulate"}, c.args...)...)
		var u usageError
		if err == nil || !errors.As(err, &u) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: error %v, want a usage error with %q", c.args, err, c.want)
		}
	}
	bad := filepath.Join(t.TempDir(), "bad.csv")
	if err := os.WriteFile(bad, []byte("time,rate\n2024-01-01T00:00:00Z,1\n2024-01-01T00:01:00Z,x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := run(t, "scale", "simulate", "--trace", bad)
	var u usageError
	if err == nil || errors.As(err, &u) || !strings.Contains(err.Error(), "bad.csv:3: rate \"x\"") {
		t.Errorf("bad trace: %v, want a data error naming bad.csv:3", err)
	}
}
