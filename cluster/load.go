package cluster

import (
	"math"
	"slices"
	"time"

	"millrace/engine"
	"millrace/plan"
)

// LoadMeter turns the statuses the workers of a cluster publish into one run of the whole
// pipeline as a scaling advisor observes a run: a snapshot (engine.Stats) whose counters
// grow by what every live worker measured since the previous one. Each worker publishes its
// steps' rates and busy shares over its last few seconds; between two calls of Add the
// meter takes them as steady, so each step's rows and busy time grow by the rates of every
// worker running it times the time between the calls, and its parallelism is the sum of
// the workers' subtasks. A source's lag at its brokers becomes its backlog: the snapshot
// sets its InputBytes to the rows read plus the lag and InputBytesRead to the rows read,
// one "byte" a record, so the advisor's backlog (bytes left at bytes per record read) is
// the lag in records.
//
// A LoadMeter is not safe for concurrent use; it is a pure function of the statuses and
// times it is given.
type LoadMeter struct {
	start, last time.Time
	steps       map[string]*stepTotals
	order       []string
}

// stepTotals are a step's counters in the cluster, as floats so that small rates over
// short intervals add up.
type stepTotals struct {
	rows, busy, blocked float64 // rows; seconds of subtask time
}

// Add takes the statuses of the workers at now and returns the cluster's snapshot. Stale
// workers count for nothing: they may be gone. The first call starts the run (Elapsed 0).
func (m *LoadMeter) Add(now time.Time, ws []WorkerStatus) *engine.Stats {
	if m.steps == nil {
		m.steps, m.start, m.last = map[string]*stepTotals{}, now, now
	}
	dt := max(now.Sub(m.last).Seconds(), 0)
	m.last = now
	type current struct {
		source      bool
		parallelism int
		lag         int64
	}
	cur := map[string]*current{}
	for _, w := range ws {
		if w.Stale {
			continue
		}
		for _, f := range w.Steps {
			t := m.steps[f.Step]
			if t == nil {
				t = &stepTotals{}
				m.steps[f.Step] = t
				m.order = append(m.order, f.Step)
			}
			c := cur[f.Step]
			if c == nil {
				c = &current{source: f.Kind == string(plan.KindSource)}
				cur[f.Step] = c
			}
			n := float64(max(f.Subtasks, 1))
			t.rows += f.InRate * dt
			t.busy += (f.Busy + f.Backpressure) * n * dt
			t.blocked += f.Backpressure * n * dt
			c.parallelism += f.Subtasks
			if f.LagRecords != nil {
				c.lag += *f.LagRecords
			}
		}
	}
	st := &engine.Stats{Taken: now, Elapsed: now.Sub(m.start)}
	for _, name := range m.order {
		t := m.steps[name]
		r := engine.NodeReport{Name: name, Busy: seconds(t.busy), Backpressure: seconds(t.blocked)}
		rows := int64(math.Round(t.rows))
		if c := cur[name]; c != nil {
			r.Parallelism = c.parallelism
			if c.source {
				r.Read = rows
				if rows > 0 {
					r.InputBytes, r.InputBytesRead = rows+c.lag, rows
				}
				st.Nodes = append(st.Nodes, r)
				continue
			}
		}
		r.RowsIn = rows
		st.Nodes = append(st.Nodes, r)
	}
	st.Nodes = slices.DeleteFunc(st.Nodes, func(r engine.NodeReport) bool { return r.Parallelism == 0 })
	return st
}

// Live counts the workers of ws that are not stale.
func Live(ws []WorkerStatus) int {
	n := 0
	for _, w := range ws {
		if !w.Stale {
			n++
		}
	}
	return n
}

// RestartCost is what a change of the worker count costs the cluster, as its live workers
// last measured it: the longest pause of their last rebalances, since the pipeline waits for
// the slowest worker to commit, hand over and restore its key groups. It is 0 before any
// worker has been through a rebalance.
func RestartCost(ws []WorkerStatus) time.Duration {
	var worst float64
	for _, w := range ws {
		if !w.Stale && w.Rebalances > 0 {
			worst = max(worst, w.RebalancePause)
		}
	}
	return seconds(worst)
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }
