package observe

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"millrace/engine"
	"millrace/listen"
)

// fakeCluster is a cluster of three workers of the verdicts pipeline (testPlan): w2 is
// saturated on velocity, w9 stopped publishing.
func fakeCluster() []WorkerView {
	lag := func(n int64) *int64 { return &n }
	at := time.Date(2026, 12, 6, 23, 0, 0, 0, time.UTC)
	step := func(busiest float64, groups int) []StepFigures {
		return []StepFigures{
			{Step: "tx", Kind: "source", Subtasks: 1, InRate: 1000, OutRate: 1000, BusiestBusy: 0.1, Busy: 0.1, LagRecords: lag(20)},
			{Step: "velocity", Kind: "view", Subtasks: 2, InRate: 1000, OutRate: 300, BusiestSubtask: 1, BusiestBusy: busiest, Busy: busiest * 0.8, KeyGroups: groups},
		}
	}
	return []WorkerView{
		{Worker: "w1", Host: "node-a", PID: 11, Updated: at, Generation: 4, Owned: "tx/0-1 velocity 0-243", Partitions: 246, KeyGroups: 244,
			TotalKeyGroups: 256, LagRecords: 20, InRate: 1000, Checkpoint: &CheckpointView{ID: 17, At: at, Units: 244}, RebalancePause: 0.42, Rebalances: 2,
			Steps: step(0.4, 244)},
		{Worker: "w2", Host: "node-b", PID: 12, Updated: at, Generation: 4, Owned: "tx/2-3 velocity 244-255", Partitions: 14, KeyGroups: 12,
			TotalKeyGroups: 256, LagRecords: 20, InRate: 1000, Checkpoint: &CheckpointView{ID: 9, At: at, Units: 12}, RebalancePause: 0.31, Rebalances: 2,
			Steps: step(0.97, 12)},
		{Worker: "w9", Host: "node-c", PID: 13, Updated: at.Add(-time.Minute), Generation: 3, Owned: "tx/4", Partitions: 1, Stale: true, Steps: step(0.99, 0)},
	}
}

