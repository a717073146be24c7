package scale

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Model is a way to forecast the rate.
type Model int

const (
	// Auto picks the model by backtesting the others on the pipeline's own history.
	Auto Model = iota
	// ModelReactive forecasts nothing: the policy sizes for the rate now and the backlog.
	ModelReactive
	// ModelHoltWinters is the HoltWinters forecaster: it needs two seasons of history.
	ModelHoltWinters
	// ModelProfile is the load profile by time of day and day of week, which expects a
	// surge after seeing it once.
	ModelProfile
	// ModelProfileCalendar is the profile with calendar events as regressors, which expects
	// a month-end surge at the next month end without expecting it the day after.
	ModelProfileCalendar
)

// models are the models Auto compares, in the order that breaks ties: the simpler first.
var models = []Model{ModelReactive, ModelHoltWinters, ModelProfile, ModelProfileCalendar}

// String returns the model's name as the command line spells it.
func (m Model) String() string {
	switch m {
	case Auto:
		return "auto"
	case ModelReactive:
		return "reactive"
	case ModelHoltWinters:
		return "holt-winters"
	case ModelProfile:
		return "profile"
	case ModelProfileCalendar:
		return "profile+calendar"
	}
	return fmt.Sprintf("Model(%d)", int(m))
}

// ParseModel reads a model's name: auto, reactive, holt-winters, profile or
// profile+calendar.
func ParseModel(s string) (Model, error) {
	for _, m := range append([]Model{Auto}, models...) {
		if s == m.String() {
			return m, nil
		}
	}
	return 0, fmt.Errorf("scale: unknown model %q (want auto, reactive, holt-winters, profile or profile+calendar)", s)
}

// DefaultBacktestDays is how far back Auto compares the models: five weeks, so that the
// last month end and the last of each weekday are always in it.
const DefaultBacktestDays = 35

// ForesightConfig configures a Foresight.
type ForesightConfig struct {
	// Step is the time between observations; Season the length of a day of the profile
	// (default 24h; the calendar applies only to days of 24 hours); Horizon how far ahead
	// the policy asks.
	Step, Season, Horizon time.Duration
	// HoltWinters configures that model; without a Step its Step and Season are
	// Foresight's (a Season that is no whole number of at least two steps is none).
	HoltWinters HoltWintersConfig
	Calendar    Calendar
	// Model is the model to forecast with; Auto picks one.
	Model Model
	// BacktestDays is how many days back Auto replays (default DefaultBacktestDays).
	BacktestDays int
	// HistoryStep is the step of the history Auto keeps and replays (default the Step,
	// at least a minute); observations within one are averaged.
	HistoryStep time.Duration
	// Fleet is the worker model of the backtests; its Step is the HistoryStep.
	Fleet FleetConfig
}

// Foresight forecasts the rate with several models and, with Auto, picks among them once a
// day by backtesting each on the last BacktestDays of the series it observed: the fleet
// model replays that history under the policy with each model's forecasts, and the model
// with the fewest SLO-violation minutes wins, then the one with the fewest worker-minutes,
// then the simpler; until then it forecasts with Holt-Winters, which extrapolates the recent
// rate from the first steps on. The profiles are replayed as they stand now (what they have learned,
// applied to the days it came from), Holt-Winters with the forecasts it made at the time
// (it cannot forecast the past), reactive with none.
//
// A Foresight is not safe for concurrent use. Time is what Observe is given; it reads no
// clock.
type Foresight struct {
	cfg      ForesightConfig
	hw       *HoltWinters
	plain    *profile
	cal      *profile // nil when the days are not calendar days
	last     time.Time
	observed bool

	hist    []histPoint
	bucket  histPoint // the history step being observed
	bucketN int
	chosen  Model
	picked  int64  // the day of the last pick; -1 before any
	verdict string // what the last backtest found
}

// histPoint is one step of the history: the mean rate over it and what Holt-Winters
// forecast at its end for a horizon later.
type histPoint struct {
	At   time.Time  `json:"at"`
	Rate float64    `json:"rate"`
	HW   Prediction `json:"hw"`
}

