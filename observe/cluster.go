package observe

import (
	"time"
)

// StepFigures are one step's figures on one worker of a cluster, over the last few seconds
// of that worker's run: what the worker publishes about each step it runs, and what the
// dashboard shows per worker.
type StepFigures struct {
	Step string `json:"step"`
	Kind string `json:"kind,omitempty"`
	// Subtasks is the step's parallelism on the worker.
	Subtasks int     `json:"subtasks"`
	InRate   float64 `json:"in_rate"`  // rows per second
	OutRate  float64 `json:"out_rate"` // rows per second
	// Busy and Backpressure are shares of the subtasks' time, as in NodeLoad;
	// BusiestSubtask is the subtask with the largest busy share, BusiestBusy that share.
	Busy           float64 `json:"busy"`
	Backpressure   float64 `json:"backpressure"`
	BusiestSubtask int     `json:"busiest_subtask"`
	BusiestBusy    float64 `json:"busiest_busy"`
	// WatermarkLag is how far the step's event time is behind the wall clock, in seconds;
	// null before its first watermark and after its last.
	WatermarkLag *float64 `json:"watermark_lag_s"`
	StateBytes   int64    `json:"state_bytes"`
	// LagRecords is, for a source that knows it, the records its partitions on the worker
	// hold at the broker past the positions read.
	LagRecords *int64 `json:"lag_records,omitempty"`
	// KeyGroups is how many key groups of the step the worker owns, for a step behind a
	// keyed exchange; 0 otherwise.
	KeyGroups int `json:"key_groups,omitempty"`
}

// StepFiguresOf is the part of a node's load that a worker publishes about its step.
func StepFiguresOf(n NodeLoad) StepFigures {
	return StepFigures{Step: n.ID, Kind: n.Kind, Subtasks: n.Parallelism, InRate: n.InRate, OutRate: n.OutRate,
		Busy: n.Busy, Backpressure: n.Backpressure, BusiestSubtask: n.BusiestSubtask, BusiestBusy: n.BusiestBusy,
		WatermarkLag: n.WatermarkLag, StateBytes: n.StateBytes, LagRecords: n.LagRecords}
}

// PartitionLag is the lag of one partition a worker consumes.
type PartitionLag struct {
	// Partition names it as topic/partition, or, for an exchange topic between two stages,
	// as the step it feeds followed by the key group ("velocity 17").
	Partition string `json:"partition"`
	Records   int64  `json:"records"`
}

// CheckpointView is the newest checkpoint a worker completed.
type CheckpointView struct {
	ID uint64    `json:"id"`
	At time.Time `json:"at"`
	// Units is how many state objects (one per stage and key group) it wrote.
	Units int `json:"units"`
}

// WorkerView is one worker of a cluster as the dashboard and the API show it, from the
// figures the worker last published.
type WorkerView struct {
	Worker     string    `json:"worker"`
	Host       string    `json:"host"`
	PID        int       `json:"pid"`
	Started    time.Time `json:"started"`
	Updated    time.Time `json:"updated"`
	Generation int32     `json:"generation"`
	// Owned lists what the worker owns compactly: "tx/0-3 velocity 0-127". Partitions
	// counts every partition it owns; KeyGroups those of exchange topics, each a key group
	// of the step it feeds.
	Owned      string `json:"owned"`
	Partitions int    `json:"partitions"`
	KeyGroups  int    `json:"key_groups"`
	// TotalKeyGroups is the number of key groups a keyed step hashes into (256).
	TotalKeyGroups int `json:"total_key_groups,omitempty"`
	// LagRecords sums the lag of the partitions the worker owns; MaxLag is its most
	// lagging partition, when one lags at all.
	LagRecords int64         `json:"lag_records"`
	MaxLag     *PartitionLag `json:"max_lag,omitempty"`
	// InRate is the rows per second the worker's sources read.
	InRate     float64         `json:"in_rate"`
	Checkpoint *CheckpointView `json:"checkpoint,omitempty"`
	// RebalancePause is the pause of the last rebalance, in seconds; Rebalances counts them.
	RebalancePause float64 `json:"rebalance_pause_s"`
	Rebalances     int     `json:"rebalances"`
	// Waiting says what the worker waits for, if anything: "broker unreachable: ...",
	// "object store: ...".
	Waiting string `json:"waiting,omitempty"`
	// Stale is true when the worker has not published for longer than the staleness bound:
	// it may be gone without having said so.
	Stale bool          `json:"stale"`
	Steps []StepFigures `json:"steps"`
}

// ClusterView is the whole cluster as /api/cluster shows it: every worker that published,
// the worker that holds the cluster back and why, and per step the worker that holds that
// step back, where one does.
type ClusterView struct {
	Workers []WorkerView             `json:"workers"`
	Verdict WorkerVerdict            `json:"verdict"`
	Steps   map[string]WorkerVerdict `json:"steps,omitempty"`
}

// NewClusterView puts workers together with the verdicts BlameWorkers gives.
func NewClusterView(workers []WorkerView) ClusterView {
	if workers == nil {
		workers = []WorkerView{}
	}
	overall, steps := BlameWorkers(workers)
	return ClusterView{Workers: workers, Verdict: overall, Steps: steps}
}
