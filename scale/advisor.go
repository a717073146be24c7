package scale

import (
	"encoding/json"
	"fmt"
	"math"
	"sync"
	"time"

	"millrace/engine"
)

// AdvisorConfig configures an Advisor.
type AdvisorConfig struct {
	// Sources names the source nodes: their read rate is the input rate.
	Sources []string
	// Step is how often the Advisor observes (default 10s); Horizon how far it looks ahead
	// (default 10m); Season the forecaster's season (0: none), rounded to whole steps.
	Step, Horizon, Season time.Duration
	// Window is how far back capacity is measured (default 1m).
	Window time.Duration
	// ErrorMemory is how far back the forecaster's errors shape its interval (default
	// DefaultErrorMemory).
	ErrorMemory time.Duration
	// Workers is how many workers run the pipeline now (default 1: this process). A run
	// that scales in process counts its parallelism as workers, and says when it changes
	// (SetWorkers).
	Workers int
	// Acts says the run itself changes its parallelism to the advice (in-process
	// rescaling) rather than leaving it to a scheduler.
	Acts   bool
	Policy Policy
	// Model is the forecasting model of a predictive policy; Auto (the zero value) picks
	// one each day by backtesting them on the pipeline's own history (see Foresight).
	Model Model
	// Calendar is what the profile+calendar model knows of paydays and holidays; with
	// neither set it is DefaultCalendar. It applies when the season is 24h.
	Calendar Calendar
	// BacktestDays is how many days back Auto compares the models (default
	// DefaultBacktestDays). Startup (default 2m) and SLOLag (default 30s) are the worker
	// start-up and the lag SLO its backtests count with.
	BacktestDays    int
	Startup, SLOLag time.Duration
	// CapacityPerWorker, when positive, is the input rate in records/s one worker is sized
	// for, in place of the capacity measured from the steps' busy time: for a pipeline
	// whose workers share their machine with others, or whose capacity a load test
	// measured. The advice names it as configured.
	CapacityPerWorker float64
}

// Advice is what an Advisor says after an observation: the input rate, its forecast, the
// capacity of the pipeline per worker and the worker count the policy asks for, with why.
type Advice struct {
	At   time.Time `json:"at"`
	Rate float64   `json:"rate"`
	// Backlog is the records the sources have yet to read, where they know: their bytes
	// left at the bytes per record read so far.
	Backlog  float64    `json:"backlog"`
	Forecast Prediction `json:"forecast"`
	// ForecastAt is when the forecast is for: At + Horizon.
	ForecastAt time.Time `json:"forecast_at"`
	// CapacityPerWorker is the input rate one worker carries with every step fully busy:
	// the least over the steps of their true rate times their parallelism, in records of
	// input (a step behind a filter sees fewer rows than were read), divided by the
	// workers. 0 until measured.
	CapacityPerWorker float64 `json:"capacity_per_worker"`
	// Bottleneck is the step that bounds CapacityPerWorker, or "configured" when the
	// capacity was configured (AdvisorConfig.CapacityPerWorker) rather than measured.
	Bottleneck     string `json:"bottleneck"`
	Workers        int    `json:"workers"`
	DesiredWorkers int    `json:"desired_workers"`
	// Acts says the run acts on the advice itself; otherwise it is for a scheduler.
	Acts bool `json:"acts"`
	// Model is the forecasting model the advice was made with (see Foresight).
	Model     string     `json:"model"`
	Reason    string     `json:"reason"`
	Decisions []Decision `json:"decisions"`
	// Steps is each measured step's part: the parallelism it needs for the desired workers.
	Steps []StepAdvice `json:"steps"`
}

// StepAdvice is one step's measured capacity and the parallelism it needs, as in DS2: the
// input rate the desired workers are sized to carry, in the step's own records, over what
// one of its subtasks handles busy all the time.
type StepAdvice struct {
	Node        string  `json:"node"`
	Parallelism int     `json:"parallelism"`
	TrueRate    float64 `json:"true_rate"`
	Utilization float64 `json:"utilization"`
	// Desired is the subtasks the step needs in all, over every worker.
	Desired int `json:"desired_parallelism"`
}

// ConfiguredCapacity is an Advice's Bottleneck when its capacity per worker was configured.
const ConfiguredCapacity = "configured"

// keptDecisions is how many recent decisions an Advice carries.
const keptDecisions = 50

