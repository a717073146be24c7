package cluster

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
	"time"

	"millrace/engine"
	"millrace/observe"
	"millrace/plan"
)

// WorkerStatus is what one worker of a cluster publishes about itself to its pipeline's
// status topic (StatusTopic), keyed by Worker, as JSON: who it is, what it owns, how far
// behind it is, its newest checkpoint, what it waits for, and each step's figures.
type WorkerStatus struct {
	Worker   string `json:"worker"`
	Pipeline string `json:"pipeline"`
	Host     string `json:"host"`
	PID      int    `json:"pid"`
	// Started is when the worker started; Updated when it published this status.
	Started time.Time `json:"started"`
	Updated time.Time `json:"updated"`
	// Generation is the consumer group's generation of the worker's assignment.
	Generation int32 `json:"generation"`
	// Owned are the partitions the group assigned to the worker, with their lag.
	Owned []OwnedPartition `json:"owned"`
	// KeyGroups is the number of key groups a keyed step hashes into (the plan's, 256).
	KeyGroups int `json:"key_groups"`
	// Checkpoint is the newest checkpoint the worker completed; nil before its first.
	Checkpoint *CheckpointStatus `json:"checkpoint,omitempty"`
	// RebalancePause is the pause of the worker's last rebalance in seconds, from the
	// revocation (or first assignment) of its partitions until it processed again;
	// Rebalances counts its rebalances so far.
	RebalancePause float64 `json:"rebalance_pause_s"`
	Rebalances     int     `json:"rebalances"`
	// Prewarm is what the worker read ahead before it joined and what its restores took
	// of it; nil when it reads nothing ahead.
	Prewarm *PrewarmStatus `json:"prewarm,omitempty"`
	// Waiting says what the worker waits for, if anything ("broker unreachable: ...",
	// "object store: ..."); empty while it works.
	Waiting string `json:"waiting,omitempty"`
	// Steps are the figures of every step the worker runs (StepStatus makes them).
	Steps []observe.StepFigures `json:"steps"`
	// Stale is set by the readers of the topic, never published: the worker has not
	// published for longer than StaleAfter, so it may be gone without having said so.
	Stale bool `json:"stale,omitempty"`
}

// OwnedPartition is a partition a worker owns and its lag.
type OwnedPartition struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	// Step, for a partition of an exchange topic between two stages, is the step the topic
	// feeds: the partition is one of that step's key groups. Empty for input topics.
	Step string `json:"step,omitempty"`
	// Lag is the records the partition holds past the worker's position.
	Lag int64 `json:"lag"`
}

// OwnedFrom lists the partitions the group assigned a worker of pipeline (topic to
// partitions, as kgo's OnPartitionsAssigned gives them) with their lag (topic to partition
// to records; a partition missing has none), sorted by topic and partition. A partition of
// one of the pipeline's exchange topics (millrace.<pipeline>.<step>, or, for each input of
// a join, millrace.<pipeline>.<step>.<input>) is named by its step.
func OwnedFrom(pipeline string, assigned map[string][]int32, lag map[string]map[int32]int64) []OwnedPartition {
	exchange := statusPrefix + pipeline + "."
	var out []OwnedPartition
	for topic, parts := range assigned {
		step, _ := strings.CutPrefix(topic, exchange)
		if step == topic {
			step = ""
		}
		if base, input, ok := strings.Cut(step, "."); ok && input != "" && strings.Trim(input, "0123456789") == "" {
			step = base // a join's input
		}
		for _, p := range parts {
			out = append(out, OwnedPartition{Topic: topic, Partition: p, Step: step, Lag: lag[topic][p]})
		}
	}
	slices.SortFunc(out, func(a, b OwnedPartition) int {
		return cmp.Or(strings.Compare(a.Topic, b.Topic), cmp.Compare(a.Partition, b.Partition))
	})
	return out
}

// PrewarmStatus is what a worker read of the key groups' state before it joined the group
// (pre-warming), and what the restores of its assignments took of it.
type PrewarmStatus struct {
	// Pieces and Bytes are the pieces of state read ahead.
	Pieces int64 `json:"pieces"`
	Bytes  int64 `json:"bytes"`
	// Hits and HitBytes are the pieces restores took from what was read ahead; ReadBytes
	// the bytes they read from the store meanwhile past each object's first read (its
	// header and up to 64 KiB after it).
	Hits      int64 `json:"hits"`
	HitBytes  int64 `json:"hit_bytes"`
	ReadBytes int64 `json:"read_bytes"`
}

// CheckpointStatus is the newest checkpoint a worker completed.
type CheckpointStatus struct {
	ID uint64    `json:"id"`
	At time.Time `json:"at"`
	// Units is how many state objects (one per stage and key group) it wrote.
	Units int `json:"units"`
}

// StaleAfter is how long after its last status a worker counts as stale. Workers publish
// every second, so a stale worker has missed ten.
const StaleAfter = 10 * time.Second

// StepStatus derives the figures of every step a worker runs from two snapshots of its
// engine's run, prev and cur (an empty Stats for prev gives the figures since the start),
// with the plan p they run: rates and shares between the two, as the dashboard computes
// them (observe.Diagnose). Each keyed step is given the number of its key groups among
// owned. It is a pure function of its inputs.
func StepStatus(p *plan.Plan, prev, cur *engine.Stats, owned []OwnedPartition) []observe.StepFigures {
	groups := map[string]int{}
	seen := map[OwnedPartition]bool{} // a join reads key group k of two topics: one key group
	for _, o := range owned {
		k := OwnedPartition{Step: o.Step, Partition: o.Partition}
		if o.Step != "" && !seen[k] {
			seen[k] = true
			groups[o.Step]++
		}
	}
	top := observe.Diagnose(p, prev, cur)
	out := make([]observe.StepFigures, 0, len(top.Nodes))
	for _, n := range top.Nodes {
		f := observe.StepFiguresOf(n)
		f.KeyGroups = groups[n.ID]
		out = append(out, f)
	}
	return out
}

