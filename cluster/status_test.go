package cluster

import (
	"slices"
	"testing"
	"time"

	"millrace/engine"
	"millrace/observe"
	"millrace/plan"
	"millrace/spec"
)

func TestCompactOwned(t *testing.T) {
	tx := func(ps ...int32) []OwnedPartition {
		var out []OwnedPartition
		for _, p := range ps {
			out = append(out, OwnedPartition{Topic: "tx", Partition: p})
		}
		return out
	}
	groups := func(step string, from, to int32) []OwnedPartition {
		var out []OwnedPartition
		for p := from; p <= to; p++ {
			out = append(out, OwnedPartition{Topic: "millrace.card-velocity." + step, Partition: p, Step: step})
		}
		return out
	}
	for _, c := range []struct {
		owned []OwnedPartition
		want  string
	}{
		{nil, ""},
		{tx(3, 1, 0, 2), "tx/0-3"},
		{tx(0, 2, 3, 6, 9, 10), "tx/0,2-3,6,9-10"},
		{append(groups("velocity", 0, 127), tx(0, 1, 2, 3)...), "tx/0-3 velocity 0-127"},
		{append(append(groups("volume", 5, 5), groups("velocity", 0, 1)...), OwnedPartition{Topic: "accounts", Partition: 4}),
			"accounts/4 velocity 0-1 volume 5"},
	} {
		if got := CompactOwned(c.owned); got != c.want {
			t.Errorf("CompactOwned of %d partitions = %q, want %q", len(c.owned), got, c.want)
		}
	}
}

func TestViewOfAStatus(t *testing.T) {
	at := time.Date(2026, 12, 6, 23, 0, 0, 0, time.UTC)
	s := WorkerStatus{Worker: "w1", Host: "node-a", PID: 7, Started: at, Updated: at.Add(time.Minute), Generation: 3, KeyGroups: 256,
		Owned: []OwnedPartition{
			{Topic: "tx", Partition: 0, Lag: 100}, {Topic: "tx", Partition: 3, Lag: 40000},
			{Topic: "millrace.p.velocity", Partition: 12, Step: "velocity", Lag: 5}, {Topic: "millrace.p.velocity", Partition: 13, Step: "velocity"},
		},
		Checkpoint:     &CheckpointStatus{ID: 9, At: at, Units: 2},
		RebalancePause: 0.25, Rebalances: 1, Waiting: "object store: connection refused",
		Steps: []observe.StepFigures{{Step: "tx", Kind: "source", InRate: 1500}, {Step: "velocity", Kind: "window aggregate", InRate: 900, KeyGroups: 2}},
	}
	v := s.View()
	if v.Owned != "tx/0,3 velocity 12-13" || v.Partitions != 4 || v.KeyGroups != 2 || v.TotalKeyGroups != 256 {
		t.Errorf("owned %q, %d partitions, %d of %d key groups", v.Owned, v.Partitions, v.KeyGroups, v.TotalKeyGroups)
	}
	if v.LagRecords != 40105 || v.MaxLag == nil || *v.MaxLag != (observe.PartitionLag{Partition: "tx/3", Records: 40000}) {
		t.Errorf("lag %d, most %+v", v.LagRecords, v.MaxLag)
	}
	if v.InRate != 1500 {
		t.Errorf("input rate %v, want the source's 1500", v.InRate)
	}
	if v.Checkpoint == nil || *v.Checkpoint != (observe.CheckpointView{ID: 9, At: at, Units: 2}) || v.RebalancePause != 0.25 || v.Rebalances != 1 ||
		v.Waiting != s.Waiting || v.Worker != "w1" || v.Host != "node-a" || v.PID != 7 || v.Generation != 3 || !v.Updated.Equal(s.Updated) {
		t.Errorf("view %+v", v)
	}
	if v := (WorkerStatus{Worker: "w2"}).View(); v.Steps == nil || v.MaxLag != nil || v.Checkpoint != nil || v.Owned != "" {
		t.Errorf("view of an empty status %+v", v)
	}
}

