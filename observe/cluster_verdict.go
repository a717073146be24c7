package observe

import (
	"fmt"
	"math"
	"slices"
	"strconv"
)

// WorkerVerdict names the worker that holds a cluster, or one step of it, back, and says
// why in words.
type WorkerVerdict struct {
	Worker string `json:"worker,omitempty"`
	Step   string `json:"step,omitempty"`
	Reason string `json:"reason"`
}

// behindSeconds is how many seconds of its own input a worker's lag must reach for the
// worker to count as behind: a lag of a few batches is data in flight, not a problem.
const behindSeconds = 5

// BlameWorkers picks, among the workers that still publish (stale ones are left out: the
// group hands their partitions to others), the worker that holds the cluster back and, for
// every step, the worker that holds that step back, where one does. In order: a worker that
// waits (for its broker, for the object store) holds everything back; then the worker whose
// busiest subtask is saturated (busy at least 80% of the time, not itself backpressured
// half of it), compared with the other workers on the same step; then the worker whose
// lag is the most seconds of its own input, when that is at least behindSeconds. It is a
// pure function of its input.
func BlameWorkers(workers []WorkerView) (WorkerVerdict, map[string]WorkerVerdict) {
	live := make([]WorkerView, 0, len(workers))
	for _, w := range workers {
		if !w.Stale {
			live = append(live, w)
		}
	}
	slices.SortStableFunc(live, func(a, b WorkerView) int {
		if a.Worker < b.Worker {
			return -1
		}
		if a.Worker > b.Worker {
			return 1
		}
		return 0
	})
	steps := map[string]WorkerVerdict{}
	var names []string
	for _, w := range live {
		for _, s := range w.Steps {
			if !slices.Contains(names, s.Step) {
				names = append(names, s.Step)
			}
		}
	}
	var saturated []WorkerVerdict // one per step that has a saturated worker
	var worst []float64           // its busy share
	for _, name := range names {
		if v, busy, ok := saturatedOn(live, name); ok {
			steps[name] = v
			saturated = append(saturated, v)
			worst = append(worst, busy)
		} else if v, ok := behindOn(live, name); ok {
			steps[name] = v
		}
	}
	if len(steps) == 0 {
		steps = nil
	}
	for _, w := range live {
		if w.Waiting != "" {
			return WorkerVerdict{Worker: w.Worker, Reason: fmt.Sprintf("worker %s waits: %s", w.Worker, w.Waiting)}, steps
		}
	}
	if len(saturated) > 0 {
		i := 0
		for j := range worst {
			if worst[j] > worst[i] {
				i = j
			}
		}
		return saturated[i], steps
	}
	if v, ok := mostBehind(live); ok {
		return v, steps
	}
	if len(live) == 0 {
		return WorkerVerdict{Reason: "no worker publishes its figures"}, steps
	}
	return WorkerVerdict{Reason: "no bottleneck: no worker is saturated, waiting or behind"}, steps
}

// saturatedOn finds the worker whose subtask of step is the busiest, when it is saturated,
// and says how it compares with the other workers running the step.
func saturatedOn(live []WorkerView, step string) (WorkerVerdict, float64, bool) {
	var best *WorkerView
	var fig StepFigures
	var others []float64
	for i := range live {
		for _, s := range live[i].Steps {
			if s.Step != step {
				continue
			}
			if best == nil || s.BusiestBusy > fig.BusiestBusy {
				if best != nil {
					others = append(others, fig.BusiestBusy)
				}
				best, fig = &live[i], s
			} else {
				others = append(others, s.BusiestBusy)
			}
		}
	}
	if best == nil || fig.BusiestBusy < busyLimit || fig.Backpressure >= pressureLimit {
		return WorkerVerdict{}, 0, false
	}
	reason := fmt.Sprintf("worker %s: busy %.0f%% on %s", best.Worker, fig.BusiestBusy*100, step)
	switch {
	case fig.KeyGroups > 0 && best.TotalKeyGroups > 0:
		reason += fmt.Sprintf(", %d of %d key groups", fig.KeyGroups, best.TotalKeyGroups)
	case fig.Subtasks > 1:
		reason += fmt.Sprintf(", subtask %d of %d", fig.BusiestSubtask, fig.Subtasks)
	}
	if len(others) > 0 {
		var sum float64
		for _, b := range others {
			sum += b
		}
		if len(others) == 1 {
			reason += fmt.Sprintf("; the other worker on it %.0f%%", sum*100)
		} else {
			reason += fmt.Sprintf("; the %d other workers on it %.0f%% on average", len(others), sum/float64(len(others))*100)
		}
	}
	return WorkerVerdict{Worker: best.Worker, Step: step, Reason: reason}, fig.BusiestBusy, true
}

// behindOn finds the worker whose source step lags the most seconds of its input, when
// that is at least behindSeconds.
func behindOn(live []WorkerView, step string) (WorkerVerdict, bool) {
	var out WorkerVerdict
	most := -1.0
	for _, w := range live {
		for _, s := range w.Steps {
			if s.Step != step || s.LagRecords == nil {
				continue
			}
			if secs, ok := behind(*s.LagRecords, s.InRate); ok && secs > most {
				most = secs
				out = WorkerVerdict{Worker: w.Worker, Step: step,
					Reason: fmt.Sprintf("worker %s: lag %s records on %s%s", w.Worker, count(*s.LagRecords), step, lagTime(secs))}
			}
		}
	}
	return out, most >= 0
}

// mostBehind finds the worker whose partitions lag the most seconds of its input, when that
// is at least behindSeconds, and names its most lagging partition.
func mostBehind(live []WorkerView) (WorkerVerdict, bool) {
	var out WorkerVerdict
	most := -1.0
	for _, w := range live {
		secs, ok := behind(w.LagRecords, w.InRate)
		if !ok || secs <= most {
			continue
		}
		most = secs
		reason := fmt.Sprintf("worker %s: lag %s records", w.Worker, count(w.LagRecords))
		if m := w.MaxLag; m != nil && m.Records == w.LagRecords {
			reason += " on " + m.Partition
		} else if m != nil {
			reason += fmt.Sprintf(", %s on %s", count(m.Records), m.Partition)
		}
		out = WorkerVerdict{Worker: w.Worker, Reason: reason + lagTime(secs)}
	}
	return out, most >= 0
}

// behind says how many seconds of input at rate a lag of records is, and whether that is
// enough to be behind. A lag without input is behind without end (+Inf seconds).
func behind(records int64, rate float64) (float64, bool) {
	if records <= 0 {
		return 0, false
	}
	if rate <= 0 {
		return math.Inf(1), true
	}
	secs := float64(records) / rate
	return secs, secs >= behindSeconds
}

// lagTime says how long a lag of secs seconds of input takes to read, or that nothing is
// being read.
func lagTime(secs float64) string {
	if math.IsInf(secs, 1) {
		return ", and reads nothing"
	}
	return fmt.Sprintf(", %.0f s of its input", secs)
}

// count writes n with a space between groups of three digits: 40 000.
func count(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := n < 0
	if neg {
		s = s[1:]
	}
	var out []byte
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ' ')
		}
		out = append(out, s[i])
	}
	if neg {
		return "-" + string(out)
	}
	return string(out)
}
