package observe

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

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

// liveRun is a pipeline running with the observe server watching it, until the test ends.
type liveRun struct {
	plan *plan.Plan
	srv  *Server
	mon  *engine.Monitor
}

// startLiveRun runs a generator with no bound on rows, paced to a modest rate, through a view
// into a JSON lines sink, and serves its figures until the test ends, listening as on says
// (127.0.0.1:0 unless given).
func startLiveRun(t *testing.T, on ...listen.Config) liveRun {
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
	lc := listen.Config{Addr: "127.0.0.1:0"}
	if len(on) > 0 {
		lc = on[0]
	}
	return serveRunOn(t, lc, p)
}

// startSlowRun runs a generator into a pass-through and a sink that sleeps on every batch,
// so that the sink is the bottleneck, and serves its figures.
func startSlowRun(t *testing.T) liveRun {
	t.Helper()
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
	p := &plan.Plan{Spec: &spec.Spec{Name: "slow"}, Graph: g, Sources: []string{"tx"}, Steps: []*plan.Step{
		{Name: "tx", Kind: "source", Parallelism: 1},
		{Name: "enrich", Kind: "view", Parallelism: 1, Inputs: []plan.Input{{From: "tx"}}},
		{Name: "lake", Kind: "sink", Parallelism: 1, Inputs: []plan.Input{{From: "enrich"}}},
	}}
	return serveRun(t, p)
}

// startAdvisedRun runs a generator into a view that takes 20 us a row, so that the view
// bounds the capacity at about 50k rows/s, which the source fills, and serves its figures
// with a scaling advisor that steps every 200 ms and forecasts 20 s ahead (so that for the
// length of a test it forecasts the rate it sees, having too little history to trust more).
// on says how the server listens (address 127.0.0.1:0 unless given).
func startAdvisedRun(t *testing.T, on ...listen.Config) liveRun {
	t.Helper()
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
		{Name: "tx", Kind: "source", Parallelism: 1},
		{Name: "velocity", Kind: "view", Parallelism: 1, Inputs: []plan.Input{{From: "tx"}}},
	}}
	lim := scale.DefaultLimits()
	lim.Min = 1
	advisor, err := scale.NewAdvisor(scale.AdvisorConfig{Sources: p.Sources, Step: 200 * time.Millisecond,
		Horizon: 20 * time.Second, Window: time.Second, Policy: scale.Policy{Mode: scale.Predictive, Limits: lim}})
	if err != nil {
		t.Fatal(err)
	}
	lc := listen.Config{Addr: "127.0.0.1:0"}
	if len(on) > 0 {
		lc = on[0]
	}
	return serveRunOn(t, lc, p, advisor)
}

// serveRun runs p with the observe server watching it and, if advisors holds one, that
// advisor observing it and served. Cleanup stops the run gracefully and closes the server.
func serveRun(t *testing.T, p *plan.Plan, advisors ...*scale.Advisor) liveRun {
	t.Helper()
	return serveRunOn(t, listen.Config{Addr: "127.0.0.1:0"}, p, advisors...)
}

// serveRunOn is serveRun with the server listening as cfg says.
func serveRunOn(t *testing.T, cfg listen.Config, p *plan.Plan, advisors ...*scale.Advisor) liveRun {
	t.Helper()
	return serveRunWith(t, cfg, p, nil, advisors...)
}

