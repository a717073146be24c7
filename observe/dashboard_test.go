package observe

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"millrace/engine"
	"millrace/gen"
	"millrace/op"
	"millrace/plan"
	"millrace/source"
	"millrace/spec"
)

// liveRun is a pipeline running with the observe server watching it, until the test ends.
type liveRun struct {
	plan *plan.Plan
	srv  *Server
}

// startLiveRun runs a generator with no bound on rows, paced to a modest rate, through a view
// into a JSON lines sink, and serves its figures until the test ends.
func startLiveRun(t *testing.T) liveRun {
	t.Helper()
	out := filepath.Join(t.TempDir(), "big.jsonl")
	text := `
name: dashboard
sources:
  tx: {kind: generator, rate: 50000, speed: 1, checks: ["amount > 5"]}
views:
  big: {from: tx, where: "amount > 100", select: {tx_id: tx_id, amount: amount}}
sinks:
  out: {from: big, kind: jsonl, path: ` + out + `}
`
	s, err := spec.Parse([]byte(text), "dashboard.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	p, err := plan.Build(s, plan.Options{Parallelism: 2})
	if err != nil {
		t.Fatal(err)
	}
	return serveRun(t, p)
}

// startSlowRun runs a generator into a pass-through and a sink that sleeps on every batch,
// so that the sink is the bottleneck, and serves its figures.
func startSlowRun(t *testing.T) liveRun {
	t.Helper()
	cfg := gen.DefaultConfig()
	cfg.Rows, cfg.Partitions = 0, 1
	src, err := source.NewGenerator(cfg, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	tx := &engine.Node{Name: "tx", Parallelism: 1, Source: src}
	mid := &engine.Node{Name: "enrich", Parallelism: 1, Operator: func(int) op.Operator { return pass{} }}
	lake := &engine.Node{Name: "lake", Parallelism: 1, Operator: func(int) op.Operator { return slowSink{} }}
	g := &engine.Graph{Nodes: []*engine.Node{tx, mid, lake}, Edges: []*engine.Edge{{From: tx, To: mid}, {From: mid, To: lake}}}
	p := &plan.Plan{Spec: &spec.Spec{Name: "slow"}, Graph: g, Sources: []string{"tx"}, Steps: []*plan.Step{
		{Name: "tx", Kind: "source", Parallelism: 1},
		{Name: "enrich", Kind: "view", Parallelism: 1, Inputs: []plan.Input{{From: "tx"}}},
		{Name: "lake", Kind: "sink", Parallelism: 1, Inputs: []plan.Input{{From: "enrich"}}},
	}}
	return serveRun(t, p)
}

// serveRun runs p with the observe server watching it. Cleanup stops the run gracefully and
// closes the server.
func serveRun(t *testing.T, p *plan.Plan) liveRun {
	t.Helper()
	mon := &engine.Monitor{}
	srv, err := Listen("127.0.0.1:0", p, mon)
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	opts := engine.DefaultOptions()
	opts.Monitor, opts.Stop = mon, stop
	done := make(chan error, 1)
	go func() {
		_, err := engine.Run(context.Background(), p.Graph, opts)
		done <- err
	}()
	t.Cleanup(func() {
		close(stop)
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
		if err := srv.Close(); err != nil {
			t.Errorf("close server: %v", err)
		}
	})
	return liveRun{plan: p, srv: srv}
}

func (r liveRun) url(path string) string { return "http://" + r.srv.Addr() + path }

func TestDashboardPage(t *testing.T) {
	run := startLiveRun(t)
	for _, c := range []struct{ path, want, kind string }{
		{"/", "<title>millrace dashboard</title>", "text/html"},
		{"/app.js", "new EventSource(\"api/stream\")", "javascript"},
		{"/style.css", ".verdict", "text/css"},
	} {
		resp, err := http.Get(run.url(c.path))
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
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), c.want) {
			t.Errorf("GET %s: status %d, want %q in\n%s", c.path, resp.StatusCode, c.want, body)
		}
		if ct := resp.Header.Get("Content-Type"); !strings.Contains(ct, c.kind) {
			t.Errorf("GET %s: content type %q, want %s", c.path, ct, c.kind)
		}
	}
}

// readEvents reads Server-Sent Events from body and sends each (name, data) to events until
// the body ends.
func readEvents(body io.Reader, events chan<- [2]string) {
	defer close(events)
	sc := bufio.NewScanner(body)
	sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
	var name, data string
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if name != "" {
				events <- [2]string{name, data}
			}
			name, data = "", ""
		case strings.HasPrefix(line, "event: "):
			name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			data = strings.TrimPrefix(line, "data: ")
		}
	}
}