// NewForesight returns a Foresight with no history; zero fields of cfg take their defaults.
func NewForesight(cfg ForesightConfig) (*Foresight, error) {
	if cfg.Step <= 0 {
		return nil, fmt.Errorf("foresight: step %v must be positive", cfg.Step)
	}
	if cfg.Season <= 0 {
		cfg.Season = 24 * time.Hour
	}
	if cfg.Horizon <= 0 {
		cfg.Horizon = 10 * time.Minute
	}
	if cfg.BacktestDays <= 0 {
		cfg.BacktestDays = DefaultBacktestDays
	}
	if cfg.HistoryStep <= 0 {
		cfg.HistoryStep = max(cfg.Step, time.Minute).Round(cfg.Step)
	}
	if err := cfg.Calendar.Validate(); err != nil {
		return nil, fmt.Errorf("foresight: %w", err)
	}
	hwc := cfg.HoltWinters
	if hwc.Step == 0 {
		hwc.Step, hwc.Season = cfg.Step, cfg.Season
		if cfg.Season%cfg.Step != 0 || cfg.Season < 2*cfg.Step {
			hwc.Season = 0
		}
	}
	hw, err := NewHoltWinters(hwc)
	if err != nil {
		return nil, fmt.Errorf("foresight: %w", err)
	}
	cfg.Fleet.Step, cfg.Fleet.Horizon = cfg.HistoryStep, cfg.Horizon
	slot := profileSlot(cfg.Step, cfg.Season)
	f := &Foresight{cfg: cfg, hw: hw, plain: newProfile(slot, cfg.Season, nil), picked: -1, chosen: cfg.Model}
	if cfg.Season == 24*time.Hour {
		f.cal = newProfile(slot, cfg.Season, newCalendarDays(cfg.Calendar))
	}
	if f.chosen == Auto {
		f.chosen = ModelHoltWinters // until a day of history can be backtested
	}
	if f.chosen == ModelProfileCalendar && f.cal == nil {
		return nil, fmt.Errorf("foresight: the profile+calendar model needs days of 24h, not %v", cfg.Season)
	}
	return f, nil
}

// SetCapacity tells the backtests how many records/s one worker processes, as measured.
func (f *Foresight) SetCapacity(perWorker float64) {
	if perWorker > 0 {
		f.cfg.Fleet.CapacityPerWorker = perWorker
	}
}

// SetRestartCost tells the backtests what a change of the worker count costs.
func (f *Foresight) SetRestartCost(d time.Duration) {
	f.cfg.Fleet.Policy.Limits.RestartCost = max(d, 0)
	f.cfg.Fleet.RebalancePause = max(d, 0)
}

// Observe adds the rate (records/s) measured over the step ending at t. Observations come
// in time order.
func (f *Foresight) Observe(t time.Time, rate float64) {
	if f.observed && t.Sub(f.last) < f.cfg.Step/2 {
		return
	}
	f.hw.Observe(t, rate)
	start := t.Add(-f.cfg.Step)
	f.plain.observe(start, rate)
	if f.cal != nil {
		f.cal.observe(start, rate)
	}
	f.last, f.observed = t, true

	at := start.Truncate(f.cfg.HistoryStep)
	if f.bucketN > 0 && !at.Equal(f.bucket.At) {
		f.bucket.Rate /= float64(f.bucketN)
		f.hist = append(f.hist, f.bucket)
		f.bucketN = 0
		f.trim()
		if day := floorDivDur(at.UnixNano(), int64(f.cfg.Season)); day != f.picked && f.cfg.Model == Auto {
			f.picked = day
			f.pick()
		}
	}
	if f.bucketN == 0 {
		f.bucket = histPoint{At: at}
	}
	f.bucket.Rate += rate
	f.bucketN++
	f.bucket.HW = f.hw.Forecast(f.cfg.Horizon)
}

// trim forgets the history older than the backtest needs.
func (f *Foresight) trim() {
	keep := int(time.Duration(f.cfg.BacktestDays) * f.cfg.Season / f.cfg.HistoryStep)
	if extra := len(f.hist) - keep; extra > 0 {
		f.hist = append(f.hist[:0], f.hist[extra:]...)
	}
}

// backtestScore is what a backtest of one model found.
type backtestScore struct {
	model         Model
	violation     time.Duration
	workerMinutes float64
}