// serveRunWith is serveRunOn with the server given opts too.
func serveRunWith(t *testing.T, cfg listen.Config, p *plan.Plan, opts []Option, advisors ...*scale.Advisor) liveRun {
	t.Helper()
	mon := &engine.Monitor{}
	stop := make(chan struct{})
	for _, a := range advisors {
		opts = append(opts, WithAdvisor(a))
		go a.Watch(mon, stop)
	}
	srv, err := Listen(cfg, p, mon, opts...)
	if err != nil {
		t.Fatal(err)
	}
	runOpts := engine.DefaultOptions()
	runOpts.Monitor, runOpts.Stop = mon, stop
	done := make(chan error, 1)
	go func() {
		_, err := engine.Run(context.Background(), p.Graph, runOpts)
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
	return liveRun{plan: p, srv: srv, mon: mon}
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
	srv, err := Listen(listen.Config{Addr: "127.0.0.1:0"}, p, &engine.Monitor{})
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

// pageErrors collects, from the call on, what the page reports as errors: uncaught
// exceptions, calls of console.error and entries of the browser log at level error, such as
// a request that failed. The function it returns stops collecting and returns them.
func pageErrors(ctx context.Context) func() []chromedp.ConsoleMessage {
	ctx, cancel := context.WithCancel(ctx)
	messages := chromedp.Console(ctx)
	var errs []chromedp.ConsoleMessage
	done := make(chan struct{})
	go func() {
		defer close(done)
		for m, err := range messages {
			if err != nil {
				return // cancelled
			}
			if m.Type == chromedp.ConsoleError || m.IsException() {
				errs = append(errs, m)
			}
		}
	}()
	return func() []chromedp.ConsoleMessage {
		cancel()
		<-done
		return errs
	}
}

// checkErrors fails the test for each error of the page but the answers of /api/scale with
// a status in allowed, which the page expects, and the 404 of /api/fraud, which a pipeline
// without a rules step does not serve.
func checkErrors(t *testing.T, errs []chromedp.ConsoleMessage, allowed ...int) {
	t.Helper()
	for _, m := range errs {
		expected := m.Source == "network" && strings.HasSuffix(m.URL, "/api/fraud") && strings.Contains(m.Text, "status of 404")
		for _, code := range allowed {
			if m.Source == "network" && strings.HasSuffix(m.URL, "/api/scale") && strings.Contains(m.Text, fmt.Sprintf("status of %d", code)) {
				expected = true
			}
		}
		if !expected {
			t.Errorf("the page reports an error: %s (%s:%d)", m, m.URL, m.Line)
		}
	}
}

// layoutProblems lists, in the page, the figures of a step drawn outside its box, boxes that
// overlap, and edge rates drawn over a box or over each other.
const layoutProblems = `(() => {
	const problems = [];
	const cross = (a, b) => a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
	const boxes = [...document.querySelectorAll("#dag g[data-node]")].map(g => {
		const r = g.querySelector("rect.node").getBoundingClientRect();
		for (const t of g.querySelectorAll("text:not(.mark)")) {
			const b = t.getBoundingClientRect();
			if (b.left < r.left || b.right > r.right || b.top < r.top || b.bottom > r.bottom)
				problems.push(g.dataset.node + ": " + JSON.stringify(t.textContent) + " spills out of its box");
		}
		return { id: g.dataset.node, r: r };
	});
	boxes.forEach((a, i) => boxes.slice(i + 1).forEach(b => {
		if (cross(a.r, b.r)) problems.push(a.id + " overlaps " + b.id);
	}));
	const rates = [...document.querySelectorAll("#dag text.rate")].map(t => t.getBoundingClientRect());
	rates.forEach((a, i) => {
		for (const b of boxes) if (cross(a, b.r)) problems.push("an edge rate is drawn over " + b.id);
		for (const b of rates.slice(i + 1)) if (cross(a, b)) problems.push("two edge rates overlap");
	});
	return problems;
})()`

// checkLayout fails the test when the drawing has a layoutProblems problem.
func checkLayout(t *testing.T, ctx context.Context) {
	t.Helper()
	problems, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](layoutProblems))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("layout: %s", p)
	}
}

// nodeText returns the text of the line of class cls in the box of node (cls may go on to
// select a part of the line), or "" when the box has no such line.
func nodeText(t *testing.T, ctx context.Context, node, cls string) string {
	t.Helper()
	js := fmt.Sprintf(`(() => { const e = document.querySelector('[data-node=%q] text.%s'); return e ? e.textContent : ""; })()`, node, cls)
	text, err := chromedp.Run(ctx, chromedp.Evaluate[string](js))
	if err != nil {
		t.Fatal(err)
	}
	return text
}

