package observe

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"millrace/engine"
	"millrace/gen"
	"millrace/listen"
	"millrace/op"
	"millrace/plan"
	"millrace/scale"
	"millrace/schema"
	"millrace/source"
	"millrace/spec"
)

// TestScaleAdviceOfARun serves a run that a slow view holds back, with an advisor: the
// advice names the view as what bounds the capacity, and the desired workers are exported.
func TestScaleAdviceOfARun(t *testing.T) {
	cfg := gen.DefaultConfig()
	cfg.Rows, cfg.Partitions = 0, 1
	src, err := source.NewGenerator(cfg)
	if err != nil {
		t.Fatal(err)
	}
	tx := &engine.Node{Name: "tx", Parallelism: 1, Source: src, Watermarks: engine.WatermarkPolicy{EventTime: schema.TS}}
	velocity := &engine.Node{Name: "velocity", Parallelism: 1, Operator: func(int) (op.Operator, error) { return remote{cost: 20 * time.Microsecond}, nil }}
	g := &engine.Graph{Nodes: []*engine.Node{tx, velocity}, Edges: []*engine.Edge{{From: tx, To: velocity}}}
	p := &plan.Plan{Spec: &spec.Spec{Name: "advised"}, Graph: g, Sources: []string{"tx"}, Steps: []*plan.Step{
		{Name: "tx", Kind: "source"}, {Name: "velocity", Kind: "view", Inputs: []plan.Input{{From: "tx"}}}}}
	lim := scale.DefaultLimits()
	lim.Min = 1
	advisor, err := scale.NewAdvisor(scale.AdvisorConfig{Sources: p.Sources, Step: 100 * time.Millisecond, Window: time.Second,
		Policy: scale.Policy{Mode: scale.Predictive, Limits: lim}})
	if err != nil {
		t.Fatal(err)
	}
	mon := &engine.Monitor{}
	srv, err := Listen(listen.Config{Addr: "127.0.0.1:0"}, p, mon, WithAdvisor(advisor))
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := srv.Close(); err != nil {
			t.Error(err)
		}
	}()
	get := func(path string) (int, string) {
		resp, err := http.Get("http://" + srv.Addr() + path)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = resp.Body.Close() }()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, string(body)
	}
	if code, _ := get("/api/scale"); code != http.StatusServiceUnavailable {
		t.Fatalf("before the run: %d", code)
	}
	stop := make(chan struct{})
	opts := engine.DefaultOptions()
	opts.Monitor, opts.Stop = mon, stop
	done := make(chan error, 1)
	go func() { _, err := engine.Run(context.Background(), g, opts); done <- err }()
	watching, watched := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(watched)
		advisor.Watch(mon, watching)
	}()
	defer func() {
		close(watching)
		<-watched
	}()
	// The advisor measures over its window: wait until the view has worked longer than that
	// (75 000 rows, 1.5 s at its capacity), then for the next advice that names a bottleneck.
	waitForRows(t, mon, "velocity", 75_000)
	measured := time.Now()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for deadline := time.Now().Add(time.Minute); ; <-tick.C {
		if adv, ok := advisor.Latest(); ok && adv.Bottleneck != "" && adv.At.After(measured) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no measured advice in a minute")
		}
	}
	code, body := get("/api/scale")
	_, metrics := get("/metrics")
	close(stop)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	var adv scale.Advice
	if code != http.StatusOK {
		t.Fatalf("/api/scale: %d %s", code, body)
	}
	if err := json.Unmarshal([]byte(body), &adv); err != nil {
		t.Fatal(err)
	}
	// The view takes 20 us a row: about 50k rows/s, which the source fills.
	if adv.Bottleneck != "velocity" || adv.Rate <= 0 || adv.CapacityPerWorker < 20_000 || adv.CapacityPerWorker > 60_000 ||
		adv.DesiredWorkers < 2 || adv.Reason == "" {
		t.Errorf("advice %+v", adv)
	}
	if !strings.Contains(metrics, `millrace_desired_workers{pipeline="advised"} `) {
		t.Errorf("no desired workers in /metrics")
	}
}
