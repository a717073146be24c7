package observe

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"millrace/engine"
	"millrace/gen"
	"millrace/listen"
	"millrace/op"
	"millrace/plan"
	"millrace/schema"
	"millrace/source"
	"millrace/spec"
)

func testPlan(t *testing.T) *plan.Plan {
	t.Helper()
	text := `
name: verdicts
sources:
  tx: {kind: generator, rows: 5000, checks: ["amount > 5"]}
views:
  velocity: {from: tx, where: "amount > 100", select: {tx_id: tx_id}}
sinks:
  lake: {from: velocity, kind: jsonl, path: ` + filepath.Join(t.TempDir(), "out.jsonl") + `}
`
	s, err := spec.Parse([]byte(text), "verdicts.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	p, err := plan.Build(s, plan.Options{Parallelism: 2})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// load makes a snapshot 10 s into a run where each node worked and waited the given shares
// of its subtasks' time.
func load(p *plan.Plan, shares map[string][2]float64) *engine.Stats {
	st := &engine.Stats{Elapsed: 10 * time.Second}
	for _, n := range p.Graph.Nodes {
		s := shares[n.Name]
		span := 10 * time.Second * time.Duration(n.Parallelism)
		blocked := time.Duration(s[1] * float64(span))
		st.Nodes = append(st.Nodes, engine.NodeReport{Name: n.Name, Parallelism: n.Parallelism,
			Busy: time.Duration(s[0]*float64(span)) + blocked, Backpressure: blocked, RowsIn: 1000, RowsOut: 1000})
	}
	return st
}

func TestVerdicts(t *testing.T) {
	p := testPlan(t)
	start := &engine.Stats{}
	cases := []struct {
		name   string
		shares map[string][2]float64
		node   string
		reason string
	}{
		{"slow view", map[string][2]float64{"tx": {0.1, 0.9}, "velocity": {0.97, 0.01}, "sink.lake": {0.2, 0}},
			"velocity", `view "velocity" is CPU-bound: busy 97% with parallelism 2; upstream is backpressured 90% of the time`},
		{"slow sink", map[string][2]float64{"tx": {0.2, 0.6}, "velocity": {0.1, 0.85}, "sink.lake": {0.95, 0}},
			"sink.lake", `sink "sink.lake" is slow: upstream steps are backpressured 85% of the time`},
		{"idle", map[string][2]float64{"tx": {0.3, 0}, "velocity": {0.2, 0}, "sink.lake": {0.1, 0}},
			"", "no bottleneck"},
	}
	for _, c := range cases {
		top := Diagnose(p, start, load(p, c.shares))
		if top.Verdict.Node != c.node || !strings.Contains(top.Verdict.Reason, c.reason) {
			t.Errorf("%s: verdict %+v, want %s: %s", c.name, top.Verdict, c.node, c.reason)
		}
		if len(top.Nodes) != len(p.Steps) || len(top.Edges) != 2 {
			t.Errorf("%s: %d nodes, %d edges", c.name, len(top.Nodes), len(top.Edges))
		}
		if top.Nodes[1].InRate != 100 {
			t.Errorf("%s: rate %v rows/s, want 100", c.name, top.Nodes[1].InRate)
		}
	}
}

// TestVerdictsOfUnevenSubtasks gives the view's subtasks unequal load, with and without a
// hot key owned by the busy one.
func TestVerdictsOfUnevenSubtasks(t *testing.T) {
	p := testPlan(t)
	busy := func(shares ...float64) engine.NodeReport {
		n := engine.NodeReport{Name: "velocity", Parallelism: len(shares)}
		for i, s := range shares {
			d := time.Duration(s * float64(10*time.Second))
			n.Subtasks = append(n.Subtasks, engine.NodeReport{Subtask: i, Busy: d})
			n.Busy += d
		}
		return n
	}
	cases := []struct {
		name     string
		velocity engine.NodeReport
		hot      []engine.HotKey
		reason   string
	}{
		{"hot key", busy(0.2, 0.97), []engine.HotKey{{Key: "c00017", Share: 0.41, Subtask: 1}},
			`key "c00017" of view "velocity" takes 41% of its input: skew; subtask 1 is busy 97%, the others 20% on average`},
		{"uneven without a hot key", busy(0.97, 0.3), []engine.HotKey{{Key: "c00017", Share: 0.05, Subtask: 0}},
			`view "velocity" is uneven: subtask 0 is busy 97%, the others 30% on average`},
		{"hot key elsewhere", busy(0.2, 0.97), []engine.HotKey{{Key: "c00017", Share: 0.41, Subtask: 0}},
			`view "velocity" is uneven: subtask 1 is busy 97%`},
		{"even", busy(0.9, 0.95), []engine.HotKey{{Key: "US", Share: 0.22, Subtask: 1}},
			`view "velocity" is CPU-bound: busy 92% with parallelism 2`},
	}
	for _, c := range cases {
		cur := load(p, map[string][2]float64{"tx": {0.1, 0.9}, "sink.lake": {0.1, 0}})
		for i, n := range cur.Nodes {
			if n.Name == "velocity" {
				cur.Nodes[i] = c.velocity
				cur.Nodes[i].HotKeys = c.hot
			}
		}
		v := Diagnose(p, &engine.Stats{}, cur).Verdict
		if v.Node != "velocity" || !strings.Contains(v.Reason, c.reason) {
			t.Errorf("%s: verdict %+v, want %s", c.name, v, c.reason)
		}
	}
}

// remote is a view that waits cost per row, as one calling a remote model would; waiting
// rather than spinning keeps the test machine's cores free for the rest of the pipeline.
type remote struct {
	op.Base
	cost time.Duration
}

func (s remote) Process(_ int, rec arrow.RecordBatch, out op.Collector) error {
	time.Sleep(time.Duration(rec.NumRows()) * s.cost)
	return out.Collect(rec)
}

// TestVerdictOfARealSlowViewAndHotKey runs a generator into a keyed view that takes 50 us
// per row (slow enough to be the bottleneck under the race detector too): with many cards
// the view is saturated; with two accounts, whose first card makes
// more than half of the traffic, the verdict names that card.
func TestVerdictOfARealSlowViewAndHotKey(t *testing.T) {
	for _, c := range []struct {
		accounts, parallelism int
		want                  []string
	}{
		{100000, 2, []string{`view "velocity" is CPU-bound: busy`, "with parallelism 2"}},
		{2, 4, []string{`key "c0" of view "velocity" takes`, "skew"}},
	} {
		cfg := gen.DefaultConfig()
		cfg.Rows, cfg.Partitions, cfg.Accounts = 0, 1, c.accounts
		src, err := source.NewGenerator(cfg)
		if err != nil {
			t.Fatal(err)
		}
		tx := &engine.Node{Name: "tx", Parallelism: 1, Source: src, Watermarks: engine.WatermarkPolicy{EventTime: schema.TS}}
		velocity := &engine.Node{Name: "velocity", Parallelism: c.parallelism, Operator: func(int) (op.Operator, error) { return remote{cost: 50 * time.Microsecond}, nil }}
		lake := &engine.Node{Name: "lake", Parallelism: 1, Operator: func(int) (op.Operator, error) { return pass{}, nil }}
		g := &engine.Graph{Nodes: []*engine.Node{tx, velocity, lake}, Edges: []*engine.Edge{
			{From: tx, To: velocity, Partitioning: engine.Hash, Key: []string{"card_id"}},
			{From: velocity, To: lake, Partitioning: engine.Rebalance}}}
		p := &plan.Plan{Spec: &spec.Spec{Name: "hot"}, Graph: g, Steps: []*plan.Step{
			{Name: "tx", Kind: "source"},
			{Name: "velocity", Kind: "view", Inputs: []plan.Input{{From: "tx"}}},
			{Name: "lake", Kind: "sink", Inputs: []plan.Input{{From: "velocity"}}},
		}}
		first, last := runUntil(t, g, "velocity", 10_000, 30_000)
		v := Diagnose(p, first, last).Verdict
		for _, w := range c.want {
			if v.Node != "velocity" || !strings.Contains(v.Reason, w) {
				t.Errorf("%d accounts: verdict %+v, want %q", c.accounts, v, w)
			}
		}
	}
}

// runUntil runs g until node has taken warm rows, takes the monitor's figures, runs until
// it has taken span more, takes them again, and stops the run: measured over rows, not
// over time, so a busy machine measures the same.
func runUntil(t *testing.T, g *engine.Graph, node string, warm, span int64) (first, last *engine.Stats) {
	t.Helper()
	mon := &engine.Monitor{}
	stop := make(chan struct{})
	opts := engine.DefaultOptions()
	opts.Monitor, opts.Stop = mon, stop
	done := make(chan error, 1)
	go func() { _, err := engine.Run(context.Background(), g, opts); done <- err }()
	first = waitForRows(t, mon, node, warm)
	in, _ := first.Node(node)
	last = waitForRows(t, mon, node, in.RowsIn+span)
	close(stop)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	return first, last
}

// waitForRows waits until node of the monitored run has taken at least rows rows, and
// returns the figures then.
func waitForRows(t *testing.T, mon *engine.Monitor, node string, rows int64) *engine.Stats {
	t.Helper()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	deadline := time.Now().Add(time.Minute)
	for {
		if st := mon.Snapshot(); st != nil {
			if n, ok := st.Node(node); ok && n.RowsIn >= rows {
				return st
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s took fewer than %d rows in a minute", node, rows)
		}
		<-tick.C
	}
}

func TestTopologyAndLedgerEndpoints(t *testing.T) {
	p := testPlan(t)
	mon := &engine.Monitor{}
	srv, err := Listen(listen.Config{Addr: "127.0.0.1:0"}, p, mon)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := srv.Close(); err != nil {
			t.Error(err)
		}
	}()
	get := func(path string, v any) int {
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
		if resp.StatusCode == http.StatusOK {
			if err := json.Unmarshal(body, v); err != nil {
				t.Fatalf("%s: %v\n%s", path, err, body)
			}
		}
		return resp.StatusCode
	}
	var top Topology
	if code := get("/api/topology", &top); code != http.StatusServiceUnavailable {
		t.Fatalf("before the run: status %d", code)
	}
	opts := engine.DefaultOptions()
	opts.Monitor = mon
	if _, err := engine.Run(context.Background(), p.Graph, opts); err != nil {
		t.Fatal(err)
	}
	if code := get("/api/topology", &top); code != http.StatusOK || top.Pipeline != "verdicts" || len(top.Nodes) != 3 || top.Verdict.Reason == "" {
		t.Fatalf("topology %d %+v", code, top)
	}
	var ledger struct {
		Ledger   plan.Ledger
		Balanced bool
	}
	if code := get("/api/ledger", &ledger); code != http.StatusOK || !ledger.Balanced || ledger.Ledger.Sources[0].Read != 5000 {
		t.Fatalf("ledger %d %+v", code, ledger)
	}
	var dead []struct{ Source, Where, Reason, Raw string }
	if code := get("/api/dead-letters?limit=3", &dead); code != http.StatusOK || len(dead) != 3 {
		t.Fatalf("dead letters %d %+v", code, dead)
	}
	for _, d := range dead {
		if d.Source != "tx" || d.Reason != "check failed: amount > 5" || !strings.Contains(d.Raw, `"amount":`) {
			t.Fatalf("dead letter %+v", d)
		}
	}
	if code := get("/api/dead-letters?limit=0", &dead); code != http.StatusBadRequest {
		t.Fatalf("limit=0 gave %d", code)
	}
}

// slowSink sleeps on every batch, as a sink writing to a slow disk would.
type slowSink struct{ op.Base }

func (slowSink) Process(_ int, rec arrow.RecordBatch, _ op.Collector) error {
	rec.Release()
	time.Sleep(100 * time.Millisecond)
	return nil
}

// pass forwards batches.
type pass struct{ op.Base }

func (pass) Process(_ int, rec arrow.RecordBatch, out op.Collector) error { return out.Collect(rec) }

// TestVerdictOfARealSlowSink runs a generator into a pass-through and a sink that sleeps on
// every batch, and checks that the measured figures make the sink the verdict.
func TestVerdictOfARealSlowSink(t *testing.T) {
	cfg := gen.DefaultConfig()
	cfg.Rows, cfg.Partitions = 0, 1
	src, err := source.NewGenerator(cfg)
	if err != nil {
		t.Fatal(err)
	}
	tx := &engine.Node{Name: "tx", Parallelism: 1, Source: src, Watermarks: engine.WatermarkPolicy{EventTime: schema.TS}}
	mid := &engine.Node{Name: "enrich", Parallelism: 1, Operator: func(int) (op.Operator, error) { return pass{}, nil }}
	lake := &engine.Node{Name: "lake", Parallelism: 1, Operator: func(int) (op.Operator, error) { return slowSink{}, nil }}
	g := &engine.Graph{Nodes: []*engine.Node{tx, mid, lake}, Edges: []*engine.Edge{{From: tx, To: mid}, {From: mid, To: lake}}}
	p := &plan.Plan{Spec: &spec.Spec{Name: "slow"}, Graph: g, Steps: []*plan.Step{
		{Name: "tx", Kind: "source"},
		{Name: "enrich", Kind: "view", Inputs: []plan.Input{{From: "tx"}}},
		{Name: "lake", Kind: "sink", Inputs: []plan.Input{{From: "enrich"}}},
	}}
	first, last := runUntil(t, g, "lake", 2*8192, 5*8192) // the channels fill while the sink takes its first batches
	v := Diagnose(p, first, last).Verdict
	if v.Node != "lake" || !strings.Contains(v.Reason, `sink "lake" is slow: upstream steps are backpressured`) {
		t.Fatalf("verdict %+v", v)
	}
}
