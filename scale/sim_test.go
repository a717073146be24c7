package scale

import (
	"encoding/json"
	"math"
	"testing"
	"time"
)

func TestSimulateAccountsForAHandMadeTrace(t *testing.T) {
	// Five minutes: 1000/s, then 3000/s for two minutes, then 1000/s. Workers of 100/s at
	// 70% utilisation: 15 workers for 1000/s; 3000/s needs 43.
	rates := []float64{1000, 1000, 3000, 3000, 1000}
	trace := make([]Point, len(rates))
	for i, r := range rates {
		trace[i] = Point{Time: t0.Add(time.Duration(i) * time.Minute), Rate: r}
	}
	cfg := DefaultSimConfig()
	cfg.CapacityPerWorker = 100
	cfg.Startup = time.Minute
	cfg.Season = 2 * time.Minute
	cfg.RebalancePause = 0 // TestSimulatePausesForARebalance counts the pause
	res, err := Simulate(trace, cfg)
	if err != nil {
		t.Fatal(err)
	}
	s := res.Series
	// Minute 2: 15 workers serve 1500/s of 3000/s: 90,000 records wait, 60s of lag at 1500/s.
	if s[2].Backlog != 90000 || s[2].LagS != 60 {
		t.Errorf("minute 2: backlog %v, lag %vs, want 90000 and 60s", s[2].Backlog, s[2].LagS)
	}
	// The decision at the end of minute 2 asks for (3000 + 90000/300)/70 = 47.1 → 48
	// workers; 33 start and serve from the end of minute 3.
	if s[2].Serving != 15 || s[2].Pending != 33 {
		t.Errorf("minute 2: %d serving, %d pending, want 15 and 33", s[2].Serving, s[2].Pending)
	}
	// Minute 3: still 15 serve: another 90,000 wait; then 48 serve 4800/s. The decision
	// asks for (3000 + 180000/300)/70 = 51.4 → 52: 4 more start.
	if s[3].Backlog != 180000 || s[3].Serving != 48 || s[3].Pending != 4 || s[3].LagS != 37.5 {
		t.Errorf("minute 3: backlog %v, %d serving, %d pending, lag %vs, want 180000, 48, 4 and 37.5s",
			s[3].Backlog, s[3].Serving, s[3].Pending, s[3].LagS)
	}
	// Minute 4: 1000/s arrive, 4800/s are processed: 180,000 - 228,000 → empty.
	if s[4].Backlog != 0 {
		t.Errorf("minute 4: backlog %v, want 0", s[4].Backlog)
	}
	// 15 workers for minutes 0-2, 48 (33 of them starting) for minute 3, 52 for minute 4.
	if res.WorkerMinutes != 3*15+48+52 {
		t.Errorf("worker minutes %v, want %d", res.WorkerMinutes, 3*15+48+52)
	}
	if res.SLOViolationMinutes != 2 || res.MaxLagS != 60 || res.ScaleEvents != 2 || res.MaxWorkers != 52 {
		t.Errorf("summary %+v", res)
	}
	if _, err := json.Marshal(res); err != nil {
		t.Errorf("the summary does not marshal: %v", err)
	}
}

func TestSimulatePartialStepOfANewWorker(t *testing.T) {
	// A worker that starts serving half-way through a step processes half a step.
	trace := []Point{{t0, 0}, {t0.Add(time.Minute), 600}, {t0.Add(2 * time.Minute), 600}}
	cfg := DefaultSimConfig()
	cfg.CapacityPerWorker = 100
	cfg.Startup = 30 * time.Second
	cfg.Season = 2 * time.Minute
	cfg.RebalancePause = 0
	cfg.Policy.Limits.Min = 1
	res, err := Simulate(trace, cfg)
	if err != nil {
		t.Fatal(err)
	}
	// Minute 1: 1 worker, 6000 of 36,000 processed; the policy asks for
	// (600 + 30000/300)/70 = 10 workers, 9 serving from 30s into minute 2.
	// Minute 2: 36,000 arrive; 1 worker for 60s and 9 for 30s process 33,000.
	if got, want := res.Series[2].Backlog, 30000.0+36000-6000-27000; got != want {
		t.Errorf("minute 2 backlog %v, want %v", got, want)
	}
}

// TestPredictiveHalvesViolationsOnTheWeekTrace is the capability's check: on the shipped
// week with a nightly surge, with the same worker model and limits, the predictive policy
// has at most half the SLO-violation minutes of the reactive one, for at most 10% more
// worker-minutes.
func TestPredictiveHalvesViolationsOnTheWeekTrace(t *testing.T) {
	trace, err := ReadTraceFile("../examples/traces/week-nightly-surge.csv")
	if err != nil {
		t.Fatal(err)
	}
	re, pr := simulateBoth(t, trace)
	if !(pr.SLOViolationMinutes <= re.SLOViolationMinutes/2) || re.SLOViolationMinutes == 0 {
		t.Errorf("SLO-violation minutes: predictive %v, reactive %v, want at most half", pr.SLOViolationMinutes, re.SLOViolationMinutes)
	}
	if pr.WorkerMinutes > 1.1*re.WorkerMinutes {
		t.Errorf("worker-minutes: predictive %v is %.1f%% more than reactive %v, want at most 10%%",
			pr.WorkerMinutes, 100*(pr.WorkerMinutes/re.WorkerMinutes-1), re.WorkerMinutes)
	}
}