func TestMarkStale(t *testing.T) {
	now := time.Date(2026, 12, 6, 23, 0, 0, 0, time.UTC)
	ws := []WorkerStatus{{Worker: "fresh", Updated: now.Add(-time.Second)}, {Worker: "edge", Updated: now.Add(-StaleAfter)},
		{Worker: "gone", Updated: now.Add(-StaleAfter - time.Millisecond)}}
	markStale(ws, now)
	if ws[0].Stale || ws[1].Stale || !ws[2].Stale {
		t.Errorf("stale: %v %v %v, want only gone", ws[0].Stale, ws[1].Stale, ws[2].Stale)
	}
}

// TestStepStatusOfTwoSnapshots checks the figures of a step between two snapshots of a run
// and its key groups from what the worker owns.
func TestStepStatusOfTwoSnapshots(t *testing.T) {
	text := `
name: steps
sources:
  tx: {kind: generator, rows: 100}
views:
  velocity: {from: tx, group_by: [card_id], window: {tumble: 1m}, select: {n: count(*)}}
sinks:
  out: {from: velocity, kind: jsonl, path: out.jsonl}
`
	s, err := spec.Parse([]byte(text), "steps.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	p, err := plan.Build(s, plan.Options{Parallelism: 2})
	if err != nil {
		t.Fatal(err)
	}
	var keyed string
	for _, st := range p.Steps {
		if st.Kind == plan.KindWindowAggregate {
			keyed = st.Name
		}
	}
	if keyed == "" {
		t.Fatalf("no window aggregate step in %v", p.Steps)
	}
	// prev is 10 s in, cur 20 s in: each subtask of every node took in 1000 rows a second
	// and worked 60% of the time, subtask 1 of the keyed step 90%
	snap := func(secs int64, keyedBusy1 float64) *engine.Stats {
		st := &engine.Stats{Elapsed: time.Duration(secs) * time.Second, Taken: time.Unix(1000+secs, 0)}
		for _, n := range p.Graph.Nodes {
			r := engine.NodeReport{Name: n.Name, Parallelism: n.Parallelism, Watermark: (1000 + secs - 5) * 1000, StateBytes: 4096}
			for i := range n.Parallelism {
				busy := 0.6
				if n.Name == keyed && i == 1 {
					busy = keyedBusy1
				}
				sub := engine.NodeReport{Name: n.Name, Parallelism: n.Parallelism, Subtask: i, RowsIn: 1000 * secs, Read: 1000 * secs, RowsOut: 500 * secs,
					Busy: time.Duration(busy * float64(secs) * float64(time.Second)), Watermark: r.Watermark}
				r.Subtasks = append(r.Subtasks, sub)
				r.RowsIn += sub.RowsIn
				r.Read += sub.Read
				r.RowsOut += sub.RowsOut
				r.Busy += sub.Busy
			}
			st.Nodes = append(st.Nodes, r)
		}
		return st
	}
	owned := []OwnedPartition{{Topic: "tx", Partition: 0}}
	for g := range int32(12) {
		owned = append(owned, OwnedPartition{Topic: "millrace.steps." + keyed, Partition: g, Step: keyed})
	}
	figs := StepStatus(p, snap(10, 0.6), snap(20, 0.9), owned)
	if len(figs) != len(p.Graph.Nodes) {
		t.Fatalf("%d steps, want %d", len(figs), len(p.Graph.Nodes))
	}
	for _, f := range figs {
		n := p.Graph.Nodes[0]
		for _, gn := range p.Graph.Nodes {
			if gn.Name == f.Step {
				n = gn
			}
		}
		if f.Subtasks != n.Parallelism || f.InRate != float64(1000*n.Parallelism) || f.OutRate != float64(500*n.Parallelism) || f.StateBytes != 4096 {
			t.Errorf("step %s: %+v", f.Step, f)
		}
		if f.WatermarkLag == nil || *f.WatermarkLag != 5 {
			t.Errorf("step %s: watermark lag %v, want 5 s", f.Step, f.WatermarkLag)
		}
		wantGroups, wantBusiest := 0, 0.6
		if f.Step == keyed {
			wantGroups, wantBusiest = 12, 1.2 // between the snapshots subtask 1 worked 18 s - 6 s of 10 s
		}
		if f.KeyGroups != wantGroups || abs(f.BusiestBusy-min(wantBusiest, 1)) > 1e-9 {
			t.Errorf("step %s: %d key groups, busiest %v; want %d and %v", f.Step, f.KeyGroups, f.BusiestBusy, wantGroups, min(wantBusiest, 1))
		}
	}
}

func abs(f float64) float64 { return max(f, -f) }

// TestStatusMeterMeasuresTheLastSeconds checks that the meter measures from the start of a
// run, then from a snapshot at most a few seconds old, starts over with a new run, and says
// when a broker is out of reach.
func TestStatusMeterMeasuresTheLastSeconds(t *testing.T) {
	p := &plan.Plan{Spec: &spec.Spec{Name: "p"}, Steps: []*plan.Step{{Name: "tx", Kind: plan.KindSource, Parallelism: 1}}}
	snap := func(secs, read int64, unreachable map[int]string) *engine.Stats {
		r := engine.NodeReport{Name: "tx", Parallelism: 1, Read: read, RowsOut: read, Unreachable: unreachable}
		r.Subtasks = []engine.NodeReport{r}
		return &engine.Stats{Elapsed: time.Duration(secs) * time.Second, Nodes: []engine.NodeReport{r}}
	}
	m := NewStatusMeter(p)
	var s WorkerStatus
	m.Fill(&s, nil)
	if s.Steps == nil || len(s.Steps) != 0 {
		t.Errorf("before the run: steps %v, want none", s.Steps)
	}
	for _, c := range []struct {
		secs, read int64
		rate       float64
	}{
		{2, 2000, 1000},    // from the start
		{6, 10000, 1666},   // still from the start (6 s), and the window moves here
		{7, 13000, 3000},   // from 6 s
		{3, 300, 100},      // a new run: from its start
		{20, 19300, 965},   // from the start of the new run; the window moves
		{21, 19300 + 7, 7}, // from 20 s
	} {
		m.Fill(&s, snap(c.secs, c.read, nil))
		if len(s.Steps) != 1 || int(s.Steps[0].InRate) != int(c.rate) {
			t.Errorf("at %d s with %d read: steps %+v, want %v rows/s", c.secs, c.read, s.Steps, c.rate)
		}
		if s.Waiting != "" {
			t.Errorf("at %d s: waiting %q", c.secs, s.Waiting)
		}
	}
	m.Fill(&s, snap(22, 19400, map[int]string{3: "broker b3:9092: refused", 1: "broker b1:9092: refused"}))
	if s.Waiting != "broker unreachable: broker b1:9092: refused" {
		t.Errorf("waiting %q, want partition 1's broker", s.Waiting)
	}
	s.Waiting = "object store: timeout"
	m.Fill(&s, snap(23, 19500, map[int]string{1: "broker b1:9092: refused"}))
	if s.Waiting != "object store: timeout" {
		t.Errorf("waiting %q: the worker's own reason was replaced", s.Waiting)
	}
}

func TestOwnedFrom(t *testing.T) {
	got := OwnedFrom("card-velocity",
		map[string][]int32{"tx": {3, 1}, "millrace.card-velocity.velocity": {17, 16}, "millrace.other.velocity": {2},
			"millrace.card-velocity.pairs.1": {4}},
		map[string]map[int32]int64{"tx": {3: 40000, 1: 5}, "millrace.card-velocity.velocity": {17: 9}})
	want := []OwnedPartition{
		{Topic: "millrace.card-velocity.pairs.1", Partition: 4, Step: "pairs"},
		{Topic: "millrace.card-velocity.velocity", Partition: 16, Step: "velocity"},
		{Topic: "millrace.card-velocity.velocity", Partition: 17, Step: "velocity", Lag: 9},
		{Topic: "millrace.other.velocity", Partition: 2},
		{Topic: "tx", Partition: 1, Lag: 5},
		{Topic: "tx", Partition: 3, Lag: 40000},
	}
	if !slices.Equal(got, want) {
		t.Errorf("OwnedFrom:\n%+v\nwant\n%+v", got, want)
	}
	if c := CompactOwned(got); c != "millrace.other.velocity/2 tx/1,3 pairs 4 velocity 16-17" {
		t.Errorf("compactly %q", c)
	}
}