func TestStreamSendsTopologyEverySecond(t *testing.T) {
	run := startLiveRun(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3500*time.Millisecond)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, run.url("/api/stream"), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }() // the test cuts the stream off; closing it has nothing to report
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
	events := make(chan [2]string)
	go readEvents(resp.Body, events)
	var tops []Topology
	ledgers := 0
	for ev := range events {
		switch ev[0] {
		case "topology":
			var top Topology
			if err := json.Unmarshal([]byte(ev[1]), &top); err != nil {
				t.Fatalf("topology event: %v\n%s", err, ev[1])
			}
			tops = append(tops, top)
		case "ledger":
			var l ledgerView
			if err := json.Unmarshal([]byte(ev[1]), &l); err != nil {
				t.Fatalf("ledger event: %v\n%s", err, ev[1])
			}
			if len(l.Ledger.Sources) != 1 || l.Ledger.Sources[0].Name != "tx" {
				t.Fatalf("ledger event %+v", l)
			}
			ledgers++
		}
		if len(tops) >= 2 && ledgers >= 2 {
			cancel() // the client goes away; the handler must notice
		}
	}
	if len(tops) < 2 || ledgers < 2 {
		t.Fatalf("%d topology and %d ledger events in 3.5s, want at least 2 of each", len(tops), ledgers)
	}
	last := tops[len(tops)-1]
	if last.Pipeline != "dashboard" || len(last.Nodes) != len(run.plan.Graph.Nodes) || last.Verdict.Reason == "" {
		t.Fatalf("topology %+v", last)
	}
}

// TestCloseEndsOpenStreams checks that closing the server does not wait for a dashboard
// that is still connected.
func TestCloseEndsOpenStreams(t *testing.T) {
	p := testPlan(t)
	srv, err := Listen("127.0.0.1:0", p, &engine.Monitor{})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get("http://" + srv.Addr() + "/api/stream")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }() // the server cuts the stream off; closing it has nothing to report
	line, err := bufio.NewReader(resp.Body).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, ": the pipeline has not started") {
		t.Fatalf("first line %q, %v", line, err)
	}
	start := time.Now()
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("close took %s", took)
	}
}

// newBrowser starts headless Chromium for the test, or skips the test when it is missing
// (outside CI, where it must be there). It returns a context for a minute of actions.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	const chromium = "/usr/bin/chromium"
	if _, err := os.Stat(chromium); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI needs %s for the browser test: %v", chromium, err)
		}
		t.Skipf("no %s: %v", chromium, err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true), // containers have a small /dev/shm
		chromedp.WindowSize(1400, 1000),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	bctx, cancelBrowser := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	t.Cleanup(cancelBrowser)
	if err := chromedp.Do(bctx); err != nil { // start the browser without a timeout
		t.Fatalf("start %s: %v", chromium, err)
	}
	ctx, cancel := context.WithTimeout(bctx, time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// openDashboard opens the dashboard of run and waits until it draws every node of the plan.
func openDashboard(t *testing.T, ctx context.Context, run liveRun) {
	t.Helper()
	var names []string
	for _, n := range run.plan.Graph.Nodes {
		names = append(names, n.Name)
	}
	namesJSON, err := json.Marshal(names)
	if err != nil {
		t.Fatal(err)
	}
	allDrawn := `(() => { const t = document.getElementById("dag").textContent;
		return ` + string(namesJSON) + `.every(n => t.includes(n)); })()`
	if err := chromedp.Do(ctx, chromedp.Navigate(run.url("/"))); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](allDrawn, chromedp.WithPollingTimeout(20*time.Second))); err != nil {
		t.Fatalf("wait for the nodes %v: %v", names, err)
	}
}

// screenshot saves the page as a PNG in a new temporary directory, which outlives the test
// so that people can look at it, and logs its path.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // quality 100 makes a PNG
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "millrace-dashboard-")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}

// TestDashboardInBrowser opens the dashboard of a running pipeline in headless Chromium and
// checks that it draws every node and keeps its figures moving.
func TestDashboardInBrowser(t *testing.T) {
	ctx := newBrowser(t)
	run := startLiveRun(t)
	openDashboard(t, ctx, run)
	figures := `document.getElementById("dag").textContent + "|" + document.getElementById("ledger").textContent`
	first, err := chromedp.Run(ctx, chromedp.Evaluate[string](figures))
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(2500 * time.Millisecond)
	second, err := chromedp.Run(ctx, chromedp.Evaluate[string](figures))
	if err != nil {
		t.Fatal(err)
	}
	if first == second {
		t.Errorf("the figures did not change in 2.5s:\n%s", first)
	}
	// the page fetches dead letters every few seconds
	deadShown := `document.getElementById("dead").textContent.includes("check failed: amount > 5")`
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](deadShown, chromedp.WithPollingTimeout(10*time.Second))); err != nil {
		dead, _ := chromedp.Run(ctx, chromedp.Text("#dead"))
		t.Errorf("no dead letters shown (%q): %v", dead, err)
	}
	screenshot(t, ctx, "dashboard.png")
}

// TestDashboardMarksTheBottleneck checks that the page shows the verdict and marks the node
// it names.
func TestDashboardMarksTheBottleneck(t *testing.T) {
	ctx := newBrowser(t)
	run := startSlowRun(t)
	openDashboard(t, ctx, run)
	marked := `document.querySelector('[data-node="lake"] rect.bottleneck') !== null &&
		document.getElementById("verdict").textContent.includes('sink "lake" is slow')`
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](marked, chromedp.WithPollingTimeout(15*time.Second))); err != nil {
		verdict, _ := chromedp.Run(ctx, chromedp.Text("#verdict"))
		t.Fatalf("lake not marked as the bottleneck (verdict %q): %v", verdict, err)
	}
	screenshot(t, ctx, "bottleneck.png")
}