// TestForesightMeetsEveryRecurringSurge is the check of foresight: on each shipped trace,
// every surge after its first occurrence (one that starts at the time of day an earlier
// one did) has the capacity serving when it starts and no minute above the lag SLO,
// where the reactive policy is late for each; and the run costs at most 10% more
// worker-minutes than the reactive one.
func TestForesightMeetsEveryRecurringSurge(t *testing.T) {
	monthEnd, err := ReadCalendarFile("../examples/traces/month-end.calendar.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		trace    string
		calendar Calendar
		repeats  int
	}{
		{"week-nightly-surge.csv", DefaultCalendar(), 6},
		{"month-end.csv", monthEnd, 4},
	} {
		t.Run(c.trace, func(t *testing.T) {
			trace, err := ReadTraceFile("../examples/traces/" + c.trace)
			if err != nil {
				t.Fatal(err)
			}
			cfg := DefaultSimConfig()
			cfg.Calendar = c.calendar
			re, err := Simulate(trace, cfg)
			if err != nil {
				t.Fatal(err)
			}
			cfg.Policy.Mode = Predictive
			fs, err := Simulate(trace, cfg)
			if err != nil {
				t.Fatal(err)
			}
			if len(fs.Surges) != len(re.Surges) {
				t.Fatalf("%d surges with foresight, %d reactive: the surges are the trace's", len(fs.Surges), len(re.Surges))
			}
			repeats := 0
			for i, s := range fs.Surges {
				r := re.Surges[i]
				t.Logf("%s repeat %v: foresight lead %v s, %v violation min; reactive %v", s.Start.Format(time.RFC3339), s.Repeat,
					deref(s.LeadS), s.ViolationMinutes, r.ViolationMinutes)
				if !s.Repeat {
					continue
				}
				repeats++
				if s.ViolationMinutes != 0 || s.LeadS == nil || *s.LeadS < 0 {
					t.Errorf("surge at %s, a recurrence: %v violation minutes, capacity %v s ahead; want none and ahead",
						s.Start.Format(time.RFC3339), s.ViolationMinutes, deref(s.LeadS))
				}
				if r.ViolationMinutes == 0 {
					t.Errorf("surge at %s: the reactive policy met it too, so it tests nothing", s.Start.Format(time.RFC3339))
				}
			}
			if repeats != c.repeats {
				t.Errorf("%d recurring surges, want %d", repeats, c.repeats)
			}
			if fs.WorkerMinutes > 1.1*re.WorkerMinutes {
				t.Errorf("worker-minutes: foresight %v is %.1f%% more than reactive %v, want at most 10%%",
					fs.WorkerMinutes, 100*(fs.WorkerMinutes/re.WorkerMinutes-1), re.WorkerMinutes)
			}
		})
	}
}

func deref(p *float64) any {
	if p == nil {
		return "never"
	}
	return *p
}

func simulateBoth(t *testing.T, trace []Point) (reactive, predictive Result) {
	t.Helper()
	cfg := DefaultSimConfig()
	re, err := Simulate(trace, cfg)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Policy.Mode = Predictive
	pr, err := Simulate(trace, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []Result{re, pr} {
		b, _ := json.Marshal(r)
		t.Logf("%s", b)
	}
	if math.IsNaN(pr.WorkerMinutes) {
		t.Fatal("NaN worker minutes")
	}
	return re, pr
}

func TestSimulateDetectsTheSeasonOrRefusesABadOne(t *testing.T) {
	cfg := DefaultSimConfig()
	cfg.Season = 0
	res, err := Simulate(WeekWithNightlySurge(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.Season != "24h0m0s (detected)" {
		t.Errorf("season %q, want 24h detected", res.Season)
	}
	cfg.Season = 90 * time.Second
	if _, err := Simulate(WeekWithNightlySurge(), cfg); err == nil {
		t.Error("a season of 1.5 steps was accepted")
	}
	cfg = DefaultSimConfig()
	cfg.CapacityPerWorker = 0
	if _, err := Simulate(WeekWithNightlySurge(), cfg); err == nil {
		t.Error("no capacity per worker was accepted")
	}
}

func TestSimulateIsDeterministic(t *testing.T) {
	cfg := DefaultSimConfig()
	cfg.Policy.Mode = Predictive
	a, err := Simulate(MonthEnd(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Simulate(MonthEnd(), cfg)
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	if string(ja) != string(jb) || len(a.Decisions) != len(b.Decisions) {
		t.Errorf("two runs differ: %s and %s", ja, jb)
	}
}

// TestSimulateRidesOutABlipShorterThanTheRebalance: with decisions every 10 s, a 10-second
// spike is not worth a rebalance that stops every worker for 30 s; with a free rebalance the
// policy chases it.
func TestSimulateRidesOutABlipShorterThanTheRebalance(t *testing.T) {
	var trace []Point
	for i := range 120 {
		rate := 1000.0
		if i == 60 {
			rate = 3000
		}
		trace = append(trace, Point{Time: t0.Add(time.Duration(i) * 10 * time.Second), Rate: rate})
	}
	cfg := DefaultSimConfig()
	cfg.CapacityPerWorker = 100
	cfg.Season = 10 * time.Minute
	cfg.Policy.Limits.Min = 1
	cfg.RebalancePause = 0
	free, err := Simulate(trace, cfg)
	if err != nil {
		t.Fatal(err)
	}
	cfg.RebalancePause = 30 * time.Second
	costly, err := Simulate(trace, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if free.ScaleEvents == 0 || costly.ScaleEvents != 0 || costly.WorkerMinutes >= free.WorkerMinutes || costly.SLOViolationMinutes != 0 {
		t.Errorf("free rebalance: %d scale events, %v worker-minutes; 30 s rebalance: %d, %v, %v violation minutes",
			free.ScaleEvents, free.WorkerMinutes, costly.ScaleEvents, costly.WorkerMinutes, costly.SLOViolationMinutes)
	}
}
