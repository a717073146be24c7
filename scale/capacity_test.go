package scale

import (
	"math"
	"testing"
	"time"

	"millrace/engine"
)

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*max(math.Abs(a), math.Abs(b), 1) }

func sameCapacity(a, b Capacity) bool {
	return a.Node == b.Node && a.Parallelism == b.Parallelism && near(a.TrueRate, b.TrueRate) &&
		near(a.InputRate, b.InputRate) && near(a.Utilization, b.Utilization) &&
		near(a.Backlog, b.Backlog) && near(a.BacklogGrowth, b.BacklogGrowth)
}

func checkCapacities(t *testing.T, what string, got, want []Capacity) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d capacities %+v, want %d", what, len(got), got, len(want))
	}
	for i := range want {
		if !sameCapacity(got[i], want[i]) {
			t.Errorf("%s: node %d is\n%+v, want\n%+v", what, i, got[i], want[i])
		}
	}
}

func TestMeasure(t *testing.T) {
	sec := func(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }
	prev := &engine.Stats{Elapsed: sec(10), Nodes: []engine.NodeReport{
		{Name: "orders", Parallelism: 1, Read: 40_000, Busy: sec(2), Backpressure: sec(1),
			InputBytes: 1_000_000, InputBytesRead: 200_000},
		{Name: "total", Parallelism: 2, RowsIn: 100_000, Busy: sec(15), Backpressure: sec(5)},
		{Name: "restarted", Parallelism: 2, RowsIn: 500_000, Busy: sec(18)},
	}}
	cur := &engine.Stats{Elapsed: sec(20), Nodes: []engine.NodeReport{
		{Name: "orders", Parallelism: 1, Read: 90_000, Busy: sec(6), Backpressure: sec(3),
			InputBytes: 1_000_000, InputBytesRead: 450_000},
		{Name: "total", Parallelism: 2, RowsIn: 150_000, Busy: sec(33), Backpressure: sec(13)},
		{Name: "restarted", Parallelism: 4, RowsIn: 20_000, Busy: sec(4)},
		{Name: "new", Parallelism: 1, RowsIn: 1_000, Busy: sec(1), Backpressure: sec(1)},
		{Name: "unmeasured", Parallelism: 3, RowsIn: 9_000},
	}}

	// From the start of the run: the example of the definition.
	checkCapacities(t, "from the start", Measure(nil, prev), []Capacity{
		{Node: "orders", Parallelism: 1, TrueRate: 40_000, InputRate: 4_000, Utilization: 0.1, Backlog: 800_000},
		{Node: "total", Parallelism: 2, TrueRate: 10_000, InputRate: 10_000, Utilization: 0.5, Backlog: -1},
		{Node: "restarted", Parallelism: 2, TrueRate: 500_000 / 18.0, InputRate: 50_000, Utilization: 0.9, Backlog: -1},
	})
	want := []Capacity{
		// 50 000 rows read in 10 s, working 2 s of its 4 busy; 250 000 bytes fewer to read.
		{Node: "orders", Parallelism: 1, TrueRate: 25_000, InputRate: 5_000, Utilization: 0.2,
			Backlog: 550_000, BacklogGrowth: -25_000},
		// 50 000 rows in 10 s, working 18-8 = 10 s of the 2 subtasks' 20.
		{Node: "total", Parallelism: 2, TrueRate: 5_000, InputRate: 5_000, Utilization: 0.5, Backlog: -1},
		// Its counters went back: measured from zero.
		{Node: "restarted", Parallelism: 4, TrueRate: 5_000, InputRate: 2_000, Utilization: 0.1, Backlog: -1},
		// Only blocked: no work, so no true rate.
		{Node: "new", Parallelism: 1, InputRate: 100, Backlog: -1},
		{Node: "unmeasured", Parallelism: 3, InputRate: 900, Backlog: -1},
	}
	checkCapacities(t, "between snapshots", Measure(prev, cur), want)

	// A snapshot from later in the run than cur is from another run: measured from the start.
	later := &engine.Stats{Elapsed: sec(30), Nodes: prev.Nodes}
	checkCapacities(t, "after another run", Measure(later, cur), Measure(nil, cur))
	if Measure(prev, nil) != nil {
		t.Error("Measure of nil is not nil")
	}
	// A window of no time has no rates.
	for _, c := range Measure(cur, cur) {
		if c.InputRate != 0 || c.Utilization != 0 || c.BacklogGrowth != 0 {
			t.Errorf("a window of no time: %+v", c)
		}
	}
	// Busy more than the window (clocks are read apart) is still at most fully utilised.
	over := &engine.Stats{Elapsed: sec(1), Nodes: []engine.NodeReport{{Name: "x", Parallelism: 1, RowsIn: 10, Busy: sec(1.5)}}}
	if c := Measure(nil, over)[0]; c.Utilization != 1 {
		t.Errorf("busy longer than the window: utilisation %v, want 1", c.Utilization)
	}
}