// StatusMeter fills the part of a worker's status that its engine measures, with rates and
// shares over the last few seconds of the run, as the dashboard measures them. It is safe
// for concurrent use.
type StatusMeter struct {
	plan   *plan.Plan
	window observe.LoadWindow
}

// NewStatusMeter returns a meter of runs of p.
func NewStatusMeter(p *plan.Plan) *StatusMeter { return &StatusMeter{plan: p} }

// Fill sets s.Steps from cur, the newest snapshot of the worker's run (nil before it
// starts: no steps), each keyed step's key groups counted in s.Owned; and, when s.Waiting
// is empty and a source partition's reader cannot reach its broker, s.Waiting to
// "broker unreachable: " and why.
func (m *StatusMeter) Fill(s *WorkerStatus, cur *engine.Stats) {
	if cur == nil {
		s.Steps = []observe.StepFigures{}
		return
	}
	s.Steps = StepStatus(m.plan, m.window.Base(cur), cur, s.Owned)
	if s.Waiting == "" {
		s.Waiting = unreachable(cur)
	}
}

// unreachable is "broker unreachable: " and why for the first source partition (by node,
// then partition) whose reader cannot reach its broker, or "".
func unreachable(cur *engine.Stats) string {
	for _, n := range cur.Nodes {
		if len(n.Unreachable) == 0 {
			continue
		}
		parts := make([]int, 0, len(n.Unreachable))
		for p := range n.Unreachable {
			parts = append(parts, p)
		}
		slices.Sort(parts)
		return "broker unreachable: " + n.Unreachable[parts[0]]
	}
	return ""
}

// markStale sets Stale on the statuses last updated more than StaleAfter before now.
func markStale(ws []WorkerStatus, now time.Time) {
	for i := range ws {
		ws[i].Stale = now.Sub(ws[i].Updated) > StaleAfter
	}
}

// View is the worker as the dashboard shows it: what it owns written compactly and
// counted, its total lag and most lagging partition, the rate its sources read.
func (s WorkerStatus) View() observe.WorkerView {
	v := observe.WorkerView{Worker: s.Worker, Host: s.Host, PID: s.PID, Started: s.Started, Updated: s.Updated,
		Generation: s.Generation, Owned: CompactOwned(s.Owned), Partitions: len(s.Owned), TotalKeyGroups: s.KeyGroups,
		RebalancePause: s.RebalancePause, Rebalances: s.Rebalances, Waiting: s.Waiting, Stale: s.Stale, Steps: s.Steps}
	if v.Steps == nil {
		v.Steps = []observe.StepFigures{}
	}
	for _, o := range s.Owned {
		if o.Step != "" {
			v.KeyGroups++
		}
		v.LagRecords += o.Lag
		if o.Lag > 0 && (v.MaxLag == nil || o.Lag > v.MaxLag.Records) {
			v.MaxLag = &observe.PartitionLag{Partition: o.name(), Records: o.Lag}
		}
	}
	for _, st := range s.Steps {
		if st.Kind == string(plan.KindSource) {
			v.InRate += st.InRate
		}
	}
	if c := s.Checkpoint; c != nil {
		v.Checkpoint = &observe.CheckpointView{ID: c.ID, At: c.At, Units: c.Units}
	}
	return v
}

// name is how the partition is written alone: topic/partition, or the step and the key
// group for an exchange topic.
func (o OwnedPartition) name() string {
	if o.Step != "" {
		return o.Step + " " + strconv.Itoa(int(o.Partition))
	}
	return o.Topic + "/" + strconv.Itoa(int(o.Partition))
}

// CompactOwned writes owned partitions compactly, input topics first and then the steps of
// exchange topics, each by name, with runs of partitions as ranges: "tx/0-3,6
// velocity 0-127".
func CompactOwned(owned []OwnedPartition) string {
	type group struct {
		name     string
		exchange bool
		parts    []int32
	}
	var groups []*group
	find := func(name string, exchange bool) *group {
		for _, g := range groups {
			if g.name == name && g.exchange == exchange {
				return g
			}
		}
		g := &group{name: name, exchange: exchange}
		groups = append(groups, g)
		return g
	}
	for _, o := range owned {
		var g *group
		if o.Step != "" {
			g = find(o.Step, true)
		} else {
			g = find(o.Topic, false)
		}
		g.parts = append(g.parts, o.Partition)
	}
	slices.SortFunc(groups, func(a, b *group) int {
		if a.exchange != b.exchange {
			if a.exchange {
				return 1
			}
			return -1
		}
		return cmp.Compare(a.name, b.name)
	})
	words := make([]string, len(groups))
	for i, g := range groups {
		sep := "/"
		if g.exchange {
			sep = " "
		}
		words[i] = g.name + sep + ranges(g.parts)
	}
	return strings.Join(words, " ")
}

// ranges writes partition numbers as sorted runs: "0-3,6,9-10".
func ranges(parts []int32) string {
	parts = slices.Clone(parts)
	slices.Sort(parts)
	parts = slices.Compact(parts)
	var b strings.Builder
	for i := 0; i < len(parts); {
		j := i
		for j+1 < len(parts) && parts[j+1] == parts[j]+1 {
			j++
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(int(parts[i])))
		if j > i {
			b.WriteByte('-')
			b.WriteString(strconv.Itoa(int(parts[j])))
		}
		i = j + 1
	}
	return b.String()
}
