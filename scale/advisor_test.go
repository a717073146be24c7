package scale

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"millrace/engine"
)

// runAt makes a snapshot of a run after secs seconds: the source has read read records, the
// view (two subtasks) taken in in of them and been busy for busy in all.
func runAt(secs int, read, in int64, busy time.Duration) *engine.Stats {
	return &engine.Stats{Elapsed: time.Duration(secs) * time.Second, Nodes: []engine.NodeReport{
		{Name: "tx", Parallelism: 1, Read: read, RowsOut: read},
		{Name: "velocity", Parallelism: 2, RowsIn: in, Busy: busy},
	}}
}

// reactiveAdvisor observes the source tx every 10s over a 30s window, with a reactive
// policy of 1 to most workers.
func reactiveAdvisor(t *testing.T, most int) *Advisor {
	t.Helper()
	lim := DefaultLimits()
	lim.Min, lim.Max = 1, most
	a, err := NewAdvisor(AdvisorConfig{Sources: []string{"tx"}, Step: 10 * time.Second, Window: 30 * time.Second,
		Policy: Policy{Mode: Reactive, Limits: lim}})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestAdvisorSizesForTheBottleneck(t *testing.T) {
	a := reactiveAdvisor(t, 50)
	start := time.Date(2026, 11, 23, 3, 0, 0, 0, time.UTC)
	if adv := a.Observe(start, &engine.Stats{}); adv.DesiredWorkers != 1 || !strings.HasPrefix(adv.Reason, "measuring") {
		t.Fatalf("before any work: %+v", adv)
	}
	// 1000 records/s read; the view gets half of them (a filter before it) and its two
	// subtasks work 0.25 s per second each: 500 records per 0.5 busy-second, so it carries
	// 1000/s per subtask, 2000/s of its input, 4000/s of the source's.
	var adv Advice
	for s := 10; s <= 60; s += 10 {
		adv = a.Observe(start.Add(time.Duration(s)*time.Second), runAt(s, int64(1000*s), int64(500*s), time.Duration(s)*500*time.Millisecond))
	}
	if adv.Rate != 1000 || adv.Bottleneck != "velocity" || adv.CapacityPerWorker < 3999 || adv.CapacityPerWorker > 4001 || adv.DesiredWorkers != 1 {
		t.Fatalf("steady: %+v", adv)
	}
	// The input goes to 4000/s and the view's subtasks are busy all the time: the pipeline
	// is at its capacity, and 4000 / (4000 * 0.7) needs 2 workers.
	read, in, busy := int64(60_000), int64(30_000), 30*time.Second
	for s := 70; s <= 120; s += 10 {
		read, in, busy = read+40_000, in+20_000, busy+20*time.Second
		adv = a.Observe(start.Add(time.Duration(s)*time.Second), runAt(s, read, in, busy))
	}
	if adv.Rate != 4000 || adv.CapacityPerWorker < 3999 || adv.CapacityPerWorker > 4001 || adv.DesiredWorkers != 2 ||
		!strings.Contains(adv.Reason, "scale up 1→2") || len(adv.Decisions) == 0 {
		t.Fatalf("surge: %+v", adv)
	}
	// Two workers carry 8000/s of input, 4000/s of the view's: 4 of its subtasks, busy
	// all the time, at 1000/s each.
	if len(adv.Steps) != 1 || adv.Steps[0].Node != "velocity" || adv.Steps[0].Parallelism != 2 || adv.Steps[0].Desired != 4 {
		t.Errorf("steps %+v", adv.Steps)
	}
	if adv.ForecastAt != adv.At.Add(10*time.Minute) || adv.Forecast.Hi < adv.Forecast.Mean {
		t.Errorf("forecast %+v at %s", adv.Forecast, adv.ForecastAt)
	}
}

// TestAdvisorSizesForAConfiguredCapacity configures what one worker carries: the advice
// sizes the workers for it, whatever the steps' busy time says, and names it as configured.
func TestAdvisorSizesForAConfiguredCapacity(t *testing.T) {
	lim := DefaultLimits()
	lim.Min, lim.Max = 1, 10
	a, err := NewAdvisor(AdvisorConfig{Sources: []string{"tx"}, Step: 10 * time.Second, Window: 30 * time.Second,
		Policy: Policy{Mode: Reactive, Limits: lim}, CapacityPerWorker: 500})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 11, 23, 3, 0, 0, 0, time.UTC)
	var adv Advice
	// The view measures 4000/s of input per worker, as in TestAdvisorSizesForTheBottleneck;
	// configured at 500/s, 1000/s at 70% utilisation needs 3 workers.
	for s := 10; s <= 60; s += 10 {
		adv = a.Observe(start.Add(time.Duration(s)*time.Second), runAt(s, int64(1000*s), int64(500*s), time.Duration(s)*500*time.Millisecond))
	}
	if adv.Rate != 1000 || adv.CapacityPerWorker != 500 || adv.Bottleneck != ConfiguredCapacity || adv.DesiredWorkers != 3 ||
		!strings.Contains(adv.Reason, "scale up 1→3") {
		t.Fatalf("advice %+v", adv)
	}
	for _, c := range []float64{-1, math.NaN(), math.Inf(1)} {
		if _, err := NewAdvisor(AdvisorConfig{Policy: Policy{Limits: lim}, CapacityPerWorker: c}); err == nil || !strings.Contains(err.Error(), "capacity per worker") {
			t.Errorf("capacity %g: %v", c, err)
		}
	}
}