// Advisor turns the figures of a running pipeline into scaling advice for an external
// scheduler: every Step it measures capacity over a sliding window, feeds the input rate to
// its Foresight (Holt-Winters, the load profile and the calendar, picked by backtest) and
// asks the policy how many workers the pipeline needs.
type Advisor struct {
	mu        sync.Mutex // Observe and the state's encoding may run on different goroutines
	cfg       AdvisorConfig
	window    *Window
	foresight *Foresight
	decisions []Decision
	sources   map[string]bool
	observed  int // observations fed to the forecaster
	// capacity is the newest capacity per worker measured, and bottleneck the step that
	// set it: the advice stands on them while no step works.
	capacity   float64
	bottleneck string
	latest     *Advice       // the newest advice, nil before the first
	seen       time.Duration // the run time of the newest snapshot observed
}

// NewAdvisor returns an Advisor; zero fields of cfg take their defaults.
func NewAdvisor(cfg AdvisorConfig) (*Advisor, error) {
	if cfg.Step <= 0 {
		cfg.Step = 10 * time.Second
	}
	if cfg.Horizon <= 0 {
		cfg.Horizon = 10 * time.Minute
	}
	if cfg.Window <= 0 {
		cfg.Window = time.Minute
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 1
	}
	if !(cfg.CapacityPerWorker >= 0) || math.IsInf(cfg.CapacityPerWorker, 0) {
		return nil, fmt.Errorf("scale advisor: capacity per worker %g records/s must be a positive number, or 0 to measure it", cfg.CapacityPerWorker)
	}
	// The season, as a whole number of steps; one too short to hold two is no season.
	if cfg.Season = cfg.Season.Round(cfg.Step); cfg.Season < 2*cfg.Step {
		cfg.Season = 0
	}
	if err := cfg.Policy.Limits.Validate(); err != nil {
		return nil, err
	}
	if cfg.Calendar.Paydays == nil && cfg.Calendar.Holidays == nil {
		cfg.Calendar = DefaultCalendar()
	}
	if cfg.Startup <= 0 {
		cfg.Startup = 2 * time.Minute
	}
	if cfg.SLOLag <= 0 {
		cfg.SLOLag = 30 * time.Second
	}
	fs, err := newAdvisorForesight(cfg)
	if err != nil {
		return nil, fmt.Errorf("scale advisor: %w", err)
	}
	a := &Advisor{cfg: cfg, window: NewWindow(cfg.Window), foresight: fs, sources: map[string]bool{}}
	for _, s := range cfg.Sources {
		a.sources[s] = true
	}
	return a, nil
}

// Step is how often Observe wants a snapshot.
func (a *Advisor) Step() time.Duration { return a.cfg.Step }

// Observe takes a snapshot of the run, taken at now, and returns the advice it leads to.
func (a *Advisor) Observe(now time.Time, st *engine.Stats) Advice {
	a.mu.Lock()
	defer a.mu.Unlock()
	adv := a.observe(now, st)
	a.latest = &adv
	return adv
}

