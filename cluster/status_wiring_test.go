package cluster

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"millrace/engine"
	"millrace/kafka"
	"millrace/kafka/kafkatest"
	"millrace/listen"
	"millrace/observe"
	"millrace/plan"
	"millrace/spec"
)

// TestStatusOfARunReachesTheDashboard wires the parts as a worker does: it runs a pipeline,
// fills a status from its figures, publishes it, follows the topic and serves the follower's
// view; /api/cluster then shows the worker with what its run measured.
func TestStatusOfARunReachesTheDashboard(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	text := `
name: wired
sources:
  tx: {kind: generator, rows: 20000}
views:
  big: {from: tx, where: "amount > 100", select: {tx_id: tx_id}}
sinks:
  out: {from: big, kind: jsonl, path: ` + filepath.Join(t.TempDir(), "out.jsonl") + `}
`
	s, err := spec.Parse([]byte(text), "wired.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	p, err := plan.Build(s, plan.Options{Parallelism: 2})
	if err != nil {
		t.Fatal(err)
	}
	conn := kafka.Conn{Brokers: kafkatest.Cluster(t, "", 0)}
	pub, err := NewStatusPublisher(ctx, conn, "wired")
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := pub.Close(); err != nil {
			t.Error(err)
		}
	}()
	follower, err := FollowStatus(ctx, conn, "wired", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := follower.Close(); err != nil {
			t.Error(err)
		}
	}()
	mon := &engine.Monitor{}
	rebalances := observe.NewRebalances()
	srv, err := observe.Listen(listen.Config{Addr: "127.0.0.1:0"}, p, mon,
		observe.WithCluster(observe.Cluster{Workers: follower.Views, Rebalances: rebalances}))
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := srv.Close(); err != nil {
			t.Error(err)
		}
	}()
	opts := engine.DefaultOptions()
	opts.Monitor = mon
	if _, err := engine.Run(ctx, p.Graph, opts); err != nil {
		t.Fatal(err)
	}

	host, _ := os.Hostname()
	status := WorkerStatus{Worker: "w1", Host: host, PID: os.Getpid(), Started: time.Now(), Generation: 1, KeyGroups: p.Graph.KeyGroups,
		Owned:          OwnedFrom("wired", map[string][]int32{"tx": {0, 1}}, map[string]map[int32]int64{"tx": {1: 12}}),
		RebalancePause: 0.2, Rebalances: 1}
	rebalances.Observe(200 * time.Millisecond)
	NewStatusMeter(p).Fill(&status, mon.Snapshot())
	changed := follower.Changed()
	if err := pub.Publish(ctx, status); err != nil {
		t.Fatal(err)
	}
	select {
	case <-changed:
	case <-ctx.Done():
		t.Fatal("the follower never read the status")
	}

	resp, err := http.Get("http://" + srv.Addr() + "/api/cluster")
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
	var view observe.ClusterView
	if err := json.Unmarshal(body, &view); err != nil {
		t.Fatalf("/api/cluster: %v\n%s", err, body)
	}
	if len(view.Workers) != 1 {
		t.Fatalf("/api/cluster shows %d workers:\n%s", len(view.Workers), body)
	}
	w := view.Workers[0]
	if w.Worker != "w1" || w.Host != host || w.Owned != "tx/0-1" || w.LagRecords != 12 || w.Stale || len(w.Steps) != len(p.Graph.Nodes) {
		t.Errorf("worker %+v", w)
	}
	var read float64
	for _, st := range w.Steps {
		if st.Step == "tx" {
			read = st.InRate
		}
	}
	if read <= 0 || w.InRate != read {
		t.Errorf("the worker's sources read %v rows/s, its view says %v: want the run's rate", read, w.InRate)
	}
}
