package observe

import (
	"reflect"
	"testing"
)

func TestBlameWorkers(t *testing.T) {
	lag := func(n int64) *int64 { return &n }
	velocity := func(busiest, backpressure float64, groups int) StepFigures {
		return StepFigures{Step: "velocity", Kind: "window aggregate", Subtasks: 2, BusiestSubtask: 1, BusiestBusy: busiest,
			Busy: busiest / 2, Backpressure: backpressure, KeyGroups: groups}
	}
	source := func(rate float64, records int64) StepFigures {
		return StepFigures{Step: "tx", Kind: "source", Subtasks: 1, InRate: rate, BusiestBusy: 0.2, LagRecords: lag(records)}
	}
	worker := func(id string, steps ...StepFigures) WorkerView {
		w := WorkerView{Worker: id, TotalKeyGroups: 256, Steps: steps}
		for _, s := range steps {
			if s.Kind == "source" {
				w.InRate += s.InRate
				w.LagRecords += *s.LagRecords
			}
		}
		return w
	}
	withMaxLag := func(w WorkerView, partition string, records int64) WorkerView {
		w.MaxLag = &PartitionLag{Partition: partition, Records: records}
		return w
	}
	waiting := worker("w3", source(0, 0), velocity(0, 0, 85))
	waiting.Waiting = "broker unreachable: 10.0.0.5:9092: connection refused"
	stale := worker("w9", source(1000, 0), velocity(0.99, 0, 10))
	stale.Stale = true

	for _, c := range []struct {
		name    string
		workers []WorkerView
		want    WorkerVerdict
		steps   map[string]WorkerVerdict
	}{
		{name: "nobody publishes", want: WorkerVerdict{Reason: "no worker publishes its figures"}},
		{
			name:    "quiet",
			workers: []WorkerView{worker("w1", source(1000, 10), velocity(0.3, 0, 128)), worker("w2", source(1000, 0), velocity(0.2, 0, 128))},
			want:    WorkerVerdict{Reason: "no bottleneck: no worker is saturated, waiting or behind"},
		},
		{
			name: "one worker saturated on a keyed step",
			workers: []WorkerView{worker("w1", source(1000, 0), velocity(0.4, 0, 122)), worker("w2", source(1000, 0), velocity(0.97, 0, 12)),
				worker("w3", source(1000, 0), velocity(0.2, 0, 122))},
			want: WorkerVerdict{Worker: "w2", Step: "velocity", Reason: "worker w2: busy 97% on velocity, 12 of 256 key groups; the 2 other workers on it 30% on average"},
			steps: map[string]WorkerVerdict{"velocity": {Worker: "w2", Step: "velocity",
				Reason: "worker w2: busy 97% on velocity, 12 of 256 key groups; the 2 other workers on it 30% on average"}},
		},
		{
			name:    "saturated without key groups names the subtask",
			workers: []WorkerView{worker("w1", velocity(0.9, 0, 0)), worker("w2", velocity(0.5, 0, 0))},
			want:    WorkerVerdict{Worker: "w1", Step: "velocity", Reason: "worker w1: busy 90% on velocity, subtask 1 of 2; the other worker on it 50%"},
			steps: map[string]WorkerVerdict{"velocity": {Worker: "w1", Step: "velocity",
				Reason: "worker w1: busy 90% on velocity, subtask 1 of 2; the other worker on it 50%"}},
		},
		{
			name:    "busy but held back by what follows is not the bottleneck",
			workers: []WorkerView{worker("w1", source(1000, 0), velocity(0.95, 0.6, 128))},
			want:    WorkerVerdict{Reason: "no bottleneck: no worker is saturated, waiting or behind"},
		},
		{
			name: "behind on a partition",
			workers: []WorkerView{withMaxLag(worker("w1", source(2000, 40000), velocity(0.5, 0, 128)), "tx/3", 40000),
				worker("w2", source(2000, 100), velocity(0.5, 0, 128))},
			want:  WorkerVerdict{Worker: "w1", Reason: "worker w1: lag 40 000 records on tx/3, 20 s of its input"},
			steps: map[string]WorkerVerdict{"tx": {Worker: "w1", Step: "tx", Reason: "worker w1: lag 40 000 records on tx, 20 s of its input"}},
		},
		{
			name:    "a lag spread over partitions names the worst one",
			workers: []WorkerView{withMaxLag(worker("w1", source(1000, 52000)), "tx/3", 40000)},
			want:    WorkerVerdict{Worker: "w1", Reason: "worker w1: lag 52 000 records, 40 000 on tx/3, 52 s of its input"},
			steps:   map[string]WorkerVerdict{"tx": {Worker: "w1", Step: "tx", Reason: "worker w1: lag 52 000 records on tx, 52 s of its input"}},
		},
		{
			name:    "a lag that reads nothing is behind",
			workers: []WorkerView{withMaxLag(worker("w1", source(0, 7)), "tx/0", 7)},
			want:    WorkerVerdict{Worker: "w1", Reason: "worker w1: lag 7 records on tx/0, and reads nothing"},
			steps:   map[string]WorkerVerdict{"tx": {Worker: "w1", Step: "tx", Reason: "worker w1: lag 7 records on tx, and reads nothing"}},
		},
		{
			name:    "a lag of a second of input is data in flight",
			workers: []WorkerView{withMaxLag(worker("w1", source(5000, 5000)), "tx/0", 5000)},
			want:    WorkerVerdict{Reason: "no bottleneck: no worker is saturated, waiting or behind"},
		},
		{
			name:    "a waiting worker comes first",
			workers: []WorkerView{worker("w2", source(1000, 0), velocity(0.97, 0, 85)), waiting},
			want:    WorkerVerdict{Worker: "w3", Reason: "worker w3 waits: broker unreachable: 10.0.0.5:9092: connection refused"},
			steps: map[string]WorkerVerdict{"velocity": {Worker: "w2", Step: "velocity",
				Reason: "worker w2: busy 97% on velocity, 85 of 256 key groups; the other worker on it 0%"}},
		},
		{
			name:    "stale workers are left out",
			workers: []WorkerView{stale, worker("w1", source(1000, 0), velocity(0.4, 0, 246))},
			want:    WorkerVerdict{Reason: "no bottleneck: no worker is saturated, waiting or behind"},
		},
		{
			name: "the busiest of two saturated steps",
			workers: []WorkerView{worker("w1", StepFigures{Step: "tx", Kind: "source", Subtasks: 1, BusiestBusy: 0.85, LagRecords: lag(0)}, velocity(0.5, 0, 128)),
				worker("w2", source(1000, 0), velocity(0.95, 0, 128))},
			want: WorkerVerdict{Worker: "w2", Step: "velocity", Reason: "worker w2: busy 95% on velocity, 128 of 256 key groups; the other worker on it 50%"},
			steps: map[string]WorkerVerdict{
				"tx":       {Worker: "w1", Step: "tx", Reason: "worker w1: busy 85% on tx; the other worker on it 20%"},
				"velocity": {Worker: "w2", Step: "velocity", Reason: "worker w2: busy 95% on velocity, 128 of 256 key groups; the other worker on it 50%"},
			},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, steps := BlameWorkers(c.workers)
			if got != c.want {
				t.Errorf("verdict\n%+v\nwant\n%+v", got, c.want)
			}
			if !reflect.DeepEqual(steps, c.steps) {
				t.Errorf("verdicts per step\n%+v\nwant\n%+v", steps, c.steps)
			}
		})
	}
}

func TestCount(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 7: "7", 999: "999", 1000: "1 000", 40000: "40 000", 1234567: "1 234 567", -52000: "-52 000"} {
		if got := count(n); got != want {
			t.Errorf("count(%d) = %q, want %q", n, got, want)
		}
	}
}