// pick backtests every model over the history and keeps the best.
func (f *Foresight) pick() {
	if len(f.hist) < 2 || f.cfg.Fleet.CapacityPerWorker <= 0 {
		return
	}
	var best backtestScore
	var all []string
	for i, m := range models {
		if m == ModelProfileCalendar && f.cal == nil {
			continue
		}
		s := f.backtest(m)
		all = append(all, m.String()+" "+fmtMinutes(s.violation))
		if i == 0 || s.violation < best.violation || (s.violation == best.violation && s.workerMinutes < best.workerMinutes) {
			best = s
		}
	}
	f.chosen = best.model
	span := time.Duration(len(f.hist)) * f.cfg.HistoryStep
	f.verdict = fmt.Sprintf("picked by a backtest of the last %s: violation minutes %s", fmtSpan(span), strings.Join(all, ", "))
}

// fmtMinutes writes a duration in minutes to two decimals at most, so that the seconds of
// a surge at a fast pace still show.
func fmtMinutes(d time.Duration) string {
	return strconv.FormatFloat(math.Round(d.Minutes()*100)/100, 'f', -1, 64)
}

// fmtSpan writes a span of history in whole days when it is some, else as a duration.
func fmtSpan(d time.Duration) string {
	if d >= 24*time.Hour && d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	}
	return d.String()
}

// backtest replays the history through the fleet model with m's forecasts.
func (f *Foresight) backtest(m Model) backtestScore {
	fc := f.cfg.Fleet
	if m == ModelReactive {
		fc.Policy.Mode = Reactive
	}
	fl := newFleet(fc, f.hist[0].Rate)
	step := f.cfg.HistoryStep
	for _, p := range f.hist {
		end := p.At.Add(step)
		fl.serve(p.At, p.Rate)
		var pred Prediction
		switch m {
		case ModelHoltWinters:
			pred = p.HW
		case ModelProfile:
			pred, _ = profilePrediction(f.plain, end.Add(f.cfg.Horizon-step), false)
		case ModelProfileCalendar:
			pred, _ = profilePrediction(f.cal, end.Add(f.cfg.Horizon-step), false)
		}
		fl.decide(end, p.Rate, pred, "", false)
	}
	return backtestScore{model: m, violation: fl.violation, workerMinutes: fl.workerMinutes}
}

// profilePrediction is a profile's forecast for the step starting at t: its remembered
// rate, which is already the top of what was seen, as mean and upper bound alike. A slot
// never seen forecasts nothing.
func profilePrediction(p *profile, t time.Time, explain bool) (Prediction, string) {
	r, why, ok := p.forecast(t, explain)
	if !ok {
		return Prediction{}, "nothing remembered for " + t.UTC().Format("15:04") + " yet"
	}
	return Prediction{Mean: r, Lo: r, Hi: r}, why
}

// Model returns the model Foresight forecasts with now.
func (f *Foresight) Model() Model { return f.chosen }

// Forecast predicts the rate h after the last observation with the chosen model, and says
// which model it is, why it was chosen and what it remembered.
func (f *Foresight) Forecast(h time.Duration) (Prediction, string) {
	why := "model " + f.chosen.String()
	switch {
	case f.cfg.Model != Auto:
		why += " (configured)"
	case f.verdict != "":
		why += " (" + f.verdict + ")"
	default:
		why += " (no history to backtest yet)"
	}
	var pred Prediction
	var what string
	switch f.chosen {
	case ModelReactive:
		return Prediction{}, why
	case ModelHoltWinters:
		return f.hw.Forecast(h), why
	case ModelProfile:
		pred, what = profilePrediction(f.plain, f.last.Add(h-f.cfg.Step), true)
	case ModelProfileCalendar:
		pred, what = profilePrediction(f.cal, f.last.Add(h-f.cfg.Step), true)
	}
	return pred, why + ": " + what
}

// foresightState is the JSON form of a Foresight's history and profiles; the Holt-Winters
// forecaster is saved on its own.
type foresightState struct {
	Plain   profileState  `json:"profile"`
	Cal     *profileState `json:"calendar_profile,omitempty"`
	Hist    historyState  `json:"history"`
	Bucket  histPoint     `json:"bucket"`
	BucketN int           `json:"bucket_n"`
	Chosen  string        `json:"chosen"`
	Picked  int64         `json:"picked"`
	Verdict string        `json:"verdict"`
	Last    time.Time     `json:"last"`
}

