package tally

import (
	"math"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"millrace/eval"
	"millrace/rules"
)

// The columns a Board reads from the rows it is fed, when they have them.
const (
	LabelColumn    = "is_fraud"       // boolean; a null is false, as millrace eval reads it
	ScenarioColumn = "fraud_scenario" // string; the scenario of a labelled row
	CardColumn     = "card_id"
	AmountColumn   = "amount"
	TxColumn       = "tx_id"
)

// columns are where a step's rows hold what a Board reads; -1 where they do not.
type columns struct {
	label, scenario, time, card, amount, tx int
}

func findColumns(in *arrow.Schema, timeCol string) columns {
	find := func(name string, want arrow.Type) int {
		if name == "" {
			return -1
		}
		idx := in.FieldIndices(name)
		if len(idx) == 0 || want != arrow.NULL && in.Field(idx[0]).Type.ID() != want {
			return -1
		}
		return idx[0]
	}
	return columns{label: find(LabelColumn, arrow.BOOL), scenario: find(ScenarioColumn, arrow.STRING),
		time: find(timeCol, arrow.TIMESTAMP), card: find(CardColumn, arrow.NULL), amount: find(AmountColumn, arrow.NULL),
		tx: find(TxColumn, arrow.NULL)}
}

// labels reads the label and scenario of every row of rec: a row is positive where the
// label is true; its scenario is the scenario column's value, or Fraud without one. nil
// when the rows carry no label.
func (c columns) labels(rec arrow.RecordBatch) (positive []bool, scenario []string) {
	if c.label < 0 {
		return nil, nil
	}
	n := int(rec.NumRows())
	lb := rec.Column(c.label).(*array.Boolean)
	var sc *array.String
	if c.scenario >= 0 {
		sc = rec.Column(c.scenario).(*array.String)
	}
	positive, scenario = make([]bool, n), make([]string, n)
	for i := range n {
		positive[i] = lb.IsValid(i) && lb.Value(i)
		switch {
		case !positive[i]:
			scenario[i] = Normal
		case sc != nil && sc.IsValid(i) && sc.Value(i) != "":
			scenario[i] = sc.Value(i)
		default:
			scenario[i] = Fraud
		}
	}
	return positive, scenario
}

// RulesTap feeds a Board from one rules step; it implements rules.Tap.
type RulesTap struct {
	board *Board
	view  string
	cols  columns
}

// Rules returns the tap of the rules step of view, whose input rows have schema in and
// event time in column timeCol ("" for none).
func (b *Board) Rules(view string, in *arrow.Schema, timeCol string) *RulesTap {
	t := &RulesTap{board: b, view: view, cols: findColumns(in, timeCol)}
	if t.cols.label >= 0 {
		b.mu.Lock()
		b.label = LabelColumn
		b.mu.Unlock()
	}
	return t
}

// Matched counts the alerts of rec, whose rows matched the rules of set as matches says,
// and, with a label, every rule's outcomes on its rows.
func (t *RulesTap) Matched(rec arrow.RecordBatch, set *rules.Set, matches [][]int32) {
	positive, scenario := t.cols.labels(rec)
	var alerts []Alert
	for k, rows := range matches {
		r := &set.Rules[k]
		for _, i := range rows {
			alerts = append(alerts, t.alert(rec, int(i), r, set.Version, scenario))
		}
	}
	b := t.board
	b.mu.Lock()
	defer b.mu.Unlock()
	b.addAlerts(alerts, t.cols.time >= 0)
	if positive == nil {
		return
	}
	var pos int
	posBy := map[string]int{}
	for i, p := range positive {
		if p {
			pos++
			if scenario[i] != Fraud {
				posBy[b.scenario(scenario[i])]++
			}
		}
	}
	neg := len(positive) - pos
	for k, rows := range matches {
		c := b.class("rule "+set.Rules[k].Name, t.view, 1, false)
		var tp int
		tpBy := map[string]int{}
		for _, i := range rows {
			if positive[i] {
				tp++
				if scenario[i] != Fraud {
					tpBy[b.scenario(scenario[i])]++
				}
			}
		}
		fp := len(rows) - tp
		c.all.TP, c.all.FP, c.all.FN, c.all.TN = c.all.TP+tp, c.all.FP+fp, c.all.FN+pos-tp, c.all.TN+neg-fp
		for s, p := range posBy {
			o := c.scenarios[s]
			if o == nil {
				o = &eval.Counts{}
				c.scenarios[s] = o
			}
			o.TP, o.FN = o.TP+tpBy[s], o.FN+p-tpBy[s]
		}
	}
}

// alert is row i of rec as an alert of rule r.
func (t *RulesTap) alert(rec arrow.RecordBatch, i int, r *rules.Rule, version string, scenario []string) Alert {
	a := Alert{View: t.view, Rule: r.Name, Severity: r.Severity, Reason: r.Reason, RulesVersion: version}
	text := func(col int) string {
		if col < 0 || rec.Column(col).IsNull(i) {
			return ""
		}
		return rec.Column(col).ValueStr(i)
	}
	a.TxID, a.Card, a.Amount = text(t.cols.tx), text(t.cols.card), text(t.cols.amount)
	if scenario != nil {
		a.Scenario = scenario[i]
	}
	if c := t.cols.time; c >= 0 && rec.Column(c).IsValid(i) {
		ts := rec.Column(c).(*array.Timestamp)
		unit := ts.DataType().(*arrow.TimestampType).Unit
		a.Time = time.Unix(0, int64(ts.Value(i))*int64(unit.Multiplier())).UTC()
	}
	return a
}

// ModelTap feeds a Board from one score step whose rows carry the label; it implements
// score.Tap.
type ModelTap struct {
	board *Board
	name  string
	view  string
	cols  columns
}

// Model returns the tap of the score step of view that adds the score column name over
// input rows of schema in, or nil when the rows carry no label to measure it against.
func (b *Board) Model(view, name string, in *arrow.Schema) *ModelTap {
	t := &ModelTap{board: b, name: name, view: view, cols: findColumns(in, "")}
	if t.cols.label < 0 {
		return nil
	}
	b.mu.Lock()
	b.label = LabelColumn
	b.mu.Unlock()
	return t
}

// Scored counts the outcomes of scores, the model's scores of the rows of rec, at the
// threshold, and adds them to the histograms. A null score is a missing one: it never
// alerts.
func (t *ModelTap) Scored(rec arrow.RecordBatch, scores *array.Float64) {
	positive, scenario := t.cols.labels(rec)
	vals := make([]float64, len(positive))
	for i := range vals {
		vals[i] = math.NaN()
		if scores.IsValid(i) {
			vals[i] = scores.Value(i)
		}
	}
	b := t.board
	b.mu.Lock()
	defer b.mu.Unlock()
	c := b.class(t.name, t.view, b.cfg.Threshold, true)
	for i, s := range vals {
		alert := s >= c.threshold
		if !positive[i] {
			c.neg.Add(s)
			if alert {
				c.all.FP++
			} else {
				c.all.TN++
			}
			continue
		}
		c.pos.Add(s)
		if alert {
			c.all.TP++
		} else {
			c.all.FN++
		}
		if scenario[i] == Fraud { // a positive without a scenario counts over all rows only
			continue
		}
		name := b.scenario(scenario[i])
		o, h := c.scenarios[name], c.posBy[name]
		if o == nil {
			o, h = &eval.Counts{}, new(eval.NewHistogram(b.cfg.Bins))
			c.scenarios[name], c.posBy[name] = o, h
		}
		h.Add(s)
		if alert {
			o.TP++
		} else {
			o.FN++
		}
	}
}
