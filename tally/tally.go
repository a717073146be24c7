// Package tally keeps the running figures of a pipeline's alerts for the dashboard: alerts
// per minute of event time by rule and by fraud scenario, the latest alerts with their
// reasons, and, where the rows carry a label, how well every rule and the model catch what
// it marks. The steps that alert (package rules) and score (package score) feed a Board
// through taps, inside the process and batch by batch; the dashboard reads View.
//
// Everything a Board holds is bounded: a fixed number of minutes, of latest alerts and of
// scenario names, and per classifier four counts per scenario and, for a model's score,
// fixed-bin histograms (eval.Histogram) rather than rows. The measures are package eval's:
// a rule alerts where it matches; the model at Config.Threshold; a scenario's figures are
// over its positives and every negative. PR-AUC and ROC-AUC come from the histograms, so
// they equal eval's over the scores read as their bins' lower edges.
//
// The figures are of the rows this process matched and scored since it started: a run
// that restarts from a checkpoint inside the process counts the rows after the checkpoint
// again.
package tally

import (
	"cmp"
	"slices"
	"sync"
	"time"

	"millrace/eval"
)

// Config bounds what a Board keeps.
type Config struct {
	// Minutes is how many minutes of event time the per-minute counts cover, up to the
	// newest minute an alert fell in.
	Minutes int
	// Latest is how many of the latest alerts are kept.
	Latest int
	// Bins is the number of bins of the score histograms.
	Bins int
	// Scenarios is how many scenario names are told apart; further ones count as "other".
	Scenarios int
	// Threshold is the score at and above which the model counts as alerting.
	Threshold float64
}

// DefaultConfig keeps 30 minutes, 20 alerts, 1000 bins and 16 scenarios, and measures the
// model at 0.5, as millrace eval does by default.
func DefaultConfig() Config {
	return Config{Minutes: 30, Latest: 20, Bins: 1000, Scenarios: 16, Threshold: 0.5}
}

// Scenario names of rows without one: an alert on a row not labelled fraud, one labelled
// fraud without a scenario, and the names past Config.Scenarios.
const (
	Normal = "none"
	Fraud  = "fraud"
	Other  = "other"
)

// Board holds the figures; its methods are safe for concurrent use by the subtasks of
// every step that feeds it.
type Board struct {
	cfg Config

	mu         sync.Mutex
	label      string
	alerts     int64
	byRule     map[string]int64
	byScenario map[string]int64
	minutes    map[int64]*minute // by minute since the epoch
	newest     int64             // the newest minute that holds alerts
	latest     []Alert           // a ring of cfg.Latest, next is where the next goes
	next       int
	classes    []*classifier
	byName     map[string]*classifier
	scenarios  map[string]bool
}

// minute counts the alerts of one minute of event time.
type minute struct{ byRule, byScenario map[string]int64 }

// Alert is one alert as the dashboard lists it.
type Alert struct {
	// Time is the row's event time; zero when the rows have none.
	Time         time.Time `json:"time"`
	View         string    `json:"view"`
	Rule         string    `json:"rule"`
	Severity     string    `json:"severity"`
	Reason       string    `json:"reason"`
	RulesVersion string    `json:"rules_version"`
	TxID         string    `json:"tx_id,omitempty"`
	Card         string    `json:"card,omitempty"`
	Amount       string    `json:"amount,omitempty"`
	// Scenario is the row's fraud scenario, Fraud for fraud without one, Normal for a row
	// not labelled fraud; empty when the rows carry no label.
	Scenario string `json:"scenario,omitempty"`
}

// NewBoard returns an empty board; zero fields of cfg take DefaultConfig's.
func NewBoard(cfg Config) *Board {
	d := DefaultConfig()
	cfg.Minutes = cmp.Or(cfg.Minutes, d.Minutes)
	cfg.Latest = cmp.Or(cfg.Latest, d.Latest)
	cfg.Bins = cmp.Or(cfg.Bins, d.Bins)
	cfg.Scenarios = cmp.Or(cfg.Scenarios, d.Scenarios)
	cfg.Threshold = cmp.Or(cfg.Threshold, d.Threshold)
	return &Board{cfg: cfg, byRule: map[string]int64{}, byScenario: map[string]int64{}, minutes: map[int64]*minute{},
		byName: map[string]*classifier{}, scenarios: map[string]bool{}}
}

