package observe

import (
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"millrace/listen"
	"millrace/plan"
	"millrace/spec"
)

// liveClusterWorkers are three workers of the dashboard pipeline (startLiveRun's): w2 is
// saturated on the view big, w3 waits for nothing and lags, w9 stopped publishing.
func liveClusterWorkers() []WorkerView {
	lag := func(n int64) *int64 { return &n }
	now := time.Now()
	steps := func(busiest float64) []StepFigures {
		return []StepFigures{
			{Step: "tx", Kind: "source", Subtasks: 2, InRate: 25000, OutRate: 25000, Busy: 0.2, BusiestBusy: 0.25, LagRecords: lag(300)},
			{Step: "big", Kind: "view", Subtasks: 2, InRate: 25000, OutRate: 3000, Busy: busiest * 0.9, BusiestSubtask: 1, BusiestBusy: busiest},
		}
	}
	return []WorkerView{
		{Worker: "w1", Host: "node-a", Updated: now, Generation: 3, Owned: "tx/0-3", Partitions: 4, LagRecords: 300,
			MaxLag: &PartitionLag{Partition: "tx/2", Records: 200}, InRate: 25000,
			Checkpoint: &CheckpointView{ID: 41, At: now.Add(-2 * time.Second), Units: 4}, RebalancePause: 0.35, Rebalances: 1, Steps: steps(0.4)},
		{Worker: "w2", Host: "node-b", Updated: now, Generation: 3, Owned: "tx/4-7", Partitions: 4, LagRecords: 300, InRate: 25000,
			Checkpoint: &CheckpointView{ID: 40, At: now.Add(-4 * time.Second), Units: 4}, RebalancePause: 0.5, Rebalances: 1, Steps: steps(0.97)},
		{Worker: "w9", Host: "node-c", Updated: now.Add(-time.Hour), Generation: 2, Owned: "tx/8", Partitions: 1, Stale: true, Steps: steps(0.99)},
	}
}

// TestDashboardShowsTheCluster serves a running pipeline as a worker of a cluster whose
// workers a fake view gives, and checks that the page shows every worker, marks the one
// holding the cluster back with the reason, and names it on the step it holds back.
func TestDashboardShowsTheCluster(t *testing.T) {
	ctx := newBrowser(t)
	text := `
name: dashboard
sources:
  tx: {kind: generator, rate: 20000, speed: 1}
views:
  big: {from: tx, where: "amount > 100", select: {tx_id: tx_id, amount: amount}}
sinks:
  out: {from: big, kind: jsonl, path: ` + filepath.Join(t.TempDir(), "big.jsonl") + `}
`
	s, err := spec.Parse([]byte(text), "dashboard.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	p, err := plan.Build(s, plan.Options{Parallelism: 2})
	if err != nil {
		t.Fatal(err)
	}
	run := serveRunWith(t, listen.Config{Addr: "127.0.0.1:0"}, p, []Option{WithCluster(Cluster{Workers: liveClusterWorkers})})
	errs := pageErrors(ctx)
	openDashboard(t, ctx, run)
	shown := `!document.getElementById("workers").hidden && document.querySelectorAll("#worker-table tr[data-worker]").length === 3`
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](shown, chromedp.WithPollingTimeout(20*time.Second))); err != nil {
		panel, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("workers").outerHTML`))
		t.Fatalf("the workers panel does not show 3 workers (%v):\n%s", err, panel)
	}
	rows, err := chromedp.Run(ctx, chromedp.Evaluate[[][]string](`[...document.querySelectorAll("#worker-table tr[data-worker]")].map(tr => [tr.className, ...[...tr.cells].map(c => c.textContent)])`))
	if err != nil {
		t.Fatal(err)
	}
	// cells are matched literally, but the ages, which are patterns
	want := [][]string{
		{"", "w1", "node-a", "tx/0-3", "25.0k", "40% big", "300 (most on tx/2)", `#41, [0-9.]+ s ago`, "350 ms (1)", ""},
		{"bottleneck", "w2", "node-b", "tx/4-7", "25.0k", "97% big", "300", `#40, [0-9.]+ s ago`, "500 ms (1)", ""},
		{"stale", "w9 (stale)", "node-c", "tx/8", "0.0", "99% big", "0", "—", "—", ""},
	}
	if len(rows) != len(want) {
		t.Fatalf("worker rows %q", rows)
	}
	for i, r := range rows {
		if len(r) != len(want[i]) {
			t.Errorf("worker row %q, want %d cells", r, len(want[i]))
			continue
		}
		for j, cell := range r {
			pattern := regexp.QuoteMeta(want[i][j])
			if strings.Contains(want[i][j], " s ago") {
				pattern = want[i][j]
			}
			if !regexp.MustCompile(`^` + pattern + `$`).MatchString(cell) {
				t.Errorf("worker row %d cell %d: %q, want %q (row %q)", i, j, cell, want[i][j], r)
			}
		}
	}
	reason := "worker w2: busy 97% on big, subtask 1 of 2; the other worker on it 40%"
	if v, err := chromedp.Run(ctx, chromedp.Text("#worker-verdict")); err != nil || v != reason {
		t.Errorf("worker verdict %q (%v), want %q", v, err, reason)
	}
	title, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('[data-node="big"] title').textContent`))
	if err != nil || !strings.Contains(title, "\nheld back by "+reason) {
		t.Errorf("the tooltip of big does not name w2 (%v):\n%s", err, title)
	}
	checkLayout(t, ctx)
	checkErrors(t, errs(), http.StatusNotFound)
	screenshot(t, ctx, "cluster.png")
}