// MarshalJSON encodes the profiles, the history and the pick; the Holt-Winters forecaster
// is encoded by its own MarshalJSON.
func (f *Foresight) MarshalJSON() ([]byte, error) {
	s := foresightState{Plain: f.plain.state(), Hist: f.historyState(), Bucket: f.bucket, BucketN: f.bucketN,
		Chosen: f.chosen.String(), Picked: f.picked, Verdict: f.verdict, Last: f.last}
	if f.cal != nil {
		c := f.cal.state()
		s.Cal = &c
	}
	return json.Marshal(s)
}

// UnmarshalJSON restores what MarshalJSON encoded into a Foresight of the same step,
// season and history step.
func (f *Foresight) UnmarshalJSON(data []byte) error {
	var s foresightState
	if err := json.Unmarshal(data, &s); err != nil {
		return fmt.Errorf("foresight state: %w", err)
	}
	m, err := ParseModel(s.Chosen)
	if err != nil {
		return fmt.Errorf("foresight state: %w", err)
	}
	plain := *f.plain
	if err := plain.restore(s.Plain); err != nil {
		return fmt.Errorf("foresight state: %w", err)
	}
	var cal profile
	if f.cal != nil {
		if s.Cal == nil {
			return fmt.Errorf("foresight state: no calendar profile")
		}
		cal = *f.cal
		if err := cal.restore(*s.Cal); err != nil {
			return fmt.Errorf("foresight state: calendar %w", err)
		}
		*f.cal = cal
	}
	hist, err := s.Hist.points(f.cfg.HistoryStep)
	if err != nil {
		return fmt.Errorf("foresight state: %w", err)
	}
	*f.plain = plain
	f.hist, f.bucket, f.bucketN = hist, s.Bucket, s.BucketN
	if f.cfg.Model == Auto {
		f.chosen = m
	}
	f.picked, f.verdict, f.last, f.observed = s.Picked, s.Verdict, s.Last, !s.Last.IsZero()
	f.trim()
	return nil
}

// historyState is the history in columns, for a state that a checkpoint writes often: each
// step's start in history steps after Start, its rate and Holt-Winters' forecast (the mean
// and the upper bound the policy reads), in whole records/s.
type historyState struct {
	Start time.Time `json:"start"`
	Steps []int64   `json:"steps"`
	Rate  []float64 `json:"rate"`
	Mean  []float64 `json:"hw_mean"`
	Hi    []float64 `json:"hw_hi"`
}

func (f *Foresight) historyState() historyState {
	var h historyState
	if len(f.hist) == 0 {
		return h
	}
	h.Start = f.hist[0].At
	for _, p := range f.hist {
		h.Steps = append(h.Steps, int64(p.At.Sub(h.Start)/f.cfg.HistoryStep))
		h.Rate = append(h.Rate, math.Round(p.Rate))
		h.Mean = append(h.Mean, math.Round(p.HW.Mean))
		h.Hi = append(h.Hi, math.Round(p.HW.Hi))
	}
	return h
}

// points reads the history back; steps out of order or columns of different lengths are
// an error.
func (h historyState) points(step time.Duration) ([]histPoint, error) {
	n := len(h.Steps)
	if len(h.Rate) != n || len(h.Mean) != n || len(h.Hi) != n {
		return nil, fmt.Errorf("history of %d steps with %d rates and %d and %d forecasts", n, len(h.Rate), len(h.Mean), len(h.Hi))
	}
	out := make([]histPoint, n)
	for i := range n {
		if i > 0 && h.Steps[i] <= h.Steps[i-1] {
			return nil, fmt.Errorf("history out of order at step %d", i)
		}
		out[i] = histPoint{At: h.Start.Add(time.Duration(h.Steps[i]) * step), Rate: h.Rate[i],
			HW: Prediction{Mean: h.Mean[i], Lo: h.Mean[i], Hi: h.Hi[i]}}
	}
	return out, nil
}