// TestDashboardInBrowser opens the dashboard of a running pipeline in headless Chromium and
// checks that it draws every node with its live figures, charts the latency and keeps its
// figures moving.
func TestDashboardInBrowser(t *testing.T) {
	ctx := newBrowser(t)
	run := startLiveRun(t)
	errs := pageErrors(ctx)
	openDashboard(t, ctx, run)
	var sinks []string
	for _, st := range run.plan.Steps {
		if st.Kind == "sink" {
			sinks = append(sinks, st.Name)
		}
	}
	if len(sinks) != 1 {
		t.Fatalf("sinks %v, want one", sinks)
	}
	sink := sinks[0]
	// a latency marker has reached the sink, and the chart has two seconds of it
	live := fmt.Sprintf(`(() => {
		const p99 = document.querySelector('[data-node=%q] text.latency');
		const line = document.querySelector("#latency path.p99");
		return p99 !== null && /p99 [0-9.]+ (ms|s)/.test(p99.textContent) &&
			line !== null && /L[0-9]/.test(line.getAttribute("d"));
	})()`, sink)
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](live, chromedp.WithPollingTimeout(20*time.Second))); err != nil {
		t.Fatalf("no latency at the sink (%q) or no latency line: %v", nodeText(t, ctx, sink, "latency"), err)
	}
	queueLag := regexp.MustCompile(`^queue [0-9]+%  watermark lag ([0-9.]+ (ms|s|min|h|d)|—)$`)
	for _, n := range run.plan.Graph.Nodes {
		if q := nodeText(t, ctx, n.Name, "queue"); !queueLag.MatchString(q) {
			t.Errorf("node %s shows %q, want queue fill and watermark lag", n.Name, q)
		}
	}
	// the generator's rows carry event time, so the view behind it knows its lag
	if q := nodeText(t, ctx, "big", "queue"); strings.HasSuffix(q, "—") {
		t.Errorf("view big shows no watermark lag: %q", q)
	}
	if now, err := chromedp.Run(ctx, chromedp.Text("#p99-now")); err != nil || !strings.HasSuffix(now, "ms") && !strings.HasSuffix(now, " s") {
		t.Errorf("latency legend shows p99 %q (%v)", now, err)
	}
	rows, err := chromedp.Run(ctx, chromedp.Evaluate[[][]string](`[...document.querySelectorAll("#nodes tr[data-node]")].map(tr => [...tr.cells].map(c => c.textContent))`))
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(run.plan.Graph.Nodes) {
		t.Errorf("the table of steps has %d rows, want %d: %q", len(rows), len(run.plan.Graph.Nodes), rows)
	}
	for _, r := range rows {
		if len(r) != 16 || !strings.HasSuffix(r[7], "%") || !strings.HasPrefix(r[8], "#") {
			t.Errorf("table row %q, want 16 cells with idle share and busiest subtask", r)
		}
	}
	checkLayout(t, ctx)
	figures := `document.getElementById("dag").textContent + "|" + document.getElementById("ledger").textContent`
	first, err := chromedp.Run(ctx, chromedp.Evaluate[string](figures))
	if err != nil {
		t.Fatal(err)
	}
	changed := fmt.Sprintf(`(%s) !== %q`, figures, first)
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](changed, chromedp.WithPollingTimeout(time.Minute))); err != nil {
		t.Errorf("the figures did not change (%v):\n%s", err, first)
	}
	// the page fetches dead letters every few seconds
	deadShown := `document.getElementById("dead").textContent.includes("check failed: amount > 5")`
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](deadShown, chromedp.WithPollingTimeout(10*time.Second))); err != nil {
		dead, _ := chromedp.Run(ctx, chromedp.Text("#dead"))
		t.Errorf("no dead letters shown (%q): %v", dead, err)
	}
	// the server has no scaling advisor: the page asked once, and shows no scaling section
	if hidden, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.getElementById("scaling").hidden`)); err != nil || !hidden {
		t.Errorf("the scaling section is shown without an advisor (%v)", err)
	}
	// the run is not part of a cluster: no workers panel
	if hidden, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.getElementById("workers").hidden`)); err != nil || !hidden {
		t.Errorf("the workers panel is shown outside a cluster (%v)", err)
	}
	e := errs()
	checkErrors(t, e, http.StatusNotFound)
	if len(e) > 2 {
		t.Errorf("the page reports %d errors, want at most the 404s of /api/scale and /api/fraud: %v", len(e), e)
	}
	// the pipeline has no rules step: no fraud panel
	if hidden, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.getElementById("fraud").hidden`)); err != nil || !hidden {
		t.Errorf("the fraud panel is shown without a rules step (%v)", err)
	}
	screenshot(t, ctx, "dashboard.png")
}

// TestDashboardShowsScalingAdvice opens the dashboard of a run served with a scaling advisor
// and checks that it shows the advice, charts the input the advisor saw against its
// forecast and the capacity, and lists the decisions.
func TestDashboardShowsScalingAdvice(t *testing.T) {
	ctx := newBrowser(t)
	run := startAdvisedRun(t)
	errs := pageErrors(ctx)
	openDashboard(t, ctx, run)
	shown := `(() => {
		const line = document.querySelector("#scale-chart path.in");
		const points = line ? (line.getAttribute("d").match(/[ML]/g) || []).length : 0;
		const decided = [...document.querySelectorAll("#decisions tr")].some(tr => tr.cells[0].tagName === "TD" && /[0-9]/.test(tr.cells[0].textContent));
		return !document.getElementById("scaling").hidden &&
			/^desired [0-9]+ workers?, running 1:$/.test(document.getElementById("scale-workers").textContent) &&
			document.getElementById("scale-reason").textContent !== "" && points >= 2 && decided;
	})()`
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](shown, chromedp.WithPollingTimeout(20*time.Second))); err != nil {
		advice, _ := chromedp.Run(ctx, chromedp.Text("#scaling"))
		t.Fatalf("no scaling advice, input line and decision shown (%q): %v", advice, err)
	}
	if figures, err := chromedp.Run(ctx, chromedp.Text("#scale-figures")); err != nil || !regexp.MustCompile(`^capacity [0-9.]+k/s per worker, bound by step velocity · input [0-9.]+k/s · forecast `).MatchString(figures) {
		t.Errorf("scaling figures %q (%v), want the capacity per worker and the velocity as the bottleneck", figures, err)
	}
	// the forecast runs ahead of the input; capacity is drawn
	ahead := `(() => {
		const xs = sel => { const p = document.querySelector("#scale-chart path." + sel);
			return p ? [...p.getAttribute("d").matchAll(/[ML]([0-9.]+),/g)].map(m => +m[1]) : []; };
		const now = +document.querySelector("#scale-chart line.now").getAttribute("x1");
		const input = xs("in"), mean = xs("fc"), hi = xs("hi"), cap = xs("cap");
		return input.length > 0 && mean.length > 0 && hi.length > 0 && cap.length > 0 &&
			Math.max(...mean) > now + 1 && Math.max(...input) <= now + 0.1;
	})()`
	if ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](ahead)); err != nil || !ok {
		d, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("scale-chart").innerHTML`))
		t.Errorf("the chart draws no forecast ahead of the input, or no capacity (%v):\n%s", err, d)
	}
	rows, err := chromedp.Run(ctx, chromedp.Evaluate[[][]string](`[...document.querySelectorAll("#decisions tr")].slice(1).map(tr => [...tr.cells].map(c => c.textContent))`))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if len(r) != 4 || !regexp.MustCompile(`^[0-9]+$`).MatchString(r[1]) || r[3] == "" {
			t.Errorf("decision row %q, want time, workers, need and reason", r)
		}
	}
	// the velocity view is measured, with the subtasks it needs; the run only advises
	steps, err := chromedp.Run(ctx, chromedp.Evaluate[[][]string](`[...document.querySelectorAll("#scale-steps tr")].slice(1).map(tr => [...tr.cells].map(c => c.textContent))`))
	if err != nil {
		t.Fatal(err)
	}
	if i := slices.IndexFunc(steps, func(r []string) bool { return len(r) == 5 && r[0] == "velocity" }); i < 0 ||
		steps[i][1] != "1" || !regexp.MustCompile(`^[1-9][0-9]*$`).MatchString(steps[i][2]) || !strings.HasSuffix(steps[i][3], "/s") {
		t.Errorf("per-step parallelism %q, want the velocity view at 1 with what it needs", steps)
	}
	if mode, err := chromedp.Run(ctx, chromedp.Text("#scale-mode")); err != nil || !strings.Contains(mode, "advice for the scheduler") {
		t.Errorf("scaling mode %q (%v), want advice for the scheduler", mode, err)
	}
	checkErrors(t, errs(), http.StatusServiceUnavailable)
	screenshot(t, ctx, "scaling.png")
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
	checkLayout(t, ctx)
	screenshot(t, ctx, "bottleneck.png")
}

