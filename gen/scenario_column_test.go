package gen

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"millrace/schema"
)

// TestScenarioColumn checks that the fraud_scenario column names the scenario of exactly the
// rows labelled is_fraud, in the proportions Stats counts, and leaves every other column as
// a stream without it has them.
func TestScenarioColumn(t *testing.T) {
	cfg := smallConfig()
	cfg.Rows = 20_000
	cfg.FraudRate = 0.02
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)
	plain := batches(t, cfg, mem, 4096)
	cfg.ScenarioColumn = true
	labelled := batches(t, cfg, mem, 4096)
	defer func() {
		for _, r := range append(plain, labelled...) {
			r.Release()
		}
	}()
	if len(plain) != len(labelled) {
		t.Fatalf("%d batches without the column, %d with it", len(plain), len(labelled))
	}
	by := map[string]int{}
	for i, rec := range labelled {
		if !rec.Schema().Equal(schema.TransactionScenario()) {
			t.Fatalf("batch %d has schema %s", i, rec.Schema())
		}
		for c := range plain[i].NumCols() {
			if !array.Equal(plain[i].Column(int(c)), rec.Column(int(c))) {
				t.Fatalf("batch %d: column %s differs with the scenario column", i, rec.ColumnName(int(c)))
			}
		}
		fraud := rec.Column(schema.IsFraud).(*array.Boolean)
		sc := rec.Column(schema.IsFraud + 1).(*array.String)
		for r := range int(rec.NumRows()) {
			if fraud.Value(r) != sc.IsValid(r) {
				t.Fatalf("batch %d row %d: is_fraud %v but fraud_scenario valid %v", i, r, fraud.Value(r), sc.IsValid(r))
			}
			if sc.IsValid(r) {
				by[sc.Value(r)]++
			}
		}
	}
	g, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for g.Skip(cfg.Rows) > 0 {
	}
	st := g.Stats()
	for s := range NumScenarios {
		if int64(by[s.String()]) != st.FraudBy[s] {
			t.Errorf("%s: %d rows carry it, stats count %d", s, by[s.String()], st.FraudBy[s])
		}
	}
	if len(by) != int(NumScenarios) {
		t.Errorf("scenarios seen: %v", by)
	}
}
