package observe

import (
	"fmt"
	"sort"
	"time"

	"millrace/engine"
	"millrace/op"
	"millrace/plan"
)

// NodeLoad is how hard one node worked between two snapshots of a run.
type NodeLoad struct {
	ID          string  `json:"id"`
	Kind        string  `json:"kind"`
	Parallelism int     `json:"parallelism"`
	InRate      float64 `json:"in_rate"`  // rows per second
	OutRate     float64 `json:"out_rate"` // rows per second
	// Busy is the share of its subtasks' time spent working (handling messages, not counting
	// time blocked on a full downstream channel); Backpressure the share spent blocked.
	Busy         float64 `json:"busy"`
	Backpressure float64 `json:"backpressure"`
	// Idle is the share spent waiting for input.
	Idle float64 `json:"idle"`
	// BusiestSubtask is the subtask with the largest busy share, BusiestBusy that share.
	BusiestSubtask int     `json:"busiest_subtask"`
	BusiestBusy    float64 `json:"busiest_busy"`
	// QueueFill is the share of the input channels' capacity holding messages now.
	QueueFill float64 `json:"queue_fill"`
	// WatermarkLag is how far the node's event time is behind the wall clock, in seconds;
	// null before its first watermark and after its last.
	WatermarkLag *float64 `json:"watermark_lag_s"`
	// LatencyP50 and LatencyP99 are quantiles of the time from ingest to this node, in
	// milliseconds; null when no latency marker arrived in the window.
	LatencyP50 *float64 `json:"latency_p50_ms"`
	LatencyP99 *float64 `json:"latency_p99_ms"`
	StateBytes int64    `json:"state_bytes"`
	// BacklogBytes is the input a source has left, when it knows.
	BacklogBytes *int64 `json:"backlog_bytes,omitempty"`
	// LagRecords is the records a source's partitions hold at their broker past the
	// positions read, summed, and PartitionLag each partition's, for sources that know.
	LagRecords   *int64        `json:"lag_records,omitempty"`
	PartitionLag map[int]int64 `json:"partition_lag,omitempty"`
	// Unreachable maps each partition of a broker source whose reader cannot reach its
	// broker now to which broker and why: the source waits and reconnects by itself.
	Unreachable map[int]string `json:"unreachable,omitempty"`
	// HotKeys are the most frequent keys of a keyed node's recent input.
	HotKeys []HotKey `json:"hot_keys,omitempty"`
	// BottleneckWorker, in cluster mode, is the worker that holds this step back and why.
	BottleneckWorker *WorkerVerdict `json:"bottleneck_worker,omitempty"`
}

// HotKey is a key and its share of a keyed node's input.
type HotKey struct {
	Key     string  `json:"key"`
	Share   float64 `json:"share"`
	Subtask int     `json:"subtask"`
}

// EdgeLoad is the rate on one edge.
type EdgeLoad struct {
	From         string  `json:"from"`
	To           string  `json:"to"`
	Partitioning string  `json:"partitioning"`
	Rate         float64 `json:"rate"`
}

// Verdict names the node that limits throughput and says why, in words.
type Verdict struct {
	Node   string `json:"node"`
	Reason string `json:"reason"`
}

// Topology is the live dataflow with its load and the bottleneck verdict.
type Topology struct {
	Pipeline string     `json:"pipeline"`
	Nodes    []NodeLoad `json:"nodes"`
	Edges    []EdgeLoad `json:"edges"`
	Verdict  Verdict    `json:"verdict"`
	// Workers, in cluster mode, are every worker of the cluster with its figures per step,
	// and WorkerVerdict the worker that holds the cluster back and why.
	Workers       []WorkerView   `json:"workers,omitempty"`
	WorkerVerdict *WorkerVerdict `json:"worker_verdict,omitempty"`
}

// Thresholds of the verdict: a subtask busier than busyLimit is saturated; upstream blocked
// more than pressureLimit of the time is held back by what follows it; a key with at least
// hotShare of a node's input, owned by a subtask skewLimit times busier than the others'
// average, makes the node skewed.
const (
	busyLimit     = 0.8
	pressureLimit = 0.5
	hotShare      = 0.2
	skewLimit     = 1.5
)

// Diagnose computes the load of every node of p between snapshots prev and cur, and the
// verdict. It is a pure function of its inputs.
func Diagnose(p *plan.Plan, prev, cur *engine.Stats) Topology {
	t := Topology{Pipeline: p.Spec.Name}
	elapsed := (cur.Elapsed - prev.Elapsed).Seconds()
	if elapsed <= 0 {
		elapsed = 1
	}
	before := map[string]engine.NodeReport{}
	for _, n := range prev.Nodes {
		before[n.Name] = n
	}
	kind := map[string]string{}
	for _, st := range p.Steps {
		kind[st.Name] = string(st.Kind)
	}
	load := map[string]NodeLoad{}
	for _, n := range cur.Nodes {
		l := nodeLoad(n, before[n.Name], elapsed, cur.Taken)
		l.Kind = kind[n.Name]
		if l.Kind == string(plan.KindSource) {
			l.InRate = float64(n.Read-before[n.Name].Read) / elapsed
		}
		load[n.Name] = l
		t.Nodes = append(t.Nodes, l)
	}
	upstream := map[string][]string{}
	for _, st := range p.Steps {
		for _, in := range st.Inputs {
			upstream[st.Name] = append(upstream[st.Name], in.From)
			t.Edges = append(t.Edges, EdgeLoad{From: in.From, To: st.Name, Partitioning: in.Partitioning, Rate: load[st.Name].InRate})
		}
	}
	t.Verdict = verdict(t.Nodes, upstream, load)
	return t
}

