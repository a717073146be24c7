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

func TestScaleSimulateListsEachSurgeAgainstReactive(t *testing.T) {
	trace := filepath.Join("..", "..", "examples", "traces", "month-end.csv")
	calendar := filepath.Join("..", "..", "examples", "traces", "month-end.calendar.yaml")
	out := mustRun(t, "scale", "simulate", "--trace", trace, "--policy", "predictive", "--calendar", calendar, "--decisions")
	type surge struct {
		Start     string   `json:"start"`
		Repeat    bool     `json:"repeat"`
		LeadS     *float64 `json:"lead_s"`
		Violation float64  `json:"slo_violation_minutes"`
	}
	var got struct {
		Model         string  `json:"model"`
		Violation     float64 `json:"slo_violation_minutes"`
		WorkerMinutes float64 `json:"worker_minutes"`
		Surges        []surge `json:"surges"`
		Reactive      struct {
			Violation     float64 `json:"slo_violation_minutes"`
			WorkerMinutes float64 `json:"worker_minutes"`
			Surges        []surge `json:"surges"`
		} `json:"reactive"`
		Decisions []struct {
			At     string `json:"at"`
			Reason string `json:"reason"`
		} `json:"decisions"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v in %.500s", err, out)
	}
	if got.Model != "auto" || len(got.Surges) != 6 || len(got.Reactive.Surges) != 6 || got.Reactive.Violation <= got.Violation {
		t.Fatalf("model %q, %d surges, %d reactive, violation minutes %v against %v reactive", got.Model, len(got.Surges),
			len(got.Reactive.Surges), got.Violation, got.Reactive.Violation)
	}
	for i, s := range got.Surges {
		if s.Repeat && (s.Violation != 0 || s.LeadS == nil || *s.LeadS < 0 || got.Reactive.Surges[i].Violation == 0) {
			t.Errorf("recurring surge %+v, reactive %+v", s, got.Reactive.Surges[i])
		}
	}
	// The decision that meets the close of 29 February names the model and the event it
	// remembered from January.
	found := false
	for _, d := range got.Decisions {
		if strings.HasPrefix(d.At, "2024-02-29T16:55") {
			found = strings.Contains(d.Reason, "model profile+calendar") && strings.Contains(d.Reason, "as on Wed 2024-01-31")
			if !found {
				t.Errorf("the decision before the close: %s", d.Reason)
			}
		}
	}
	if !found {
		t.Error("no scale-up at 16:55 before the close of 29 February")
	}
}

// TestScaleDocsQuoteTheSurgeTables keeps docs/scale.md's tables what the command prints.
func TestScaleDocsQuoteTheSurgeTables(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "scale.md"))
	if err != nil {
		t.Fatal(err)
	}
	traces := filepath.Join("..", "..", "examples", "traces")
	for _, args := range [][]string{
		{"--trace", filepath.Join(traces, "week-nightly-surge.csv")},
		{"--trace", filepath.Join(traces, "month-end.csv"), "--calendar", filepath.Join(traces, "month-end.calendar.yaml")},
	} {
		out := mustRun(t, append([]string{"scale", "simulate", "--policy", "predictive", "--table"}, args...)...)
		if !strings.Contains(string(doc), out) {
			t.Errorf("docs/scale.md does not quote the table of %v:\n%s", args, out)
		}
	}
}

func TestScaleSimulateCalendarErrors(t *testing.T) {
	trace := filepath.Join("..", "..", "examples", "traces", "month-end.csv")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--model", "oracle"}, `--model "oracle"`},
		{[]string{"--paydays", "1,40"}, `--paydays "1,40": payday "40" is not a day of the month`},
		{[]string{"--holidays", "Easter"}, `--holidays "Easter"`},
		{[]string{"--rebalance-pause", "-1s"}, "rebalance pause -1s must not be negative"},
	} {
		_, err := run(t, append([]string{"scale", "simulate", "--trace", trace}, c.args...)...)
		var u usageError
		if err == nil || !errors.As(err, &u) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: error %v, want a usage error with %q", c.args, err, c.want)
		}
	}
	_, err := run(t, "scale", "simulate", "--trace", trace, "--calendar", filepath.Join(t.TempDir(), "none.yaml"))
	if err == nil || !strings.Contains(err.Error(), "none.yaml") {
		t.Errorf("a missing calendar: %v", err)
	}
}
