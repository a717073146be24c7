package observe

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"millrace/engine"
	"millrace/tally"
)

// TestFraudPanelInBrowser runs the fraud example (features, the model, the rules) over
// generated transactions to its end, opens the dashboard in headless Chromium and checks
// that the fraud panel charts the alerts per minute by every rule and scenario /api/fraud
// counts, lists the latest alerts with their rule, reason, severity, card, amount and
// scenario, and measures the model and every rule against the label.
func TestFraudPanelInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the fraud example over 20,000 rows")
	}
	ctx := newBrowser(t)
	vars := map[string]string{"FRAUD_ROWS": "20000", "FRAUD_OUT": t.TempDir(), "FRAUD_DIR": "../examples"}
	text, err := os.ReadFile("../examples/fraud.yaml")
	if err != nil {
		t.Fatal(err)
	}
	p, srv, mon := servePlan(t, string(text), "fraud.yaml", func(k string) (string, bool) { v, ok := vars[k]; return v, ok }, 2)
	opts := engine.DefaultOptions()
	opts.Monitor = mon
	if _, err := engine.Run(context.Background(), p.Graph, opts); err != nil {
		t.Fatal(err)
	}
	run := liveRun{plan: p, srv: srv, mon: mon}
	resp, err := http.Get(run.url("/api/fraud"))
	if err != nil {
		t.Fatal(err)
	}
	var v tally.View
	err = json.NewDecoder(resp.Body).Decode(&v)
	_ = resp.Body.Close() // closing a test connection has nothing to report
	if err != nil {
		t.Fatal(err)
	}
	if len(v.ByRule) < 3 || len(v.ByScenario) < 2 || len(v.Latest) != 20 {
		t.Fatalf("the run alerted too little to show: %+v", v)
	}

	errs := pageErrors(ctx)
	if err := chromedp.Do(ctx, chromedp.Navigate(run.url("/"))); err != nil {
		t.Fatal(err)
	}
	shown := `!document.getElementById("fraud").hidden && document.querySelectorAll("#fraud-latest tr[data-rule]").length > 0`
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](shown, chromedp.WithPollingTimeout(20*time.Second))); err != nil {
		t.Fatalf("the fraud panel is not shown: %v", err)
	}
	legend := func(id string) []string {
		keys, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll("#`+id+`-legend .key")].map(k => k.dataset.key + " " + k.textContent.split(" ").pop())`))
		if err != nil {
			t.Fatal(err)
		}
		return keys
	}
	for id, counts := range map[string]map[string]int64{"fraud-by-rule": v.ByRule, "fraud-by-scenario": v.ByScenario} {
		var want []string
		for k, n := range counts {
			want = append(want, k+" "+itoa(n))
		}
		got := legend(id)
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("%s legend %v, want %v", id, got, want)
		}
		bars, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("#`+id+` rect").length`))
		if err != nil || bars == 0 {
			t.Errorf("%s draws no bars (%v)", id, err)
		}
	}
	rows, err := chromedp.Run(ctx, chromedp.Evaluate[[][]string](`[...document.querySelectorAll("#fraud-latest tr[data-rule]")].map(tr => [...tr.cells].map(c => c.textContent))`))
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 20 {
		t.Errorf("%d latest alerts shown, want 20", len(rows))
	}
	for _, r := range rows {
		if len(r) != 8 || r[0] == "" || v.ByRule[r[1]] == 0 || r[2] == "" || r[3] == "" || r[4] == "" || r[5] == "" || v.ByScenario[r[6]] == 0 {
			t.Errorf("latest alert row %q lacks time, a rule, severity, reason, card, amount or scenario", r)
		}
	}
	names, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll("#fraud-eval tr[data-classifier]")].map(tr => tr.dataset.classifier)`))
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, c := range v.Classifiers {
		want = append(want, c.Name)
	}
	if !slices.Equal(names, want) || !slices.Contains(names, "score") || !slices.Contains(names, "rule card_testing") {
		t.Errorf("the measures list %v, want %v with the score and every rule", names, want)
	}
	figures, err := chromedp.Run(ctx, chromedp.Text(`#fraud-eval tr[data-classifier="score"]`))
	if err != nil || strings.Count(figures, "0.") < 4 {
		t.Errorf("the model's measures %q (%v)", figures, err)
	}
	checkErrors(t, errs(), http.StatusNotFound) // served without a scaling advisor
	screenshot(t, ctx, "fraud.png")
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