// openIdlePage opens the dashboard of a pipeline that has not started, so that the stream
// sends no figures and a test can draw its own.
func openIdlePage(t *testing.T, ctx context.Context) {
	t.Helper()
	srv, err := Listen(listen.Config{Addr: "127.0.0.1:0"}, testPlan(t), &engine.Monitor{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Errorf("close server: %v", err)
		}
	})
	if err := chromedp.Do(ctx, chromedp.Navigate("http://"+srv.Addr()+"/")); err != nil {
		t.Fatal(err)
	}
}

// TestDashboardDrawsEveryFigure draws a made-up topology, one of every kind of figure, on a
// page whose pipeline has not started (so the stream sends nothing over it), and checks
// what each box and the table say.
func TestDashboardDrawsEveryFigure(t *testing.T) {
	ctx := newBrowser(t)
	openIdlePage(t, ctx)
	f := func(v float64) *float64 { return &v }
	backlog := int64(3 << 30)
	top := Topology{Pipeline: "figures", Nodes: []NodeLoad{
		{ID: "tx", Kind: "source", Parallelism: 2, InRate: 1500, OutRate: 1500, Busy: 0.3, Idle: 0.7,
			WatermarkLag: f(7200), BacklogBytes: &backlog, Unreachable: map[int]string{0: "broker 10.0.0.5:9092: connection refused", 1: "broker 10.0.0.5:9092: connection refused"}},
		{ID: "velocity", Kind: "window aggregate", Parallelism: 4, InRate: 1500, Busy: 0.5, Backpressure: 0.1, Idle: 0.4,
			BusiestSubtask: 3, BusiestBusy: 0.95, QueueFill: 0.9, WatermarkLag: f(3.2), LatencyP50: f(12.4), LatencyP99: f(3200),
			StateBytes: 51 << 20, HotKeys: []HotKey{{Key: "c0", Share: 0.55, Subtask: 3}, {Key: "c1", Share: 0.02, Subtask: 1}}},
		{ID: "volume", Kind: "window aggregate", Parallelism: 4, InRate: 1500, Busy: 0.1, Idle: 0.9,
			StateBytes: 18944, HotKeys: []HotKey{{Key: "m7", Share: 0.05, Subtask: 0}}},
		{ID: "lake", Kind: "sink", Parallelism: 1, InRate: 700, Idle: 1, LatencyP50: f(0.26), LatencyP99: f(38.4)},
	}, Edges: []EdgeLoad{
		{From: "tx", To: "velocity", Rate: 1500}, {From: "tx", To: "volume", Rate: 1500},
		{From: "velocity", To: "lake", Rate: 700}, {From: "volume", To: "lake", Rate: 0},
	}, Verdict: Verdict{Node: "velocity", Reason: `key "c0" of window aggregate "velocity" takes 55% of its input: skew`}}
	js, err := json.Marshal(top)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`drawDag(`+string(js)+`); drawNodes(`+string(js)+`); true`)); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ node, cls, want string }{
		{"tx", "queue", "queue 0%  watermark lag 2 h"},
		{"tx", "latency", "latency —"},
		{"tx", "size", "backlog 3.0 GiB"},
		{"tx", "hot", ""},
		{"tx", "outage", "unreachable: 2 partitions"},
		{"tx", "outage tspan.full", "unreachable: 2 partitions"},
		{"velocity", "outage", ""},
		{"velocity", "rates", "in 1.5k/s  out 0.0/s"},
		{"velocity", "load", "busy 50%  backpressure 10%"},
		{"velocity", "queue", "queue 90%  watermark lag 3.2 s"},
		{"velocity", "queue tspan.full", "queue 90%"},
		{"tx", "queue tspan.full", ""},
		{"velocity", "latency", "latency p50 12 ms  p99 3.2 s"},
		{"velocity", "size", "state 51.0 MiB"},
		{"velocity", "hot", "hot key c0  55% of input"},
		{"volume", "queue", "queue 0%  watermark lag —"},
		{"volume", "size", "state 18.5 KiB"},
		{"volume", "hot", ""}, // 5% is not hot
		{"lake", "latency", "latency p50 0.26 ms  p99 38 ms"},
		{"lake", "size", ""},
	} {
		if got := nodeText(t, ctx, c.node, c.cls); got != c.want {
			t.Errorf("%s %s: %q, want %q", c.node, c.cls, got, c.want)
		}
	}
	marked, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.querySelector('[data-node="velocity"] rect.bottleneck') !== null`))
	if err != nil || !marked {
		t.Errorf("velocity not marked as the bottleneck (%v)", err)
	}
	row, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelector('#nodes tr[data-node="velocity"]').cells].map(c => c.textContent)`))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"velocity", "window aggregate", "4", "1.5k", "0.0", "50%", "10%", "40%", "#3 95%", "90%", "3.2 s", "12 ms", "3.2 s", "51.0 MiB", "", "c0 55% (#3)\nc1 2.0% (#1)"}
	if strings.Join(row, "|") != strings.Join(want, "|") {
		t.Errorf("table row of velocity:\n%q\nwant\n%q", row, want)
	}
	checkLayout(t, ctx)
	screenshot(t, ctx, "figures.png")
}