func TestAdvisorRoundsTheSeasonToSteps(t *testing.T) {
	for _, season := range []time.Duration{144 * time.Second, 15 * time.Second, 24 * time.Hour} {
		if _, err := NewAdvisor(AdvisorConfig{Step: 10 * time.Second, Season: season, Policy: Policy{Limits: DefaultLimits()}}); err != nil {
			t.Errorf("season %s: %v", season, err)
		}
	}
}

// TestAdvisorDrainsTheBacklog reads files: with their bytes left counted in records, the
// policy sizes for reading them within its catch-up time.
func TestAdvisorDrainsTheBacklog(t *testing.T) {
	a := reactiveAdvisor(t, 100)
	start := time.Date(2026, 11, 23, 3, 0, 0, 0, time.UTC)
	var adv Advice
	for s := 10; s <= 60; s += 10 {
		st := runAt(s, int64(1000*s), int64(500*s), time.Duration(s)*500*time.Millisecond)
		// 100 bytes a record read so far, and 120 MB of files: 1.2M records, less those read.
		st.Nodes[0].InputBytes, st.Nodes[0].InputBytesRead = 120_000_000, int64(100_000*s)
		adv = a.Observe(start.Add(time.Duration(s)*time.Second), st)
	}
	// 1.14M records left, drained in 5 minutes on top of 1000/s: 4800/s, which at 4000/s
	// per worker and 70% utilisation needs 2 workers.
	if adv.Backlog < 1_139_999 || adv.Backlog > 1_140_001 {
		t.Fatalf("backlog %v records, want 1140000", adv.Backlog)
	}
	if adv.DesiredWorkers != 2 || !strings.Contains(adv.Reason, "backlog") {
		t.Errorf("advice %+v", adv)
	}
}