// nodeLoad is the load of node n since b, elapsed seconds earlier, as seen at now.
func nodeLoad(n, b engine.NodeReport, elapsed float64, now time.Time) NodeLoad {
	l := NodeLoad{ID: n.Name, Parallelism: n.Parallelism,
		InRate:     float64(n.RowsIn-b.RowsIn) / elapsed,
		OutRate:    float64(n.RowsOut-b.RowsOut) / elapsed,
		StateBytes: n.StateBytes,
	}
	l.Busy, l.Backpressure, l.Idle = shares(n, b, elapsed*float64(n.Parallelism))
	l.BusiestBusy = l.Busy
	for i, sub := range n.Subtasks {
		var prev engine.NodeReport
		if i < len(b.Subtasks) {
			prev = b.Subtasks[i]
		}
		if busy, _, _ := shares(sub, prev, elapsed); i == 0 || busy > l.BusiestBusy {
			l.BusiestSubtask, l.BusiestBusy = sub.Subtask, busy
		}
	}
	if n.QueueCapacity > 0 {
		l.QueueFill = float64(n.Queued) / float64(n.QueueCapacity)
	}
	if n.Watermark != op.MinWatermark && n.Watermark != op.MaxWatermark && !now.IsZero() {
		lag := max(now.Sub(time.UnixMilli(n.Watermark)).Seconds(), 0)
		l.WatermarkLag = &lag
	}
	recent := n.Latency.Since(b.Latency)
	if p50, ok := recent.Quantile(0.5); ok {
		p99, _ := recent.Quantile(0.99)
		l.LatencyP50, l.LatencyP99 = ptr(ms(p50)), ptr(ms(p99))
	}
	if backlog := n.Backlog(); backlog >= 0 {
		l.BacklogBytes = &backlog
	}
	if n.Lag != nil {
		var total int64
		for _, lag := range n.Lag {
			total += lag
		}
		l.LagRecords, l.PartitionLag = &total, n.Lag
	}
	l.Unreachable = n.Unreachable
	for _, h := range n.HotKeys {
		l.HotKeys = append(l.HotKeys, HotKey{Key: h.Key, Share: h.Share, Subtask: h.Subtask})
	}
	return l
}

// shares are the fractions of span seconds a node (or subtask) spent working, blocked on
// its downstream, and waiting for input, since snapshot b.
func shares(n, b engine.NodeReport, span float64) (busy, blocked, idle float64) {
	bp := (n.Backpressure - b.Backpressure).Seconds()
	work := (n.Busy - b.Busy).Seconds() - bp // Process blocks inside Collect
	return clamp(work / span), clamp(bp / span), clamp((n.Idle - b.Idle).Seconds() / span)
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func ptr[T any](v T) *T { return &v }

// verdict picks the bottleneck: the node with the busiest saturated subtask that is not
// itself held back by what follows it. A hot key owned by that subtask makes it skew; the
// upstream's backpressure, when high, is the evidence quoted.
func verdict(nodes []NodeLoad, upstream map[string][]string, load map[string]NodeLoad) Verdict {
	candidates := make([]NodeLoad, 0, len(nodes))
	for _, n := range nodes {
		if n.BusiestBusy >= busyLimit && n.Backpressure < pressureLimit {
			candidates = append(candidates, n)
		}
	}
	if len(candidates) == 0 {
		return Verdict{Reason: "no bottleneck: no step is saturated; the sources deliver all there is"}
	}
	sort.SliceStable(candidates, func(i, j int) bool { return candidates[i].BusiestBusy > candidates[j].BusiestBusy })
	n := candidates[0]
	var held float64
	for _, u := range upstream[n.ID] {
		held = max(held, load[u].Backpressure)
	}
	what := fmt.Sprintf("%s %q", n.Kind, n.ID)
	if n.Kind == string(plan.KindSink) {
		return Verdict{Node: n.ID, Reason: fmt.Sprintf("%s is slow: upstream steps are backpressured %.0f%% of the time", what, held*100)}
	}
	others := othersBusy(n)
	if n.Parallelism > 1 && n.BusiestBusy >= skewLimit*others {
		if hot := n.HotKeys; len(hot) > 0 && hot[0].Share >= hotShare && hot[0].Subtask == n.BusiestSubtask {
			return Verdict{Node: n.ID, Reason: fmt.Sprintf("key %q of %s takes %.0f%% of its input: skew; subtask %d is busy %.0f%%, the others %.0f%% on average",
				hot[0].Key, what, hot[0].Share*100, n.BusiestSubtask, n.BusiestBusy*100, others*100)}
		}
		return Verdict{Node: n.ID, Reason: fmt.Sprintf("%s is uneven: subtask %d is busy %.0f%%, the others %.0f%% on average; its key groups carry unequal load",
			what, n.BusiestSubtask, n.BusiestBusy*100, others*100)}
	}
	reason := fmt.Sprintf("%s is CPU-bound: busy %.0f%% with parallelism %d", what, n.Busy*100, n.Parallelism)
	if held >= pressureLimit {
		reason += fmt.Sprintf("; upstream is backpressured %.0f%% of the time", held*100)
	}
	return Verdict{Node: n.ID, Reason: reason}
}

// othersBusy is the average busy share of a node's subtasks other than its busiest.
func othersBusy(n NodeLoad) float64 {
	if n.Parallelism < 2 {
		return 0
	}
	return max((n.Busy*float64(n.Parallelism)-n.BusiestBusy)/float64(n.Parallelism-1), 0)
}

func clamp(f float64) float64 { return min(max(f, 0), 1) }