func (a *Advisor) observe(now time.Time, st *engine.Stats) Advice {
	// A run that just started (again, after a rescale or a restart) has no rate to tell
	// until its sources read and a while passes; feeding the forecaster its zero would teach
	// it a dip that never was. One that has read nothing for a whole window is idle, though:
	// its rate of 0 is real.
	if st.Elapsed < a.seen {
		a.window = NewWindow(a.cfg.Window) // a new run
	}
	a.seen = st.Elapsed
	if a.read(st) > 0 || st.Elapsed >= a.cfg.Window {
		a.window.Add(st)
	}
	if span := a.window.Span(); a.window.Len() < 2 || span < a.cfg.Step/2 {
		return Advice{At: now, Workers: a.cfg.Workers, DesiredWorkers: a.cfg.Workers, Acts: a.cfg.Acts,
			Reason: "measuring: the run has only just started reading"}
	}
	caps := a.window.Capacities()
	var rate float64
	for _, c := range caps {
		if a.sources[c.Node] {
			rate += c.InputRate
		}
	}
	perWorker, bottleneck := 0.0, ""
	for _, c := range caps {
		if a.sources[c.Node] || c.TrueRate <= 0 || c.InputRate <= 0 {
			continue
		}
		// The step's capacity in records of input (it sees InputRate of rate), per worker.
		carried := c.TrueRate * float64(c.Parallelism) * rate / c.InputRate / float64(a.cfg.Workers)
		if bottleneck == "" || carried < perWorker {
			perWorker, bottleneck = carried, c.Node
		}
	}
	switch {
	case a.cfg.CapacityPerWorker > 0:
		perWorker, bottleneck = a.cfg.CapacityPerWorker, ConfiguredCapacity
	case perWorker > 0:
		a.capacity, a.bottleneck = perWorker, bottleneck
	default:
		// No step worked in the window (the input is idle): the capacity measured last,
		// by this run or the one before it, stands.
		perWorker, bottleneck = a.capacity, a.bottleneck
	}
	backlog := a.backlog(st)
	a.foresight.SetCapacity(perWorker)
	a.foresight.Observe(now, rate)
	a.observed++
	pred, why := a.foresight.Forecast(a.cfg.Horizon)
	if time.Duration(a.observed)*a.cfg.Step < a.cfg.Horizon {
		// Too little history to look a horizon ahead: a trend fitted to a start-up ramp
		// would promise anything. Size for the rate seen until then.
		pred = Prediction{Mean: rate, Lo: rate, Hi: rate}
	}
	adv := Advice{At: now, Rate: rate, Backlog: backlog, Forecast: pred, ForecastAt: now.Add(a.cfg.Horizon),
		CapacityPerWorker: perWorker, Bottleneck: bottleneck, Workers: a.cfg.Workers, DesiredWorkers: a.cfg.Workers, Acts: a.cfg.Acts}
	if a.cfg.Policy.Mode == Predictive {
		adv.Model = a.foresight.Model().String()
	} else {
		adv.Model, why = ModelReactive.String(), ""
	}
	if perWorker <= 0 {
		adv.Reason = "measuring: no step has worked long enough to tell its capacity"
		return adv
	}
	d := a.cfg.Policy.Decide(Input{Now: now, Workers: a.cfg.Workers, CapacityPerWorker: perWorker, Rate: rate,
		Backlog: backlog, Forecast: pred, Horizon: a.cfg.Horizon, Step: a.cfg.Step, ForecastWhy: why}, a.decisions)
	a.decisions = append(a.decisions, d)
	if extra := len(a.decisions) - keptDecisions; extra > 0 {
		a.decisions = append(a.decisions[:0], a.decisions[extra:]...)
	}
	adv.DesiredWorkers, adv.Reason = d.Workers, d.Reason
	adv.Decisions = append([]Decision(nil), a.decisions...)
	adv.Steps = stepAdvice(caps, rate, float64(d.Workers)*perWorker)
	return adv
}

// stepAdvice sizes each measured step for carrying carried records/s of input (the full
// capacity of the desired workers); the input rate is rate.
func stepAdvice(caps []Capacity, rate, carried float64) []StepAdvice {
	var out []StepAdvice
	for _, c := range caps {
		if c.TrueRate <= 0 || c.InputRate <= 0 || rate <= 0 {
			continue
		}
		need := carried * (c.InputRate / rate) / c.TrueRate
		out = append(out, StepAdvice{Node: c.Node, Parallelism: c.Parallelism, TrueRate: c.TrueRate, Utilization: c.Utilization,
			Desired: max(int(math.Ceil(need-1e-9)), 1)})
	}
	return out
}

// Latest returns the newest advice; ok is false before the first observation.
func (a *Advisor) Latest() (adv Advice, ok bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.latest == nil {
		return Advice{}, false
	}
	return *a.latest, true
}

// SetWorkers tells the Advisor how many workers run the pipeline from now on.
func (a *Advisor) SetWorkers(n int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.cfg.Workers = max(n, 1)
}

// SetRestartCost tells the Advisor what a change of the worker count costs the pipeline
// (the rebalance pause, as measured): a need that lasts less changes nothing.
func (a *Advisor) SetRestartCost(d time.Duration) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.cfg.Policy.Limits.RestartCost = max(d, 0)
	a.foresight.SetRestartCost(d)
}

