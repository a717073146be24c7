package main

import (
	"encoding/json"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestEvalByHand measures the table of package eval's tests, written as a CSV file, with a
// rules file of one rule, and checks the printed figures computed by hand there: the score
// at 0.5 has precision 0.6, recall 1, F1 0.75, PR-AUC 34/45 and ROC-AUC 0.8, recall 1/3 when
// 25% of the rows alert; scenario a has ROC-AUC 0.8 and PR-AUC 0.75. The rule amount > 100
// matches rows 0, 4 and 7: precision and recall 2/3.
func TestEvalByHand(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "scored.csv")
	text := "tx_id,amount,score,is_fraud,fraud_scenario\n" +
		"t0,500,0.9,true,a\nt1,5,0.8,false,\nt2,6,0.7,true,b\nt3,7,0.6,false,\n" +
		"t4,200,0.55,true,a\nt5,8,0.4,false,\nt6,9,0.3,false,\nt7,300,0.2,false,\n"
	if err := os.WriteFile(data, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	rulesFile := filepath.Join(dir, "rules.yaml")
	if err := os.WriteFile(rulesFile, []byte("rules:\n  - {name: big, when: amount > 100, reason: big}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	plot := filepath.Join(dir, "curves.png")
	out := mustRun(t, "eval", data, "--label", "is_fraud", "--scenario", "fraud_scenario", "--score", "score",
		"--threshold", "0.5", "--alert-rate", "0.25", "--rules", rulesFile, "--plot", plot)
	for _, want := range []string{
		"8 rows, 3 with is_fraud",
		"score >= 0.5                   all                            3    0.6000    1.0000    0.7500    0.7556    0.8000        0.3333",
		"                               a                              2    0.5000    1.0000    0.6667    0.7500    0.8000",
		"rule big                       all                            3    0.6667    0.6667    0.6667",
		"recall@25%",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	f, err := os.Open(plot)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := png.Decode(f); err != nil {
		t.Fatalf("%s: %v", plot, err)
	}
	// --json: the same figures with the counts at the threshold (see the table above: at
	// 0.5 five rows alert, three of them fraud; scenario a holds two fraud rows, both alerting).
	js := mustRun(t, "eval", data, "--threshold", "0.5", "--rules", rulesFile, "--json")
	var rep struct {
		Results []struct {
			Classifier string
			Overall    struct{ TP, FP, FN, TN, Positives int }
			Scenarios  map[string]struct{ TP, FP, FN, TN int }
		}
	}
	if err := json.Unmarshal([]byte(js), &rep); err != nil {
		t.Fatalf("eval --json: %v:\n%s", err, js)
	}
	if len(rep.Results) != 2 || rep.Results[0].Classifier != "score" || rep.Results[0].Overall.TP != 3 || rep.Results[0].Overall.FP != 2 ||
		rep.Results[0].Overall.FN != 0 || rep.Results[0].Overall.TN != 3 || rep.Results[0].Scenarios["a"].TP != 2 || rep.Results[0].Scenarios["a"].FP != 2 {
		t.Errorf("eval --json:\n%s", js)
	}
	if _, err := run(t, "eval", data, "--label", "fraud"); err == nil || !strings.Contains(err.Error(), `no label column "fraud"`) {
		t.Errorf("a missing label: %v", err)
	}
	if _, err := run(t, "eval", data, "--score", "risk"); err == nil || !strings.Contains(err.Error(), `no score column "risk"`) {
		t.Errorf("a missing score: %v", err)
	}
}