// scenario is the name s counts under, once Config.Scenarios names are told apart; b.mu
// is held.
func (b *Board) scenario(s string) string {
	if s == Normal || s == Fraud || b.scenarios[s] {
		return s
	}
	if len(b.scenarios) >= b.cfg.Scenarios {
		return Other
	}
	b.scenarios[s] = true
	return s
}

// addAlerts counts the alerts of a batch; b.mu is held.
func (b *Board) addAlerts(alerts []Alert, timed bool) {
	for i := range alerts {
		a := &alerts[i]
		if a.Scenario != "" {
			a.Scenario = b.scenario(a.Scenario)
		}
		b.alerts++
		b.byRule[a.Rule]++
		if a.Scenario != "" {
			b.byScenario[a.Scenario]++
		}
		if timed {
			b.addMinute(a)
		}
		if len(b.latest) < b.cfg.Latest {
			b.latest = append(b.latest, *a)
		} else {
			b.latest[b.next] = *a
		}
		b.next = (b.next + 1) % b.cfg.Latest
	}
}

// addMinute counts a in its minute, if that is among the last cfg.Minutes; b.mu is held.
func (b *Board) addMinute(a *Alert) {
	m := a.Time.UnixMilli()
	m = (m - ((m%60_000)+60_000)%60_000) / 60_000 // floor division
	if len(b.minutes) == 0 || m > b.newest {
		b.newest = m
		for k := range b.minutes {
			if k <= m-int64(b.cfg.Minutes) {
				delete(b.minutes, k)
			}
		}
	}
	if m <= b.newest-int64(b.cfg.Minutes) {
		return
	}
	c := b.minutes[m]
	if c == nil {
		c = &minute{byRule: map[string]int64{}, byScenario: map[string]int64{}}
		b.minutes[m] = c
	}
	c.byRule[a.Rule]++
	if a.Scenario != "" {
		c.byScenario[a.Scenario]++
	}
}

// View is what a Board shows: /api/fraud's JSON.
type View struct {
	// Alerts counts every alert since the start, by rule and by scenario.
	Alerts     int64            `json:"alerts"`
	ByRule     map[string]int64 `json:"by_rule"`
	ByScenario map[string]int64 `json:"by_scenario"`
	// Minutes counts the alerts of each of the last minutes of event time, oldest first,
	// up to the newest minute an alert fell in; minutes without alerts are there too.
	Minutes []Minute `json:"minutes"`
	// Latest holds the latest alerts, newest first.
	Latest []Alert `json:"latest"`
	// Label names the label column the figures of Classifiers are measured against; empty
	// when no step's rows carry one.
	Label       string           `json:"label,omitempty"`
	Threshold   float64          `json:"threshold"`
	Classifiers []ClassifierView `json:"classifiers"`
}

// Minute is one minute's alerts.
type Minute struct {
	Start      time.Time        `json:"start"`
	ByRule     map[string]int64 `json:"by_rule"`
	ByScenario map[string]int64 `json:"by_scenario"`
}

// View returns a copy of the figures.
func (b *Board) View() View {
	b.mu.Lock()
	defer b.mu.Unlock()
	v := View{Alerts: b.alerts, ByRule: clone(b.byRule), ByScenario: clone(b.byScenario), Label: b.label,
		Threshold: b.cfg.Threshold, Minutes: []Minute{}, Latest: []Alert{}, Classifiers: []ClassifierView{}}
	if len(b.minutes) > 0 {
		for m := b.newest - int64(b.cfg.Minutes) + 1; m <= b.newest; m++ {
			mv := Minute{Start: time.UnixMilli(m * 60_000).UTC(), ByRule: map[string]int64{}, ByScenario: map[string]int64{}}
			if c := b.minutes[m]; c != nil {
				mv.ByRule, mv.ByScenario = clone(c.byRule), clone(c.byScenario)
			}
			v.Minutes = append(v.Minutes, mv)
		}
	}
	for i := range len(b.latest) {
		v.Latest = append(v.Latest, b.latest[(b.next-1-i+2*len(b.latest))%len(b.latest)])
	}
	for _, c := range b.classes {
		v.Classifiers = append(v.Classifiers, c.figures())
	}
	return v
}

