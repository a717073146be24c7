package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"

	"millrace/engine"
	"millrace/eval"
	"millrace/format"
	"millrace/listen"
	"millrace/observe"
	"millrace/plan"
	"millrace/spec"
	"millrace/tally"
)

// runFraudServed runs examples/fraud.yaml over rows generated transactions to its end with
// the observe server watching it, and returns the server (closed when the test ends) and
// the directory of the alerts and the audit trail.
func runFraudServed(t *testing.T, rows string) (*observe.Server, string) {
	t.Helper()
	out := t.TempDir()
	vars := map[string]string{"FRAUD_ROWS": rows, "FRAUD_OUT": out, "FRAUD_DIR": "../../examples"}
	text := readFile(t, "../../examples/fraud.yaml")
	s, err := spec.Parse(text, "fraud.yaml", func(k string) (string, bool) { v, ok := vars[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	p, err := plan.Build(s, plan.Options{Parallelism: 2})
	if err != nil {
		t.Fatal(err)
	}
	mon := &engine.Monitor{}
	srv, err := observe.Listen(listen.Config{Addr: "127.0.0.1:0"}, p, mon)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Error(err)
		}
	})
	opts := engine.DefaultOptions()
	opts.Monitor = mon
	if _, err := engine.Run(context.Background(), p.Graph, opts); err != nil {
		t.Fatal(err)
	}
	return srv, out
}

func getFraud(t *testing.T, srv *observe.Server) tally.View {
	t.Helper()
	resp, err := http.Get("http://" + srv.Addr() + "/api/fraud")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }() // closing a test connection has nothing to report
	var v tally.View
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		t.Fatalf("/api/fraud: %v", err)
	}
	return v
}

