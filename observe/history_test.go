package observe

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"millrace/engine"
	"millrace/plan"
	"millrace/spec"
)

func TestSampleOfTopology(t *testing.T) {
	p50, p99, slow := 2.0, 9.0, 30.0
	top := Topology{
		Nodes: []NodeLoad{
			{ID: "a", Kind: "source", InRate: 100},
			{ID: "b", Kind: "source", InRate: 50},
			{ID: "v", Kind: "view", InRate: 150, OutRate: 40},
			{ID: "s1", Kind: "sink", InRate: 30, LatencyP50: &p50, LatencyP99: &p99},
			{ID: "s2", Kind: "sink", InRate: 10, LatencyP99: &slow},
		},
		Edges: []EdgeLoad{{From: "a", To: "v"}, {From: "b", To: "v"}, {From: "v", To: "s1"}, {From: "v", To: "s2"}},
	}
	s := sampleOf(top, time.UnixMilli(1_500))
	if s.T != 1.5 || s.Input != 150 || s.Output != 40 || s.P50 == nil || *s.P50 != 2 || s.P99 == nil || *s.P99 != 30 {
		t.Errorf("sample %+v", s)
	}
	// Without sinks, the rows leaving the last steps are the output.
	top.Nodes, top.Edges = top.Nodes[:3], top.Edges[:2]
	if s := sampleOf(top, time.Unix(2, 0)); s.Output != 40 || s.P50 != nil {
		t.Errorf("sample without sinks %+v", s)
	}
}

func TestHistoryKeepsTheLastMinutes(t *testing.T) {
	h := newHistory(nil)
	for i := range 400 {
		h.add(Sample{T: float64(i), Input: float64(i)})
	}
	got := h.samples()
	keep := int(historyKeep.Seconds()) + 1
	if len(got) != keep || got[0].T != float64(400-keep) || got[len(got)-1].T != 399 {
		t.Fatalf("kept %d samples from %v to %v, want %d up to 399", len(got), got[0].T, got[len(got)-1].T, keep)
	}
	got[0].Input = -1
	if h.samples()[0].Input == -1 {
		t.Error("samples shares the ring with its caller")
	}
}

// TestStreamStartsWithHistory opens the stream of a live run twice: the second client's
// first event is the history the server sampled while the first one watched.
func TestStreamStartsWithHistory(t *testing.T) {
	run := startLiveRun(t)
	// watch opens the stream, hands its events to f, and closes it when f returns.
	watch := func(f func(events <-chan [2]string)) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, run.url("/api/stream"), nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = resp.Body.Close() }() // cut off on purpose
		events := make(chan [2]string)
		done := make(chan struct{})
		go func() {
			defer close(done)
			readEvents(resp.Body, events)
		}()
		f(events)
		cancel()
		for range events {
		}
		<-done
	}
	watch(func(events <-chan [2]string) {
		tops := 0
		for ev := range events {
			if ev[0] == "topology" {
				if tops++; tops == 4 { // three stream ticks: the sampler ticks on the same period
					return
				}
			}
		}
	})
	var ev [2]string
	watch(func(events <-chan [2]string) { ev = <-events })
	if ev[0] != "history" {
		t.Fatalf("first event %q, want history", ev[0])
	}
	var samples []Sample
	if err := json.Unmarshal([]byte(ev[1]), &samples); err != nil {
		t.Fatalf("%v\n%s", err, ev[1])
	}
	if len(samples) == 0 {
		t.Fatalf("no history after three seconds of a live run")
	}
	for i, s := range samples {
		if i > 0 && s.T <= samples[i-1].T {
			t.Fatalf("history %+v: sample %d out of order", samples, i)
		}
	}
	if last := samples[len(samples)-1]; last.Input <= 0 {
		t.Fatalf("history %+v: the newest sample has no input", samples)
	}
}

// TestTopologyAfterARescale measures a run that follows another at a lower parallelism
// against its own start, not against the figures of the run before.
func TestTopologyAfterARescale(t *testing.T) {
	build := func(rows, p int) *plan.Plan {
		text := fmt.Sprintf(`
name: rescaled
sources:
  tx: {kind: generator, rows: %d}
views:
  big: {from: tx, where: "amount > 100", select: {tx_id: tx_id}}
sinks:
  out: {from: big, kind: jsonl, path: %s}
`, rows, filepath.Join(t.TempDir(), "out.jsonl"))
		s, err := spec.Parse([]byte(text), "rescaled.yaml", nil)
		if err != nil {
			t.Fatal(err)
		}
		pl, err := plan.Build(s, plan.Options{Parallelism: p})
		if err != nil {
			t.Fatal(err)
		}
		return pl
	}
	first, second := build(200_000, 2), build(1000, 1)
	mon := &engine.Monitor{}
	opts := engine.DefaultOptions()
	opts.Monitor = mon
	if _, err := engine.Run(context.Background(), first.Graph, opts); err != nil {
		t.Fatal(err)
	}
	h := &topologyHandler{plan: first, monitor: mon}
	h.window.base = mon.Snapshot() // the last figures of the run before the rescale
	if _, err := engine.Run(context.Background(), second.Graph, opts); err != nil {
		t.Fatal(err)
	}
	if mon.Snapshot().Elapsed >= h.window.base.Elapsed {
		t.Fatalf("the second run took %s, the first %s: want it shorter", mon.Snapshot().Elapsed, h.window.base.Elapsed)
	}
	top, ok := h.topology()
	if !ok {
		t.Fatal("no topology")
	}
	for _, n := range top.Nodes {
		if n.Parallelism != 1 || n.InRate < 0 || n.OutRate < 0 || n.Busy < 0 {
			t.Errorf("node %s after the rescale: %+v", n.ID, n)
		}
		if n.Kind == "source" && n.InRate <= 0 {
			t.Errorf("source %s reads nothing after the rescale: %+v", n.ID, n)
		}
	}
}