func clone(m map[string]int64) map[string]int64 {
	out := make(map[string]int64, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// classifier holds the running measures of one rule or model.
type classifier struct {
	name, view string
	threshold  float64
	// all counts the outcomes over every row; per scenario only its positives' outcomes
	// are kept, since its negatives are every negative.
	all       eval.Counts
	scenarios map[string]*eval.Counts
	// pos and neg are the score histograms of a model, posBy its positives' per scenario;
	// nil for a rule.
	pos, neg *eval.Histogram
	posBy    map[string]*eval.Histogram
}

// class returns the classifier of name, made with model histograms if scored; b.mu is held.
func (b *Board) class(name, view string, threshold float64, scored bool) *classifier {
	c := b.byName[name]
	if c != nil {
		return c
	}
	c = &classifier{name: name, view: view, threshold: threshold, scenarios: map[string]*eval.Counts{}}
	if scored {
		pos, neg := eval.NewHistogram(b.cfg.Bins), eval.NewHistogram(b.cfg.Bins)
		c.pos, c.neg, c.posBy = &pos, &neg, map[string]*eval.Histogram{}
	}
	b.byName[name] = c
	b.classes = append(b.classes, c)
	return c
}

// ClassifierView is the measures of one rule or model against the label.
type ClassifierView struct {
	// Name is "rule NAME" for a rule, the score column's name for a model, as millrace eval
	// names them.
	Name      string   `json:"name"`
	View      string   `json:"view"`
	Threshold float64  `json:"threshold"`
	Overall   Measures `json:"overall"`
	// Scenarios holds the measures over each scenario's positives and every negative.
	Scenarios map[string]Measures `json:"scenarios"`
}

// Measures are the running figures of a classifier over a set of rows.
type Measures struct {
	Rows      int     `json:"rows"`
	Positives int     `json:"positives"`
	TP        int     `json:"tp"`
	FP        int     `json:"fp"`
	FN        int     `json:"fn"`
	TN        int     `json:"tn"`
	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
	F1        float64 `json:"f1"`
	// PRAUC and ROCAUC are a model's, from its histograms; absent for a rule.
	PRAUC  *float64 `json:"pr_auc,omitempty"`
	ROCAUC *float64 `json:"roc_auc,omitempty"`
}

func measures(c eval.Counts) Measures {
	return Measures{Rows: c.TP + c.FP + c.FN + c.TN, Positives: c.TP + c.FN, TP: c.TP, FP: c.FP, FN: c.FN, TN: c.TN,
		Precision: c.Precision(), Recall: c.Recall(), F1: c.F1()}
}

// withAreas adds the areas of the curve of pos and neg to m.
func withAreas(m Measures, pos, neg *eval.Histogram) Measures {
	curve, err := eval.HistogramCurve(*pos, *neg)
	if err != nil { // the histograms of one board have as many bins
		return m
	}
	pr, roc := eval.PRAUC(curve), eval.ROCAUC(curve)
	m.PRAUC, m.ROCAUC = &pr, &roc
	return m
}

func (c *classifier) figures() ClassifierView {
	v := ClassifierView{Name: c.name, View: c.view, Threshold: c.threshold, Overall: measures(c.all), Scenarios: map[string]Measures{}}
	if c.pos != nil {
		v.Overall = withAreas(v.Overall, c.pos, c.neg)
	}
	names := make([]string, 0, len(c.scenarios))
	for s := range c.scenarios {
		names = append(names, s)
	}
	slices.Sort(names)
	for _, s := range names {
		p := c.scenarios[s]
		m := measures(eval.Counts{TP: p.TP, FN: p.FN, FP: c.all.FP, TN: c.all.TN})
		if c.pos != nil {
			m = withAreas(m, c.posBy[s], c.neg)
		}
		v.Scenarios[s] = m
	}
	return v
}
