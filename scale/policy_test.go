package scale

import (
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// drive applies the policy once a minute to rates, treating every decision as done at once
// (no start-up delay), and returns the worker count after each decision.
func drive(p Policy, capacity float64, rates []float64, forecast func(i int) Prediction) ([]int, []Decision) {
	workers := p.Limits.Min
	var prev []Decision
	var out []int
	for i, r := range rates {
		in := Input{Now: t0.Add(time.Duration(i) * time.Minute), Workers: workers, CapacityPerWorker: capacity,
			Rate: r, Horizon: 10 * time.Minute, Startup: 2 * time.Minute}
		if forecast != nil {
			in.Forecast = forecast(i)
		}
		d := p.Decide(in, prev)
		prev = append(prev, d)
		workers = d.Workers
		out = append(out, workers)
	}
	return out, prev
}

func TestDecideDoesNotFlapOnANoisyFlatRate(t *testing.T) {
	for _, mode := range []Mode{Reactive, Predictive} {
		p := Policy{Mode: mode, Limits: DefaultLimits()}
		rates := make([]float64, 600)
		for i := range rates {
			// 14k/s ± 5%: at 100/s per worker and 70% the need moves between 190 and 210.
			rates[i] = 14000 * (1 + 0.05*float64((i*7919)%21-10)/10)
		}
		fc := func(i int) Prediction { return Prediction{Mean: 14000, Lo: 13000, Hi: 15000} }
		ws, _ := drive(p, 100, rates, fc)
		// It climbs from the minimum to the noise's peak, then stays: the window and the
		// tolerance always hold a need close to the count.
		for i := 1; i < len(ws); i++ {
			if ws[i] < ws[i-1] || (i >= 20 && ws[i] != ws[i-1]) {
				t.Fatalf("%v: minute %d: %d→%d workers on a flat rate: %v", mode, i, ws[i-1], ws[i], ws[:40])
			}
		}
	}
}

func TestDecideRespectsBounds(t *testing.T) {
	p := Policy{Mode: Predictive, Limits: DefaultLimits()}
	d := p.Decide(Input{Now: t0, Workers: 5, CapacityPerWorker: 100, Rate: 1e9}, nil)
	if d.Workers != 500 || !strings.Contains(d.Reason, "capped at max 500") {
		t.Errorf("huge rate: %+v", d)
	}
	d = p.Decide(Input{Now: t0, Workers: 5, CapacityPerWorker: 100, Rate: 0}, nil)
	if d.Workers != 5 || !strings.Contains(d.Reason, "raised to min 5") {
		t.Errorf("no rate: %+v", d)
	}
	d = p.Decide(Input{Now: t0, Workers: 5, CapacityPerWorker: 100, Forecast: Prediction{Hi: 1e12}}, nil)
	if d.Workers != 500 {
		t.Errorf("huge forecast: %+v", d)
	}
}

func TestDecideCatchesUpAfterABacklog(t *testing.T) {
	p := Policy{Mode: Reactive, Limits: DefaultLimits()}
	// 7k/s needs 100 workers at 100/s and 70%; 2.1M records drained in 5m is another 7k/s.
	d := p.Decide(Input{Now: t0, Workers: 100, CapacityPerWorker: 100, Rate: 7000, Backlog: 2.1e6}, nil)
	if d.Workers != 200 {
		t.Errorf("workers %d, want 200 (%s)", d.Workers, d.Reason)
	}
	if !strings.Contains(d.Reason, "backlog of 2.1M records drained in 5m0s") {
		t.Errorf("reason %q", d.Reason)
	}
}

func TestPredictiveScalesUpBeforeAForecastSurge(t *testing.T) {
	rates := make([]float64, 60)
	for i := range rates {
		rates[i] = 3500 // 50 workers
		if i >= 30 {
			rates[i] = 14000 // 200 workers
		}
	}
	// A perfect forecaster: the rate 10 minutes ahead.
	fc := func(i int) Prediction {
		r := rates[min(i+10, len(rates)-1)]
		return Prediction{Mean: r, Lo: r, Hi: r}
	}
	reactive, _ := drive(Policy{Mode: Reactive, Limits: DefaultLimits()}, 100, rates, fc)
	predictive, ds := drive(Policy{Mode: Predictive, Limits: DefaultLimits()}, 100, rates, fc)
	if reactive[25] != 50 || reactive[30] != 200 {
		t.Errorf("reactive at 25m and 30m: %d, %d", reactive[25], reactive[30])
	}
	if predictive[20] != 200 {
		t.Errorf("predictive at 20m: %d workers, want 200 ahead of the surge", predictive[20])
	}
	want := "scale up 50→200: forecast 14k/s at 00:30 needs 200 workers at 70% utilisation"
	if ds[20].Reason != want {
		t.Errorf("reason %q\nwant   %q", ds[20].Reason, want)
	}
}

func TestPredictiveSizesTheUpperBoundAtFullCapacity(t *testing.T) {
	p := Policy{Mode: Predictive, Limits: DefaultLimits()}
	in := Input{Now: t0, Workers: 50, CapacityPerWorker: 100, Rate: 3500, Horizon: 5 * time.Minute}
	// A mean of 4.2k/s needs 60 workers at 70%; an upper bound of 5.5k/s fits 60 at 100%.
	in.Forecast = Prediction{Mean: 4200, Lo: 2900, Hi: 5500}
	if d := p.Decide(in, nil); d.Workers != 60 || d.Reason != "scale up 50→60: forecast 4.2k/s at 00:05 needs 60 workers at 70% utilisation" {
		t.Errorf("%+v", d)
	}
	// An upper bound of 8k/s needs 80 at full capacity.
	in.Forecast = Prediction{Mean: 4200, Lo: 400, Hi: 8000}
	if d := p.Decide(in, nil); d.Workers != 80 || d.Reason != "scale up 50→80: forecast upper bound 8k/s at 00:05 needs 80 workers at full capacity" {
		t.Errorf("%+v", d)
	}
	in.Startup = 10 * time.Minute
	if d := p.Decide(in, nil); !strings.HasSuffix(d.Reason, "(the 5m0s horizon is shorter than the 10m0s start-up: workers started now serve late)") {
		t.Errorf("no word of a horizon shorter than the start-up: %q", d.Reason)
	}
	// Reactive reads no forecast.
	if d := (Policy{Mode: Reactive, Limits: DefaultLimits()}).Decide(in, nil); d.Workers != 50 {
		t.Errorf("reactive: %+v", d)
	}
}

func TestScaleDownWaitsForTheWindowAndStepsDown(t *testing.T) {
	rates := make([]float64, 60)
	for i := range rates {
		rates[i] = 14000 // 200 workers
		if i >= 10 {
			rates[i] = 700 // 10 workers
		}
	}
	ws, ds := drive(Policy{Mode: Reactive, Limits: DefaultLimits()}, 100, rates, nil)
	for i := 10; i < 19; i++ { // the last need of 200 was at minute 9
		if ws[i] != 200 {
			t.Fatalf("minute %d: %d workers, want 200 held through the scale-down window (%s)", i, ws[i], ds[i].Reason)
		}
	}
	if ws[19] != 180 || ws[20] != 162 {
		t.Errorf("minutes 19-20: %v, want 180, 162 (10%% steps after the window)", ws[19:21])
	}
	if want := "scale down 200→180: rate 700/s needs 10 workers at 70% utilisation (at most 20 given back per decision)"; ds[19].Reason != want {
		t.Errorf("reason %q\nwant   %q", ds[19].Reason, want)
	}
	// 11 stays: 10 is within the 10% tolerance of it.
	if ws[len(ws)-1] != 11 {
		t.Errorf("after 50 minutes: %d workers, want 11", ws[len(ws)-1])
	}
	for i := 1; i < len(ws); i++ {
		if ws[i] > ws[i-1] && i > 1 {
			t.Errorf("minute %d: scaled up %d→%d on a falling rate", i, ws[i-1], ws[i])
		}
	}
}

func TestLimitsValidate(t *testing.T) {
	if err := DefaultLimits().Validate(); err != nil {
		t.Fatal(err)
	}
	l := DefaultLimits()
	l.Max = 3
	if err := l.Validate(); err == nil || !strings.Contains(err.Error(), "max workers 3 is below min 5") {
		t.Errorf("err %v", err)
	}
	if _, err := ParseMode("eager"); err == nil {
		t.Error("ParseMode accepted eager")
	}
}

func TestRestartCostIgnoresABlip(t *testing.T) {
	lim := DefaultLimits()
	lim.RestartCost = 30 * time.Second
	p := Policy{Mode: Reactive, Limits: lim}
	// 7k/s needs 100 workers of 100/s at 70%; 14k/s needs 200. Decisions every 10 s.
	workers := 100
	var prev []Decision
	decide := func(i int, rate float64) Decision {
		d := p.Decide(Input{Now: t0.Add(time.Duration(i) * 10 * time.Second), Workers: workers, CapacityPerWorker: 100,
			Rate: rate, Step: 10 * time.Second}, prev)
		prev = append(prev, d)
		workers = d.Workers
		return d
	}
	decide(0, 7000)
	// A 10-second blip, then two 10-second steps back at 7k/s: nothing changes.
	if d := decide(1, 14000); d.Workers != 100 ||
		!strings.HasPrefix(d.Reason, "hold 100: rate 14k/s needs 200 workers at 70% utilisation, but only for 10s so far, less than the 30s restart cost") {
		t.Errorf("blip: %+v", d)
	}
	decide(2, 7000)
	// A lasting surge: held for 10 s, 20 s, then 30 s, when it is worth its cost.
	for i, want := range []int{100, 100, 200} {
		if d := decide(3+i, 14000); d.Workers != want {
			t.Errorf("%ds into the surge: %d workers, want %d (%s)", 10*(i+1), d.Workers, want, d.Reason)
		}
	}
	// Without a step the cost is not judged: the first decision scales.
	if d := p.Decide(Input{Now: t0, Workers: 100, CapacityPerWorker: 100, Rate: 14000}, nil); d.Workers != 200 {
		t.Errorf("no step: %+v", d)
	}
	lim.RestartCost = -time.Second
	if err := lim.Validate(); err == nil || !strings.Contains(err.Error(), "restart cost -1s") {
		t.Errorf("a negative restart cost: %v", err)
	}
}