// newAdvisorForesight is the Foresight of an advisor: its days are the season (24h when
// there is none), its history steps the profile's slots.
func newAdvisorForesight(cfg AdvisorConfig) (*Foresight, error) {
	season := cfg.Season
	if season == 0 {
		season = 24 * time.Hour
	}
	return NewForesight(ForesightConfig{Step: cfg.Step, Season: season, Horizon: cfg.Horizon,
		HoltWinters: HoltWintersConfig{Step: cfg.Step, Season: cfg.Season, ErrorMemory: cfg.ErrorMemory}, Calendar: cfg.Calendar,
		Model: cfg.Model, BacktestDays: cfg.BacktestDays, HistoryStep: profileSlot(cfg.Step, season),
		Fleet: FleetConfig{Policy: cfg.Policy, Startup: cfg.Startup, RebalancePause: cfg.Policy.Limits.RestartCost, SLOLag: cfg.SLOLag}})
}

// Watch observes the run m serves every Step, until stop is closed.
func (a *Advisor) Watch(m *engine.Monitor, stop <-chan struct{}) {
	t := time.NewTicker(a.cfg.Step)
	defer t.Stop()
	for {
		select {
		case now := <-t.C:
			if st := m.Snapshot(); st != nil {
				a.Observe(now, st)
			}
		case <-stop:
			return
		}
	}
}

// read is the records the sources have read in the run st is of.
func (a *Advisor) read(st *engine.Stats) int64 {
	var n int64
	for _, r := range st.Nodes {
		if a.sources[r.Name] {
			n += r.Read
		}
	}
	return n
}

// backlog estimates the records the sources have left: each source's bytes left at the
// bytes per record it has read so far. Sources that do not know their size add nothing.
func (a *Advisor) backlog(st *engine.Stats) float64 {
	var n float64
	for _, r := range st.Nodes {
		if left := r.Backlog(); a.sources[r.Name] && left > 0 && r.Read > 0 && r.InputBytesRead > 0 {
			n += float64(left) * float64(r.Read) / float64(r.InputBytesRead)
		}
	}
	return n
}

// advisorState is what of an Advisor outlives a run: the forecasters' history and the
// decisions the scale-down window reads. Foresight is absent from states written before
// the profiles were kept; such a state restores Holt-Winters alone.
type advisorState struct {
	Version   int             `json:"version"`
	Forecast  json.RawMessage `json:"forecast"`
	Foresight json.RawMessage `json:"foresight,omitempty"`
	Observed  int             `json:"observed"`
	Decisions []Decision      `json:"decisions"`
	// Capacity and Bottleneck are the capacity per worker measured last and its step.
	Capacity   float64 `json:"capacity,omitempty"`
	Bottleneck string  `json:"bottleneck,omitempty"`
}

// MarshalJSON encodes the state an Advisor keeps across restarts, for checkpoints.
func (a *Advisor) MarshalJSON() ([]byte, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	hw, err := a.foresight.hw.MarshalJSON()
	if err != nil {
		return nil, err
	}
	fs, err := a.foresight.MarshalJSON()
	if err != nil {
		return nil, err
	}
	return json.Marshal(advisorState{Version: 1, Forecast: hw, Foresight: fs, Observed: a.observed, Decisions: a.decisions,
		Capacity: a.capacity, Bottleneck: a.bottleneck})
}

// UnmarshalJSON restores what MarshalJSON encoded, so a restarted run forecasts from the
// history its predecessor saw; the forecaster takes the step and season of the state.
func (a *Advisor) UnmarshalJSON(data []byte) error {
	var st advisorState
	if err := json.Unmarshal(data, &st); err != nil {
		return fmt.Errorf("scale advisor state: %w", err)
	}
	if st.Version != 1 {
		return fmt.Errorf("scale advisor state: version %d, want 1", st.Version)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	fs, err := newAdvisorForesight(a.cfg)
	if err != nil {
		return fmt.Errorf("scale advisor state: %w", err)
	}
	if err := fs.hw.UnmarshalJSON(st.Forecast); err != nil {
		return fmt.Errorf("scale advisor state: %w", err)
	}
	if st.Foresight != nil {
		if err := fs.UnmarshalJSON(st.Foresight); err != nil {
			return fmt.Errorf("scale advisor state: %w", err)
		}
	}
	fs.SetRestartCost(a.cfg.Policy.Limits.RestartCost)
	a.foresight, a.observed, a.decisions = fs, st.Observed, st.Decisions
	a.capacity, a.bottleneck = st.Capacity, st.Bottleneck
	return nil
}