// TestDashboardChartsSinkLatency feeds the page three seconds of figures and checks that the
// latency chart takes the slowest sink each second, skips a second without figures and
// breaks its line there.
func TestDashboardChartsSinkLatency(t *testing.T) {
	ctx := newBrowser(t)
	openIdlePage(t, ctx)
	f := func(v float64) *float64 { return &v }
	second := func(a50, a99, b50, b99 *float64) string {
		top := Topology{Nodes: []NodeLoad{
			{ID: "tx", Kind: "source", LatencyP50: f(900), LatencyP99: f(900)}, // not a sink
			{ID: "a", Kind: "sink", LatencyP50: a50, LatencyP99: a99},
			{ID: "b", Kind: "sink", LatencyP50: b50, LatencyP99: b99},
		}}
		js, err := json.Marshal(top)
		if err != nil {
			t.Fatal(err)
		}
		return `record(` + string(js) + `);`
	}
	js := second(f(1), f(40), f(2), f(30)) + second(nil, nil, nil, nil) + second(f(5), f(8), nil, nil) + second(nil, nil, f(3), f(500)) +
		`drawLatency(); JSON.stringify(samples.map(s => [s.p50, s.p99]))`
	got, err := chromedp.Run(ctx, chromedp.Evaluate[string](js))
	if err != nil {
		t.Fatal(err)
	}
	if want := `[[2,40],[null,null],[5,8],[3,500]]`; got != want {
		t.Errorf("latency samples %s, want %s", got, want)
	}
	d, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector("#latency path.p99").getAttribute("d")`))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Count(d, "M") != 2 || strings.Count(d, "L") != 1 {
		t.Errorf("p99 line %q, want a point, a gap and a segment", d)
	}
	if now, err := chromedp.Run(ctx, chromedp.Text("#p99-now")); err != nil || now != "500 ms" {
		t.Errorf("p99 legend %q (%v), want 500 ms", now, err)
	}
}

// TestDashboardFormats checks how the page writes durations and sizes.
func TestDashboardFormats(t *testing.T) {
	ctx := newBrowser(t)
	openIdlePage(t, ctx)
	for _, c := range []struct{ js, want string }{
		{"seconds(3.2)", "3.2 s"},
		{"seconds(7200)", "2 h"},
		{"seconds(null)", "—"},
		{"seconds(0.012)", "12 ms"},
		{"seconds(270)", "4.5 min"},
		{"seconds(3 * 86400)", "3 d"},
		{"millis(0.26)", "0.26 ms"},
		{"millis(38.4)", "38 ms"},
		{"millis(1500)", "1.5 s"},
		{"millis(undefined)", "—"},
		{"bytes(512)", "512 B"},
		{"bytes(18944)", "18.5 KiB"},
		{"bytes(53798218)", "51.3 MiB"},
		{"bytes(5 * 2 ** 40)", "5.0 TiB"},
		{"share(0.031)", "3.1%"},
		{"share(0.55)", "55%"},
	} {
		got, err := chromedp.Run(ctx, chromedp.Evaluate[string](c.js))
		if err != nil {
			t.Fatalf("%s: %v", c.js, err)
		}
		if got != c.want {
			t.Errorf("%s = %q, want %q", c.js, got, c.want)
		}
	}
}
