package tally

import (
	"fmt"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"millrace/eval"
	"millrace/rules"
)

var testSchema = arrow.NewSchema([]arrow.Field{
	{Name: "tx_id", Type: arrow.BinaryTypes.String},
	{Name: "ts", Type: &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "UTC"}},
	{Name: "card_id", Type: arrow.BinaryTypes.String},
	{Name: "amount", Type: arrow.PrimitiveTypes.Float64},
	{Name: "is_fraud", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
	{Name: "fraud_scenario", Type: arrow.BinaryTypes.String, Nullable: true},
}, nil)

// row is one row of the test batches.
type row struct {
	ts       int64
	amount   float64
	fraud    *bool
	scenario string
	score    float64
}

func batch(rows []row) arrow.RecordBatch {
	b := array.NewRecordBuilder(memory.DefaultAllocator, testSchema)
	defer b.Release()
	for i, r := range rows {
		b.Field(0).(*array.StringBuilder).Append(fmt.Sprintf("t%d", i))
		b.Field(1).(*array.TimestampBuilder).Append(arrow.Timestamp(r.ts))
		b.Field(2).(*array.StringBuilder).Append(fmt.Sprintf("c%d", i%3))
		b.Field(3).(*array.Float64Builder).Append(r.amount)
		if r.fraud == nil {
			b.Field(4).AppendNull()
		} else {
			b.Field(4).(*array.BooleanBuilder).Append(*r.fraud)
		}
		if r.scenario == "" {
			b.Field(5).AppendNull()
		} else {
			b.Field(5).(*array.StringBuilder).Append(r.scenario)
		}
	}
	return b.NewRecordBatch()
}

// testRows are 40 rows over three minutes: every fifth is fraud of scenario a or b, one
// row's label is null (read as normal), and amounts rise with the row.
func testRows() []row {
	yes, no := true, false
	var rows []row
	for i := range 40 {
		r := row{ts: int64(i) * 5_000, amount: float64(i), fraud: &no, score: float64(i%10) / 10}
		if i%5 == 0 {
			r.fraud, r.score = &yes, 0.35+float64(i)/100
			r.scenario = []string{"a", "b"}[i%2]
		}
		if i == 7 {
			r.fraud = nil
		}
		rows = append(rows, r)
	}
	return rows
}