// TestAdvisorWaitsOutARestart restarts the run (a rescale does): until the new run has read
// for a while the advisor says it is measuring, and its forecaster never sees the restart's
// empty seconds as a dip in the input.
func TestAdvisorWaitsOutARestart(t *testing.T) {
	a := reactiveAdvisor(t, 50)
	start := time.Date(2026, 11, 23, 3, 0, 0, 0, time.UTC)
	at := func(s int) time.Time { return start.Add(time.Duration(s) * time.Second) }
	for s := 10; s <= 120; s += 10 {
		a.Observe(at(s), runAt(s, int64(1000*s), int64(500*s), time.Duration(s)*500*time.Millisecond))
	}
	// The new run: nothing read in its first seconds while it restores, then 1000/s again.
	for i, st := range []*engine.Stats{runAt(3, 0, 0, 0), runAt(13, 10_000, 5000, 5*time.Second)} {
		if adv := a.Observe(at(130+10*i), st); !strings.HasPrefix(adv.Reason, "measuring") || adv.DesiredWorkers != 1 {
			t.Fatalf("observation %d of the new run: %+v", i, adv)
		}
	}
	adv := a.Observe(at(150), runAt(23, 20_000, 10_000, 10*time.Second))
	if adv.Rate != 1000 || adv.Forecast.Mean < 900 {
		t.Fatalf("after the restart: rate %g, forecast %+v; want 1000/s and no dip", adv.Rate, adv.Forecast)
	}
}

// TestAdvisorSeesAnIdleInputAfterATakeOver hands the advisor's state to a new run (another
// worker takes the decision over, or the process restarts) after the input stopped. The new
// run says it is measuring until it has read nothing for a whole window; then its rate of
// 0 is real, and with the capacity measured before the stop the advice shrinks the workers
// to the minimum.
func TestAdvisorSeesAnIdleInputAfterATakeOver(t *testing.T) {
	lim := DefaultLimits()
	lim.Min, lim.Max, lim.ScaleDownWindow = 1, 50, 30*time.Second
	cfg := AdvisorConfig{Sources: []string{"tx"}, Step: 10 * time.Second, Window: 30 * time.Second, Workers: 2,
		Policy: Policy{Mode: Reactive, Limits: lim}}
	a, err := NewAdvisor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 11, 23, 3, 0, 0, 0, time.UTC)
	at := func(s int) time.Time { return start.Add(time.Duration(s) * time.Second) }
	// 4000/s read; the view's two subtasks are busy all the time with half of it: 2000/s of
	// input per worker of the two.
	var adv Advice
	for s := 10; s <= 60; s += 10 {
		adv = a.Observe(at(s), runAt(s, int64(4000*s), int64(2000*s), time.Duration(2*s)*time.Second))
	}
	if adv.Rate != 4000 || adv.CapacityPerWorker != 2000 || adv.DesiredWorkers != 3 {
		t.Fatalf("before the stop: %+v", adv)
	}
	state, err := a.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	cfg.Workers = 3
	next, err := NewAdvisor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := next.UnmarshalJSON(state); err != nil {
		t.Fatal(err)
	}
	for s := 10; s < 30; s += 10 {
		if adv := next.Observe(at(60+s), runAt(s, 0, 0, 0)); !strings.HasPrefix(adv.Reason, "measuring") || adv.DesiredWorkers != 3 {
			t.Fatalf("%ds into the new run: %+v", s, adv)
		}
	}
	// The scheduler follows the advice, which gives back one worker at a time.
	for s := 30; s <= 300 && adv.DesiredWorkers != 1; s += 10 {
		adv = next.Observe(at(60+s), runAt(s, 0, 0, 0))
		next.SetWorkers(adv.DesiredWorkers)
	}
	if adv.DesiredWorkers != 1 || adv.Rate != 0 || adv.CapacityPerWorker != 2000 || adv.Bottleneck != "velocity" ||
		!strings.Contains(adv.Reason, "scale down 2→1") {
		t.Fatalf("idle after the take-over: %+v", adv)
	}
}