// TestClusterEndpointsAndMetrics serves a finished run with a fake cluster and checks what
// /api/cluster, /api/topology and /metrics say of it.
func TestClusterEndpointsAndMetrics(t *testing.T) {
	p := testPlan(t)
	mon := &engine.Monitor{}
	rb := NewRebalances()
	srv, err := Listen(listen.Config{Addr: "127.0.0.1:0"}, p, mon, WithCluster(Cluster{Workers: fakeCluster, Rebalances: rb}))
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := srv.Close(); err != nil {
			t.Error(err)
		}
	}()
	get := func(path string) []byte {
		resp, err := http.Get("http://" + srv.Addr() + path)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		if cerr := resp.Body.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: status %d: %s", path, resp.StatusCode, body)
		}
		return body
	}
	// /api/cluster answers before the run starts: the cluster is there without it
	var view struct {
		Workers []map[string]any         `json:"workers"`
		Verdict WorkerVerdict            `json:"verdict"`
		Steps   map[string]WorkerVerdict `json:"steps"`
	}
	body := get("/api/cluster")
	if err := json.Unmarshal(body, &view); err != nil {
		t.Fatalf("/api/cluster: %v\n%s", err, body)
	}
	wantReason := "worker w2: busy 97% on velocity, 12 of 256 key groups; the other worker on it 40%"
	if len(view.Workers) != 3 || view.Verdict != (WorkerVerdict{Worker: "w2", Step: "velocity", Reason: wantReason}) {
		t.Fatalf("/api/cluster:\n%s", body)
	}
	if len(view.Steps) != 1 || view.Steps["velocity"].Worker != "w2" {
		t.Errorf("verdicts per step %+v, want w2 on velocity alone", view.Steps)
	}
	w1 := view.Workers[0]
	for key, want := range map[string]any{"worker": "w1", "host": "node-a", "pid": 11.0, "generation": 4.0, "owned": "tx/0-1 velocity 0-243",
		"partitions": 246.0, "key_groups": 244.0, "lag_records": 20.0, "rebalance_pause_s": 0.42, "stale": false} {
		if w1[key] != want {
			t.Errorf("worker w1: %s = %v, want %v", key, w1[key], want)
		}
	}
	if cp, ok := w1["checkpoint"].(map[string]any); !ok || cp["id"] != 17.0 || cp["units"] != 244.0 || cp["at"] != "2026-12-06T23:00:00Z" {
		t.Errorf("worker w1: checkpoint %v", w1["checkpoint"])
	}
	if steps, ok := w1["steps"].([]any); !ok || len(steps) != 2 || steps[1].(map[string]any)["key_groups"] != 244.0 {
		t.Errorf("worker w1: steps %v", w1["steps"])
	}

	opts := engine.DefaultOptions()
	opts.Monitor = mon
	if _, err := engine.Run(context.Background(), p.Graph, opts); err != nil {
		t.Fatal(err)
	}
	var top Topology
	body = get("/api/topology")
	if err := json.Unmarshal(body, &top); err != nil {
		t.Fatalf("/api/topology: %v\n%s", err, body)
	}
	if len(top.Workers) != 3 || top.WorkerVerdict == nil || top.WorkerVerdict.Worker != "w2" {
		t.Fatalf("topology without the cluster:\n%s", body)
	}
	for _, n := range top.Nodes {
		switch {
		case n.ID == "velocity" && (n.BottleneckWorker == nil || n.BottleneckWorker.Reason != wantReason):
			t.Errorf("node velocity: bottleneck worker %+v, want w2", n.BottleneckWorker)
		case n.ID != "velocity" && n.BottleneckWorker != nil:
			t.Errorf("node %s: bottleneck worker %+v, want none", n.ID, n.BottleneckWorker)
		}
	}

	rb.Observe(300 * time.Millisecond)
	rb.Observe(1500 * time.Millisecond)
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(string(get("/metrics"))))
	if err != nil {
		t.Fatal(err)
	}
	labels := func(m *dto.Metric) map[string]string {
		out := map[string]string{}
		for _, l := range m.GetLabel() {
			out[l.GetName()] = l.GetValue()
		}
		return out
	}
	if f := families["millrace_cluster_workers"]; f == nil || len(f.GetMetric()) != 1 || f.GetMetric()[0].GetGauge().GetValue() != 2 ||
		labels(f.GetMetric()[0])["pipeline"] != "verdicts" {
		t.Errorf("millrace_cluster_workers %v, want 2 (w9 is stale)", f)
	}
	owned := map[string]float64{}
	for _, m := range families["millrace_owned_partitions"].GetMetric() {
		owned[labels(m)["worker"]] = m.GetGauge().GetValue()
	}
	if len(owned) != 2 || owned["w1"] != 246 || owned["w2"] != 14 {
		t.Errorf("millrace_owned_partitions %v", owned)
	}
	f := families["millrace_rebalance_seconds"]
	if f == nil || f.GetType() != dto.MetricType_HISTOGRAM {
		t.Fatalf("millrace_rebalance_seconds: %v", f)
	}
	h := f.GetMetric()[0].GetHistogram()
	if h.GetSampleCount() != 2 || h.GetSampleSum() != 1.8 || labels(f.GetMetric()[0])["pipeline"] != "verdicts" {
		t.Errorf("millrace_rebalance_seconds: %d pauses, %v s, labels %v", h.GetSampleCount(), h.GetSampleSum(), labels(f.GetMetric()[0]))
	}
	for _, b := range h.GetBucket() {
		want := map[float64]uint64{0.25: 0, 0.5: 1, 1: 1, 2.5: 2}
		if n, ok := want[b.GetUpperBound()]; ok && b.GetCumulativeCount() != n {
			t.Errorf("bucket le=%v: %d, want %d", b.GetUpperBound(), b.GetCumulativeCount(), n)
		}
	}
}