// TestFraudPanelCountsWhatTheSinksHold runs the fraud example to its end and checks that
// /api/fraud counts exactly the alerts its sink wrote, by rule, by scenario and per minute,
// lists alerts the sink holds, and measures every rule and the model as millrace eval
// measures the audit trail: the counts exactly, the model's areas within what its
// histogram's bins can tell apart.
func TestFraudPanelCountsWhatTheSinksHold(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the fraud example over 40,000 rows")
	}
	srv, out := runFraudServed(t, "40000")
	v := getFraud(t, srv)

	// The alerts, read back.
	f, err := os.Open(filepath.Join(out, "alerts.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	byRule, byScenario := map[string]int64{}, map[string]int64{}
	perMinute := map[int64]map[string]int64{}
	written := map[[2]string]bool{}
	var total int64
	var newest int64 = math.MinInt64
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var a struct {
			TxID     string  `json:"tx_id"`
			TS       string  `json:"ts"`
			Rule     string  `json:"rule"`
			IsFraud  *bool   `json:"is_fraud"`
			Scenario *string `json:"fraud_scenario"`
		}
		if err := json.Unmarshal(sc.Bytes(), &a); err != nil {
			t.Fatal(err)
		}
		ts, err := time.Parse(time.RFC3339Nano, a.TS)
		if err != nil {
			t.Fatal(err)
		}
		scenario := tally.Normal
		if a.IsFraud != nil && *a.IsFraud {
			scenario = tally.Fraud
			if a.Scenario != nil && *a.Scenario != "" {
				scenario = *a.Scenario
			}
		}
		total++
		byRule[a.Rule]++
		byScenario[scenario]++
		m := ts.UnixMilli() / 60_000
		newest = max(newest, m)
		if perMinute[m] == nil {
			perMinute[m] = map[string]int64{}
		}
		perMinute[m][a.Rule]++
		written[[2]string{a.TxID, a.Rule}] = true
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if total < 100 || len(byRule) < 3 {
		t.Fatalf("the run wrote %d alerts by %d rules; the test wants more to compare", total, len(byRule))
	}
	t.Logf("%d alerts by rule %v, by scenario %v", total, byRule, byScenario)
	if v.Alerts != total || !equalCounts(v.ByRule, byRule) || !equalCounts(v.ByScenario, byScenario) {
		t.Errorf("/api/fraud: %d alerts by rule %v by scenario %v; the sink holds %d by rule %v by scenario %v",
			v.Alerts, v.ByRule, v.ByScenario, total, byRule, byScenario)
	}
	if len(v.Minutes) != tally.DefaultConfig().Minutes {
		t.Fatalf("%d minutes, want %d", len(v.Minutes), tally.DefaultConfig().Minutes)
	}
	if last := v.Minutes[len(v.Minutes)-1].Start.UnixMilli() / 60_000; last != newest {
		t.Errorf("the newest minute is %d, the sink's %d", last, newest)
	}
	for _, m := range v.Minutes {
		if want := perMinute[m.Start.UnixMilli()/60_000]; !equalCounts(m.ByRule, want) {
			t.Errorf("minute %s: %v, the sink %v", m.Start, m.ByRule, want)
		}
	}
	if len(v.Latest) != tally.DefaultConfig().Latest {
		t.Errorf("%d latest alerts, want %d", len(v.Latest), tally.DefaultConfig().Latest)
	}
	for _, a := range v.Latest {
		if !written[[2]string{a.TxID, a.Rule}] || a.Reason == "" || a.Card == "" || a.Amount == "" || a.Time.IsZero() {
			t.Errorf("latest alert %+v is not one the sink holds, or lacks a field", a)
		}
	}

	// The measures, against millrace eval over the audit trail.
	audit := filepath.Join(out, "audit.parquet")
	js := mustRun(t, "eval", audit, "--rules", "../../examples/rules/fraud.yaml", "--threshold", "0.5", "--json")
	var rep struct {
		Results []struct {
			Classifier string
			Overall    evalMeasures
			Scenarios  map[string]evalMeasures
		}
	}
	if err := json.Unmarshal([]byte(js), &rep); err != nil {
		t.Fatal(err)
	}
	bounds := areaBounds(t, audit, tally.DefaultConfig().Bins)
	if len(v.Classifiers) != len(rep.Results) {
		t.Fatalf("/api/fraud measures %d classifiers, eval %d", len(v.Classifiers), len(rep.Results))
	}
	for _, want := range rep.Results {
		var got *tally.ClassifierView
		for i := range v.Classifiers {
			if v.Classifiers[i].Name == want.Classifier {
				got = &v.Classifiers[i]
			}
		}
		if got == nil {
			t.Errorf("/api/fraud does not measure %s", want.Classifier)
			continue
		}
		check := func(over string, g tally.Measures, w evalMeasures) {
			t.Helper()
			if g.TP != w.TP || g.FP != w.FP || g.FN != w.FN || g.TN != w.TN || g.Rows != w.Rows || g.Positives != w.Positives {
				t.Errorf("%s over %s: live %+v, eval %+v", want.Classifier, over, g, w)
			}
			if want.Classifier != "score" {
				return
			}
			b := bounds[over]
			if g.PRAUC == nil || math.Abs(*g.PRAUC-w.PRAUC) > b.pr+1e-12 || math.Abs(*g.ROCAUC-w.ROCAUC) > b.roc+1e-12 {
				t.Errorf("%s over %s: live areas %v %v, eval %g %g, bounds %+v", want.Classifier, over, g.PRAUC, g.ROCAUC, w.PRAUC, w.ROCAUC, b)
			}
		}
		check("all", got.Overall, want.Overall)
		if got.Overall.PRAUC != nil {
			t.Logf("%s: live areas %.4f %.4f; eval %.4f %.4f; bounds %+v", want.Classifier, *got.Overall.PRAUC, *got.Overall.ROCAUC, want.Overall.PRAUC, want.Overall.ROCAUC, bounds["all"])
		}
		if len(got.Scenarios) != len(want.Scenarios) {
			t.Errorf("%s: live scenarios %v, eval %v", want.Classifier, got.Scenarios, want.Scenarios)
		}
		for s, w := range want.Scenarios {
			check(s, got.Scenarios[s], w)
		}
	}
}

type evalMeasures struct {
	Rows, Positives, TP, FP, FN, TN int
	PRAUC                           float64 `json:"pr_auc"`
	ROCAUC                          float64 `json:"roc_auc"`
}

func equalCounts(a, b map[string]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// areaBound is how far areas from a histogram may be from the exact ones.
type areaBound struct{ pr, roc float64 }

// areaBounds reads the scores of the audit trail and returns, over all rows and per
// scenario, how far PR-AUC and ROC-AUC from a histogram of bins may be from the exact areas,
// which differ only by the order of the scores within a bin: ROC-AUC by at most half the
// share of positive-negative pairs that share a bin; PR-AUC by at most, per bin, the recall
// its positives add times the range of the precision reached within it.
func areaBounds(t *testing.T, audit string, bins int) map[string]areaBound {
	t.Helper()
	inf, err := format.Infer(audit, "", 1000)
	if err != nil {
		t.Fatal(err)
	}
	r, err := format.OpenAll(audit, "", inf.Schema, format.ReadOptions{FailOnDamage: true})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	col := func(name string) int { return inf.Schema.FieldIndices(name)[0] }
	neg := eval.NewHistogram(bins)
	pos := map[string]*eval.Histogram{"all": new(eval.NewHistogram(bins))}
	for {
		rec, _, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		score := rec.Column(col("score")).(*array.Float64)
		label := rec.Column(col("is_fraud")).(*array.Boolean)
		scen := rec.Column(col("fraud_scenario")).(*array.String)
		for i := range int(rec.NumRows()) {
			if !label.IsValid(i) || !label.Value(i) {
				neg.Add(score.Value(i))
				continue
			}
			pos["all"].Add(score.Value(i))
			if scen.IsValid(i) && scen.Value(i) != "" {
				if pos[scen.Value(i)] == nil {
					pos[scen.Value(i)] = new(eval.NewHistogram(bins))
				}
				pos[scen.Value(i)].Add(score.Value(i))
			}
		}
		rec.Release()
	}
	out := map[string]areaBound{}
	for name, p := range pos {
		var b areaBound
		P, N := float64(p.Total()), float64(neg.Total())
		tp, fp := 0.0, 0.0
		for i := bins - 1; i >= 0; i-- {
			pb, nb := float64(p.Bins[i]), float64(neg.Bins[i])
			b.roc += pb * nb / (2 * P * N)
			if pb > 0 {
				hi := (tp + pb) / (tp + fp + pb)
				lo := (tp + 1) / (tp + fp + 1 + nb)
				b.pr += pb / P * (hi - lo)
			}
			tp, fp = tp+pb, fp+nb
		}
		out[name] = b
	}
	return out
}
