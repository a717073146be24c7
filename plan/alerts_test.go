package plan

import (
	"os"
	"testing"

	"millrace/spec"
	"millrace/tally"
)

// TestPlansOfOneRunFeedOneBoard plans the fraud example twice, the second time at another
// parallelism with the first plan's board, as a run that rescales does: both feed that
// board. A spec without a rules step has none.
func TestPlansOfOneRunFeedOneBoard(t *testing.T) {
	text, err := os.ReadFile("../examples/fraud.yaml")
	if err != nil {
		t.Fatal(err)
	}
	env := func(k string) (string, bool) { return "../examples", k == "FRAUD_DIR" }
	s, err := spec.Parse(text, "fraud.yaml", env)
	if err != nil {
		t.Fatal(err)
	}
	first, err := Build(s, Options{Parallelism: 1})
	if err != nil {
		t.Fatal(err)
	}
	if first.Alerts == nil {
		t.Fatal("a plan with a rules step has no board of alerts")
	}
	again, err := Build(s, Options{Parallelism: 2, Alerts: first.Alerts})
	if err != nil {
		t.Fatal(err)
	}
	if again.Alerts != first.Alerts {
		t.Error("the rebuilt plan feeds a board of its own")
	}
	other, err := Build(s, Options{Parallelism: 2})
	if err != nil {
		t.Fatal(err)
	}
	if other.Alerts == first.Alerts {
		t.Error("a plan of another run feeds the first run's board")
	}
	plain, err := spec.Parse([]byte("name: plain\nsources:\n  tx: {kind: generator, rows: 10}\nsinks:\n  out: {from: tx, kind: stdout}\n"), "plain.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	p, err := Build(plain, Options{Parallelism: 1, Alerts: tally.NewBoard(tally.Config{})})
	if err != nil {
		t.Fatal(err)
	}
	if p.Alerts != nil {
		t.Error("a plan without a rules step has a board of alerts")
	}
}