// snapshot is a run's figures after at seconds of a node taking in rows at rate a second,
// working half of each second on one subtask, and of a source with a backlog.
func snapshot(at, rows float64) *engine.Stats {
	d := time.Duration(at * float64(time.Second))
	return &engine.Stats{Elapsed: d, Nodes: []engine.NodeReport{
		{Name: "in", Parallelism: 1, Read: int64(rows), Busy: d / 2, InputBytes: 1e9, InputBytesRead: int64(10 * rows)},
		{Name: "op", Parallelism: 1, RowsIn: int64(rows), Busy: d / 2},
	}}
}

func TestWindowSlides(t *testing.T) {
	w := NewWindow(30 * time.Second)
	if w.Capacities() != nil {
		t.Error("an empty window has capacities")
	}
	// 1 000 rows/s for a minute, then 3 000 rows/s, a snapshot every 10 s.
	rows := 0.0
	for i := 0; i <= 12; i++ {
		at := float64(i * 10)
		if i > 0 {
			rate := 1000.0
			if at > 60 {
				rate = 3000
			}
			rows += 10 * rate
		}
		w.Add(snapshot(at, rows))
		if len(w.snaps) > 4 {
			t.Fatalf("after %v s: %d snapshots kept for a 30 s window of one every 10 s", at, len(w.snaps))
		}
		caps := w.Capacities()
		var want float64
		switch {
		case i == 0:
			want = 0
		case at <= 60:
			want = 1000
		case at == 70:
			want = (2*1000 + 3000) / 3.0
		case at == 80:
			want = (1000 + 2*3000) / 3.0
		default:
			want = 3000
		}
		if !near(caps[1].InputRate, want) {
			t.Errorf("after %v s: input rate %v, want %v", at, caps[1].InputRate, want)
		}
		if i > 0 && (!near(caps[1].TrueRate, 2*want) || !near(caps[1].Utilization, 0.5)) {
			t.Errorf("after %v s: %+v, want a true rate of %v at half utilisation", at, caps[1], 2*want)
		}
		if i > 0 && !near(caps[0].BacklogGrowth, -10*want) {
			t.Errorf("after %v s: backlog growth %v, want %v", at, caps[0].BacklogGrowth, -10*want)
		}
	}

	// A new run starts the window again.
	w.Add(snapshot(5, 500))
	if len(w.snaps) != 1 || !near(w.Capacities()[1].InputRate, 100) {
		t.Errorf("after a new run: %d snapshots, %+v", len(w.snaps), w.Capacities())
	}
	w.Add(nil)
	if len(w.snaps) != 1 {
		t.Error("a nil snapshot was kept")
	}
}

func TestWindowOfNoTimeMeasuresTheLastStep(t *testing.T) {
	w := NewWindow(0)
	w.Add(snapshot(10, 10_000))
	w.Add(snapshot(20, 30_000))
	w.Add(snapshot(30, 60_000))
	if len(w.snaps) != 2 || !near(w.Capacities()[1].InputRate, 3000) {
		t.Errorf("%d snapshots, %+v; want the last step's 3 000 rows/s", len(w.snaps), w.Capacities())
	}
}