// hourlySurge drives a predictive advisor with a season of an hour over hours hours of
// 10-second steps: 1000/s, and 10,000/s from minute 30 to 33 of every hour. The view's
// subtasks carry 1000/s each of the half of the input they see: 4000/s of input per
// worker. It returns the advice after each observation.
func hourlySurge(t *testing.T, a *Advisor, start time.Time, from, to int) []Advice {
	t.Helper()
	var out []Advice
	var read, in int64
	var busy time.Duration
	for s := 10; s <= to; s += 10 {
		rate := int64(1000)
		if m := (s - 10) / 60 % 60; m >= 30 && m < 33 {
			rate = 10_000
		}
		read += rate * 10
		in += rate * 5
		busy += time.Duration(rate*5) * time.Millisecond
		if s > from {
			out = append(out, a.Observe(start.Add(time.Duration(s)*time.Second), runAt(s, read, in, busy)))
		}
	}
	return out
}

func predictiveAdvisor(t *testing.T) *Advisor {
	t.Helper()
	lim := DefaultLimits()
	lim.Min, lim.Max = 1, 50
	a, err := NewAdvisor(AdvisorConfig{Sources: []string{"tx"}, Step: 10 * time.Second, Window: 30 * time.Second,
		Horizon: 2 * time.Minute, Season: time.Hour, Startup: time.Minute, Policy: Policy{Mode: Predictive, Limits: lim}})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestAdvisorRemembersASurgeAndSaysSo(t *testing.T) {
	start := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	a := predictiveAdvisor(t)
	advice := hourlySurge(t, a, start, 0, 3*3600)
	// The first hour's surge is met when it comes; from the second hour on, the profile
	// has it and the workers are asked for before minute 30: 10,000/s at 4000/s per worker
	// and 70% needs 4.
	for hour := range 3 {
		var before Advice
		for _, adv := range advice {
			if at := adv.At.Sub(start); at > time.Duration(hour)*time.Hour+25*time.Minute && at < time.Duration(hour)*time.Hour+30*time.Minute {
				before = adv
			}
		}
		if hour == 0 {
			if before.DesiredWorkers != 1 {
				t.Errorf("hour 0: %d workers asked for before a surge never seen: %s", before.DesiredWorkers, before.Reason)
			}
			continue
		}
		if before.DesiredWorkers != 4 || before.Model != "profile" || !strings.Contains(before.Reason, "model profile (picked by a backtest") ||
			!strings.Contains(before.Reason, "remembered from") {
			t.Errorf("hour %d, just before the surge: %d workers, model %q: %s", hour, before.DesiredWorkers, before.Model, before.Reason)
		}
	}

	// The state carries the profile and the pick over a restart: a restored advisor gives
	// the same advice as the one that kept running.
	state, err := a.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	saved := a.observed
	b := predictiveAdvisor(t)
	if err := b.UnmarshalJSON(state); err != nil {
		t.Fatal(err)
	}
	for _, adv := range []*Advisor{a, b} {
		adv.window = NewWindow(30 * time.Second) // both measure the next run afresh
	}
	next := func(x *Advisor) Advice { return hourlySurge(t, x, start, 3*3600+25*60, 3*3600+29*60)[0:24][23] }
	if ga, gb := next(a), next(b); ga.Reason != gb.Reason || ga.DesiredWorkers != gb.DesiredWorkers || gb.DesiredWorkers != 4 {
		t.Errorf("after a restore:\n%d %s\nkept running:\n%d %s", gb.DesiredWorkers, gb.Reason, ga.DesiredWorkers, ga.Reason)
	}

	// A state written before foresight was kept restores Holt-Winters and the decisions.
	var old map[string]json.RawMessage
	if err := json.Unmarshal(state, &old); err != nil {
		t.Fatal(err)
	}
	delete(old, "foresight")
	oldState, _ := json.Marshal(old)
	c := predictiveAdvisor(t)
	if err := c.UnmarshalJSON(oldState); err != nil {
		t.Fatalf("a state without foresight: %v", err)
	}
	if c.observed != saved || len(c.decisions) == 0 {
		t.Errorf("old state: %d observations, %d decisions", c.observed, len(c.decisions))
	}
}