// TestBoardCountsAlertsAndMeasuresAsEval feeds a board two rules and a model over the test
// rows, and checks the alerts per rule, scenario and minute, the latest alerts, and that
// the rules' and model's figures are eval's over the same rows.
func TestBoardCountsAlertsAndMeasuresAsEval(t *testing.T) {
	rs, err := rules.Parse([]byte(`rules:
  - {name: big, when: "amount >= 30", severity: high, reason: a big amount}
  - {name: odd, when: "amount > 9 AND amount < 12", reason: an odd amount}
`), "rules.yaml")
	if err != nil {
		t.Fatal(err)
	}
	set, err := rules.Compile(rs, testSchema, "rules.yaml")
	if err != nil {
		t.Fatal(err)
	}
	set.Version = "v1"
	b := NewBoard(Config{Latest: 5, Minutes: 2})
	rtap := b.Rules("alerts", testSchema, "ts")
	mtap := b.Model("scored", "score", testSchema)
	rows := testRows()
	// Two batches, as two subtasks would feed them.
	for _, part := range [][]row{rows[:25], rows[25:]} {
		rec := batch(part)
		matches, err := set.Match(rec)
		if err != nil {
			t.Fatal(err)
		}
		rtap.Matched(rec, set, matches)
		sb := array.NewFloat64Builder(memory.DefaultAllocator)
		for _, r := range part {
			sb.Append(r.score)
		}
		scores := sb.NewFloat64Array()
		mtap.Scored(rec, scores)
		scores.Release()
		sb.Release()
		rec.Release()
	}
	v := b.View()
	// big: rows 30..39, of which 30 (a) and 35 (b) are fraud; odd: rows 10 (a) and 11.
	if v.Alerts != 12 || v.ByRule["big"] != 10 || v.ByRule["odd"] != 2 {
		t.Errorf("alerts %d by rule %v, want 12: big 10, odd 2", v.Alerts, v.ByRule)
	}
	if v.ByScenario["a"] != 2 || v.ByScenario["b"] != 1 || v.ByScenario[Normal] != 9 {
		t.Errorf("by scenario %v, want a 2, b 1, none 9", v.ByScenario)
	}
	// Minutes: rows 24..35 in minute 2, 36..39 in minute 3; two minutes kept, up to minute 3.
	if len(v.Minutes) != 2 || !v.Minutes[1].Start.Equal(time.UnixMilli(3*60_000)) ||
		v.Minutes[0].ByRule["big"] != 6 || v.Minutes[1].ByRule["big"] != 4 || v.Minutes[0].ByRule["odd"] != 0 {
		t.Errorf("minutes %+v", v.Minutes)
	}
	if len(v.Latest) != 5 || v.Latest[0].TxID != "t14" || v.Latest[0].Rule != "big" || v.Latest[0].Card != "c2" ||
		v.Latest[0].Amount != "39" || v.Latest[0].Severity != "high" || v.Latest[0].RulesVersion != "v1" || v.Latest[4].TxID != "t10" {
		t.Errorf("latest %+v", v.Latest)
	}
	if v.Label != LabelColumn || len(v.Classifiers) != 3 {
		t.Fatalf("label %q, classifiers %+v", v.Label, v.Classifiers)
	}
	// The same figures by package eval over every row.
	labels, scenario, scores := make([]bool, len(rows)), make([]string, len(rows)), make([]float64, len(rows))
	ruleScores := map[string][]float64{"rule big": make([]float64, len(rows)), "rule odd": make([]float64, len(rows))}
	for i, r := range rows {
		labels[i], scenario[i], scores[i] = r.fraud != nil && *r.fraud, r.scenario, r.score
		if r.amount >= 30 {
			ruleScores["rule big"][i] = 1
		}
		if r.amount > 9 && r.amount < 12 {
			ruleScores["rule odd"][i] = 1
		}
	}
	quantized := make([]float64, len(scores))
	for i, s := range scores {
		quantized[i] = eval.Quantize(s, DefaultConfig().Bins)
	}
	rep, err := eval.Evaluate(labels, scenario, 0.01,
		eval.Classifier{Name: "score", Scores: quantized, Threshold: 0.5},
		eval.Classifier{Name: "rule big", Scores: ruleScores["rule big"], Threshold: 1},
		eval.Classifier{Name: "rule odd", Scores: ruleScores["rule odd"], Threshold: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range rep.Results {
		var got *ClassifierView
		for i := range v.Classifiers {
			if v.Classifiers[i].Name == want.Classifier {
				got = &v.Classifiers[i]
			}
		}
		if got == nil {
			t.Fatalf("no classifier %s in %+v", want.Classifier, v.Classifiers)
		}
		check := func(over string, g Measures, w eval.Measures) {
			if g.TP != w.At.TP || g.FP != w.At.FP || g.FN != w.At.FN || g.TN != w.At.TN || g.Rows != w.Rows || g.Positives != w.Positives {
				t.Errorf("%s over %s: %+v, eval %+v (rows %d)", got.Name, over, g, w.At, w.Rows)
			}
			if got.Name == "score" && (g.PRAUC == nil || *g.PRAUC != w.PRAUC || *g.ROCAUC != w.ROCAUC) {
				t.Errorf("%s over %s: areas %v %v, eval %g %g", got.Name, over, g.PRAUC, g.ROCAUC, w.PRAUC, w.ROCAUC)
			}
		}
		check("all", got.Overall, want.Overall)
		if len(got.Scenarios) != len(rep.Scenarios) {
			t.Errorf("%s: scenarios %v, eval %v", got.Name, got.Scenarios, rep.Scenarios)
		}
		for _, s := range rep.Scenarios {
			check(s, got.Scenarios[s], want.Scenarios[s])
		}
	}
}

// TestBoardBoundsScenarios checks that names past Config.Scenarios count as other, and that
// rows without a label make no measures.
func TestBoardBoundsScenarios(t *testing.T) {
	b := NewBoard(Config{Scenarios: 1})
	yes := true
	rec := batch([]row{{ts: 1, fraud: &yes, scenario: "a"}, {ts: 2, fraud: &yes, scenario: "b"}, {ts: 3, fraud: &yes}})
	defer rec.Release()
	set, err := rules.Compile([]rules.Rule{{Name: "all", When: "true", Severity: "low", Reason: "every row"}}, testSchema, "r.yaml")
	if err != nil {
		t.Fatal(err)
	}
	b.Rules("v", testSchema, "ts").Matched(rec, set, [][]int32{{0, 1, 2}})
	v := b.View()
	if v.ByScenario["a"] != 1 || v.ByScenario[Other] != 1 || v.ByScenario[Fraud] != 1 {
		t.Errorf("by scenario %v, want a, other and fraud once each", v.ByScenario)
	}
	plain := arrow.NewSchema(testSchema.Fields()[:4], nil)
	if NewBoard(Config{}).Model("v", "score", plain) != nil {
		t.Error("a model tap over rows without a label")
	}
	if got := math.Abs(v.Classifiers[0].Overall.Recall - 1); got != 0 {
		t.Errorf("recall of a rule matching every positive: %+v", v.Classifiers[0].Overall)
	}
}

// TestBoardTakesSubtasksAtOnce feeds one board from several goroutines, as the subtasks of
// a step do, and checks that every alert and row is counted (run it with -race).
func TestBoardTakesSubtasksAtOnce(t *testing.T) {
	set, err := rules.Compile([]rules.Rule{{Name: "big", When: "amount >= 30", Severity: "high", Reason: "big"}}, testSchema, "r.yaml")
	if err != nil {
		t.Fatal(err)
	}
	b := NewBoard(Config{})
	rtap, mtap := b.Rules("v", testSchema, "ts"), b.Model("v", "score", testSchema)
	const feeders, rounds = 4, 25
	var wg sync.WaitGroup
	for range feeders {
		wg.Go(func() {
			for range rounds {
				rec := batch(testRows())
				matches, err := set.Match(rec)
				if err != nil {
					t.Error(err)
				}
				rtap.Matched(rec, set, matches)
				sb := array.NewFloat64Builder(memory.DefaultAllocator)
				for range rec.NumRows() {
					sb.Append(0.4)
				}
				scores := sb.NewFloat64Array()
				mtap.Scored(rec, scores)
				scores.Release()
				sb.Release()
				rec.Release()
				_ = b.View()
			}
		})
	}
	wg.Wait()
	v := b.View()
	if v.Alerts != feeders*rounds*10 {
		t.Errorf("%d alerts, want %d", v.Alerts, feeders*rounds*10)
	}
	for _, c := range v.Classifiers {
		if c.Overall.Rows != feeders*rounds*40 {
			t.Errorf("%s measured %d rows, want %d", c.Name, c.Overall.Rows, feeders*rounds*40)
		}
	}
}
