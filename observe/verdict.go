package observe

import (
	"fmt"
	"sort"

	"millrace/engine"
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
}

// Thresholds of the verdict: a node busier than busyLimit is saturated; upstream blocked
// more than pressureLimit of the time is held back by what follows it.
const (
	busyLimit     = 0.8
	pressureLimit = 0.5
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
		kind[st.Name] = st.Kind
	}
	load := map[string]NodeLoad{}
	for _, n := range cur.Nodes {
		b := before[n.Name]
		span := elapsed * float64(n.Parallelism)
		blocked := (n.Backpressure - b.Backpressure).Seconds()
		work := (n.Busy - b.Busy).Seconds() - blocked // Process blocks inside Collect
		l := NodeLoad{
			ID: n.Name, Kind: kind[n.Name], Parallelism: n.Parallelism,
			InRate:       float64(n.RowsIn-b.RowsIn) / elapsed,
			OutRate:      float64(n.RowsOut-b.RowsOut) / elapsed,
			Busy:         clamp(work / span),
			Backpressure: clamp(blocked / span),
		}
		if l.Kind == "source" {
			l.InRate = float64(n.Read-b.Read) / elapsed
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

// verdict picks the bottleneck: the busiest saturated node that is not itself held back
// by what follows it. Its upstream's backpressure, when high, is the evidence quoted.
func verdict(nodes []NodeLoad, upstream map[string][]string, load map[string]NodeLoad) Verdict {
	candidates := make([]NodeLoad, 0, len(nodes))
	for _, n := range nodes {
		if n.Busy >= busyLimit && n.Backpressure < pressureLimit {
			candidates = append(candidates, n)
		}
	}
	if len(candidates) == 0 {
		return Verdict{Reason: "no bottleneck: no step is saturated; the sources deliver all there is"}
	}
	sort.SliceStable(candidates, func(i, j int) bool { return candidates[i].Busy > candidates[j].Busy })
	n := candidates[0]
	var held float64
	for _, u := range upstream[n.ID] {
		held = max(held, load[u].Backpressure)
	}
	what := fmt.Sprintf("%s %q", n.Kind, n.ID)
	if n.Kind == "sink" {
		return Verdict{Node: n.ID, Reason: fmt.Sprintf("%s is slow: upstream steps are backpressured %.0f%% of the time", what, held*100)}
	}
	reason := fmt.Sprintf("%s is CPU-bound: busy %.0f%% with parallelism %d", what, n.Busy*100, n.Parallelism)
	if held >= pressureLimit {
		reason += fmt.Sprintf("; upstream is backpressured %.0f%% of the time", held*100)
	}
	return Verdict{Node: n.ID, Reason: reason}
}

func clamp(f float64) float64 { return min(max(f, 0), 1) }
