package cluster

import (
	"math"
	"testing"
	"time"

	"millrace/observe"
	"millrace/scale"
)

// figures are a worker's published figures: a source reading rate rows/s on two subtasks
// with lag records behind, and a window step on one subtask busy share busy of the time.
func figures(worker string, rate, busy float64, lag int64) WorkerStatus {
	return WorkerStatus{Worker: worker, Steps: []observe.StepFigures{
		{Step: "tx", Kind: "source", Subtasks: 2, InRate: rate, Busy: 0.1, LagRecords: &lag},
		{Step: "velocity", Kind: "window", Subtasks: 1, InRate: rate, Busy: busy, Backpressure: 0.1},
	}}
}

// TestLoadMeterAddsUpTheWorkers checks the cluster's run that two workers' figures make:
// rows and busy time grow by every worker's rates, parallelism is the subtasks of all, a
// stale worker counts for nothing, and the sources' lag is their backlog in records.
func TestLoadMeterAddsUpTheWorkers(t *testing.T) {
	var m LoadMeter
	t0 := time.Date(2026, 12, 7, 3, 0, 0, 0, time.UTC)
	ws := []WorkerStatus{figures("a", 100, 0.5, 30), figures("b", 300, 0.2, 70), figures("gone", 1000, 1, 1000)}
	ws[2].Stale = true
	first := m.Add(t0, ws)
	if first.Elapsed != 0 {
		t.Fatalf("the first snapshot is %v into the run, want 0", first.Elapsed)
	}
	cur := m.Add(t0.Add(10*time.Second), ws)
	if cur.Elapsed != 10*time.Second {
		t.Fatalf("elapsed %v, want 10s", cur.Elapsed)
	}
	tx, ok := cur.Node("tx")
	if !ok || tx.Read != 4000 || tx.Parallelism != 4 || tx.Backlog() != 100 {
		t.Errorf("source: read %d on %d subtasks, backlog %d; want 4000 on 4, backlog 100 (the lag)", tx.Read, tx.Parallelism, tx.Backlog())
	}
	v, _ := cur.Node("velocity")
	// busy shares exclude backpressure, the engine's busy time includes it
	if want := time.Duration((0.6 + 0.3) * 10 * float64(time.Second)); v.RowsIn != 4000 || v.Parallelism != 2 || v.Busy != want || v.Backpressure != 2*time.Second {
		t.Errorf("window: %d rows in on %d subtasks, busy %v, backpressure %v; want 4000 on 2, %v, 2s", v.RowsIn, v.Parallelism, v.Busy, v.Backpressure, want)
	}
	if n := Live(ws); n != 2 {
		t.Errorf("%d live workers, want 2", n)
	}
	// The window step works 0.5+0.2 of a subtask's time for 400 rows/s: one subtask
	// carries 400/0.7 rows/s, two of them on two workers 400/0.7 rows/s each.
	caps := scale.Measure(first, cur)
	for _, c := range caps {
		if c.Node == "velocity" && math.Abs(c.TrueRate-400/0.7) > 0.01 {
			t.Errorf("the window's true rate is %.2f rows/s, want %.2f", c.TrueRate, 400/0.7)
		}
	}
}

// TestLoadMeterFeedsAnAdvisor observes the cluster's runs with a scale.Advisor told the
// live workers: its capacity is per worker, and its backlog the sources' lag.
func TestLoadMeterFeedsAnAdvisor(t *testing.T) {
	adv, err := scale.NewAdvisor(scale.AdvisorConfig{Sources: []string{"tx"}, Step: time.Second, Window: 5 * time.Second,
		Horizon: 10 * time.Second, Policy: scale.Policy{Mode: scale.Predictive, Limits: scale.Limits{Min: 1, Max: 10,
			TargetUtilization: 0.7, CatchUp: time.Minute, ScaleDownWindow: time.Minute, Tolerance: 0.1, ScaleDownStep: 0.5}}})
	if err != nil {
		t.Fatal(err)
	}
	var m LoadMeter
	t0 := time.Date(2026, 12, 7, 3, 0, 0, 0, time.UTC)
	ws := []WorkerStatus{figures("a", 200, 0.8, 500), figures("b", 200, 0.8, 500)}
	adv.SetWorkers(Live(ws))
	var last scale.Advice
	for i := range 8 {
		now := t0.Add(time.Duration(i) * time.Second)
		last = adv.Observe(now, m.Add(now, ws))
	}
	// 400 rows/s over two workers whose window steps work 80% of the time (and are blocked
	// 10% more): a worker carries 200/0.8 rows/s of input.
	if math.Abs(last.CapacityPerWorker-200/0.8) > 0.01 || last.Bottleneck != "velocity" {
		t.Errorf("capacity per worker %.2f bounded by %q, want %.2f by velocity", last.CapacityPerWorker, last.Bottleneck, 200/0.8)
	}
	if last.Backlog != 1000 || last.Workers != 2 {
		t.Errorf("backlog %.0f with %d workers, want 1000 (the lag) with 2", last.Backlog, last.Workers)
	}
	if last.DesiredWorkers <= 2 {
		t.Errorf("two workers 80%% busy with a backlog are told %d workers (%s), want more", last.DesiredWorkers, last.Reason)
	}
}

// TestRestartCost takes the longest last rebalance pause of the live workers.
func TestRestartCost(t *testing.T) {
	ws := []WorkerStatus{
		{Worker: "a", Rebalances: 2, RebalancePause: 0.4},
		{Worker: "b", Rebalances: 1, RebalancePause: 1.5},
		{Worker: "gone", Rebalances: 3, RebalancePause: 9, Stale: true},
		{Worker: "new"},
	}
	if got := RestartCost(ws); got != 1500*time.Millisecond {
		t.Errorf("restart cost %v, want 1.5s (b's pause)", got)
	}
	if got := RestartCost(nil); got != 0 {
		t.Errorf("restart cost of no workers %v, want 0", got)
	}
}
