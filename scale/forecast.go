package scale

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"
)

// Prediction is a forecast of a rate: its expected value and a prediction interval.
type Prediction struct {
	// Mean is the expected rate, Lo and Hi the prediction interval, in records per second;
	// Lo >= 0.
	Mean float64 `json:"mean"`
	Lo   float64 `json:"lo"`
	Hi   float64 `json:"hi"`
}

// Forecaster predicts a regularly sampled rate series.
type Forecaster interface {
	// Observe adds the rate (records/s) measured over the step ending at t. Observations come
	// in time order, one per step; a gap is filled by carrying the forecast.
	Observe(t time.Time, rate float64)
	// Forecast predicts the rate h after the last observation, with the interval at the
	// forecaster's confidence.
	Forecast(h time.Duration) Prediction
}

// HoltWintersConfig configures NewHoltWinters; zero values take the defaults.
type HoltWintersConfig struct {
	// Step is the sampling step of the series, e.g. a minute. It is required.
	Step time.Duration
	// Season is the seasonal period, e.g. 24h, a whole number of steps; 0 means no
	// seasonality, Holt's linear trend only.
	Season time.Duration
	// Alpha, Beta and Gamma smooth the level, the trend and the seasonal indices, each in
	// (0, 1]. The defaults are DefaultAlpha, DefaultBeta and DefaultGamma.
	Alpha, Beta, Gamma float64
	// Confidence is the probability the prediction interval should cover, in (0, 1); the
	// default is DefaultConfidence.
	Confidence float64
	// ErrorMemory is roughly the span over which the errors of past forecasts are averaged
	// into the interval (default DefaultErrorMemory; at least minErrorSteps steps).
	ErrorMemory time.Duration
}

// The default smoothing constants. A rate sampled every minute is noisy from step to step,
// so the level follows it with a moderate Alpha, which forgets a shift within ten steps or
// so. The trend is extrapolated over the whole horizon (ten steps ahead multiplies its
// noise tenfold), so Beta is small: the trend follows the level's drift over about fifty
// updates and ignores a single noisy step (on a noisy daily curve sampled every minute, 0.05
// makes the ten-minute forecast's error about 6% larger than 0.02 does). A seasonal index is updated once per season, so a
// Gamma of 0.3 lets a changed daily pattern replace the old one within three or four seasons
// while one odd day moves it by less than a third.
const (
	DefaultAlpha      = 0.3
	DefaultBeta       = 0.02
	DefaultGamma      = 0.3
	DefaultConfidence = 0.9
)

// trackedHorizon is how far ahead the forecaster measures its own errors, horizon by
// horizon, in steps between minHorizonSteps and maxHorizonSteps: far enough for a scaling
// policy's lead time. Intervals further ahead are extrapolated from the furthest one.
const (
	trackedHorizon  = 15 * time.Minute
	minHorizonSteps = 4
	maxHorizonSteps = 64
)

// DefaultErrorMemory is long enough for a steady interval and short enough to follow a
// spread that changes over the day; an interval never averages fewer than minErrorSteps.
const (
	DefaultErrorMemory = 2 * time.Hour
	minErrorSteps      = 30
)

// Without a season the forecaster starts Holt's linear trend from a line fitted to the first
// holtInitSteps observations. With one, the linear fallback fits the last season/fallbackShare
// steps (between minFallbackSteps and maxFallbackSteps): short against the season, so the
// curve is nearly straight over it.
const (
	holtInitSteps    = 10
	fallbackShare    = 24
	minFallbackSteps = 5
	maxFallbackSteps = 120
)

// HoltWinters is additive Holt-Winters with trend (triple exponential smoothing). While
// history is shorter than two seasons it forecasts with a linear trend fitted over the recent
// window (falling back gracefully, also with few points), then switches to the seasonal model
// initialised from the first two seasons. The interval widens with the horizon from the
// residuals' spread.
//
// The model, for an observation y at step t with the season m steps long:
//
//	level    L_t = α (y - S_{t-m}) + (1-α) (L_{t-1} + B_{t-1})
//	trend    B_t = β (L_t - L_{t-1}) + (1-β) B_{t-1}
//	season   S_t = γ (y - L_t) + (1-γ) S_{t-m}
//	forecast ŷ_{t+h} = L_t + h B_t + S_{t+h-m⌈h/m⌉}
//
// The interval is the forecast plus or minus z σ_h, with z the normal quantile of the
// confidence and σ_h the root mean square error the forecaster's own forecasts h steps ahead
// have made recently (exponentially weighted), whichever model made them. Further ahead than
// it tracks, σ_h grows with the square root of h.
//
// A HoltWinters is not safe for concurrent use. Observe allocates nothing once the seasonal
// model runs.
type HoltWinters struct {
	cfg      HoltWintersConfig
	m        int // season in steps; 0 without one
	initAt   int // observations (steps) after which the model starts
	window   int // steps the linear fallback fits
	horizons int // steps ahead whose errors are tracked
	decay    float64
	z        float64

	n     int64     // steps seen, filled gaps included
	first time.Time // time of the first observation (step 0)
	last  time.Time // time of the last observation

	// Before the model starts: every value so far (for the seasonal initialisation).
	history []float64

	started       bool
	level, trend  float64
	seasonal      []float64 // by phase: step index mod m
	made          []int64   // ring by step mod horizons: the step whose forecasts it holds, -1 none
	ahead         []float64 // ring of forecasts, horizons per slot: made at made[slot], 1.. steps ahead
	errSq, errWts []float64 // by horizon-1: weighted sums of squared errors and of weights
}

// NewHoltWinters returns a forecaster with no history.
func NewHoltWinters(cfg HoltWintersConfig) (*HoltWinters, error) {
	if cfg.Step <= 0 {
		return nil, fmt.Errorf("scale: forecaster step %v must be positive", cfg.Step)
	}
	if cfg.Season < 0 {
		return nil, fmt.Errorf("scale: forecaster season %v must not be negative", cfg.Season)
	}
	if cfg.Season > 0 && (cfg.Season%cfg.Step != 0 || cfg.Season < 2*cfg.Step) {
		return nil, fmt.Errorf("scale: forecaster season %v must be a whole number of steps of %v, at least two", cfg.Season, cfg.Step)
	}
	for _, p := range []struct {
		name string
		v    *float64
		def  float64
	}{{"alpha", &cfg.Alpha, DefaultAlpha}, {"beta", &cfg.Beta, DefaultBeta}, {"gamma", &cfg.Gamma, DefaultGamma}} {
		if *p.v == 0 {
			*p.v = p.def
		}
		if !(*p.v > 0 && *p.v <= 1) {
			return nil, fmt.Errorf("scale: forecaster %s %v must be in (0, 1]", p.name, *p.v)
		}
	}
	if cfg.Confidence == 0 {
		cfg.Confidence = DefaultConfidence
	}
	if cfg.ErrorMemory <= 0 {
		cfg.ErrorMemory = DefaultErrorMemory
	}
	if !(cfg.Confidence > 0 && cfg.Confidence < 1) {
		return nil, fmt.Errorf("scale: forecaster confidence %v must be in (0, 1)", cfg.Confidence)
	}
	h := &HoltWinters{cfg: cfg}
	h.derive()
	h.made = make([]int64, h.horizons)
	for i := range h.made {
		h.made[i] = -1
	}
	h.ahead = make([]float64, h.horizons*h.horizons)
	h.errSq = make([]float64, h.horizons)
	h.errWts = make([]float64, h.horizons)
	return h, nil
}

// derive sets the fields that follow from the configuration.
func (h *HoltWinters) derive() {
	c := h.cfg
	h.m = int(c.Season / c.Step)
	if h.m > 0 {
		h.initAt = 2 * h.m
		h.window = min(max(h.m/fallbackShare, minFallbackSteps), maxFallbackSteps)
	} else {
		h.initAt = holtInitSteps
		h.window = holtInitSteps
	}
	h.horizons = min(max(int((trackedHorizon+c.Step-1)/c.Step), minHorizonSteps), maxHorizonSteps)
	h.decay = 1 - 2/(float64(max(int(c.ErrorMemory/c.Step), minErrorSteps))+1)
	h.z = math.Sqrt2 * math.Erfinv(c.Confidence)
}

// Observe adds the rate measured over the step ending at t. An observation less than half a
// step after the previous one, or one that is not a finite number, is ignored; a negative
// rate counts as 0. Steps missing before t are filled with the forecast, which leaves the
// model as it was (the level moves on by the trend) and teaches the interval nothing.
func (h *HoltWinters) Observe(t time.Time, rate float64) {
	if math.IsNaN(rate) || math.IsInf(rate, 0) {
		return
	}
	rate = max(rate, 0)
	if h.n == 0 {
		h.first, h.last = t, t
		h.n = 1
		h.update(rate)
		return // a flat forecast from one value says nothing of the errors to expect
	}
	// Steps since the last observation, counted on the grid of the first one so that jitter
	// does not accumulate.
	due := h.first.Add(time.Duration(h.n-1) * h.cfg.Step)
	steps := int64(math.Round(float64(t.Sub(due)) / float64(h.cfg.Step)))
	if steps < 1 {
		return
	}
	h.fill(steps - 1)
	h.last = t
	h.learn(rate)
	h.n++
	h.update(rate)
	h.predict()
}

// fill carries the forecast over k missing steps. No forecasts are made at a filled step, so
// none is scored against the values it was filled with.
func (h *HoltWinters) fill(k int64) {
	for ; k > 0 && !h.started; k-- {
		v := h.fallback(1)
		h.n++
		h.update(v)
	}
	if k == 0 {
		return
	}
	// A step of the model on its own forecast moves the level on by the trend and leaves the
	// trend and the seasonal indices as they were.
	h.level += float64(k) * h.trend
	h.n += k
}

// learn scores the earlier forecasts made for the step now observed.
func (h *HoltWinters) learn(y float64) {
	H := int64(h.horizons)
	for k := int64(1); k <= H; k++ {
		at := h.n - k // step the forecast was made at; the new observation is step h.n
		if at < 0 {
			break
		}
		slot := at % H
		if h.made[slot] != at {
			continue
		}
		e := y - h.ahead[slot*H+k-1]
		h.errSq[k-1] = h.decay*h.errSq[k-1] + e*e
		h.errWts[k-1] = h.decay*h.errWts[k-1] + 1
	}
}

// update takes the value of step h.n-1 into the state.
func (h *HoltWinters) update(y float64) {
	if !h.started {
		h.history = append(h.history, y)
		if len(h.history) >= h.initAt {
			h.start()
		}
		return
	}
	if h.m == 0 {
		prev := h.level
		h.level = h.cfg.Alpha*y + (1-h.cfg.Alpha)*(h.level+h.trend)
		h.trend = h.cfg.Beta*(h.level-prev) + (1-h.cfg.Beta)*h.trend
		return
	}
	p := int((h.n - 1) % int64(h.m))
	s := h.seasonal[p]
	prev := h.level
	h.level = h.cfg.Alpha*(y-s) + (1-h.cfg.Alpha)*(h.level+h.trend)
	h.trend = h.cfg.Beta*(h.level-prev) + (1-h.cfg.Beta)*h.trend
	h.seasonal[p] = h.cfg.Gamma*(y-h.level) + (1-h.cfg.Gamma)*s
}

// start initialises the model from the history and runs it over the history.
func (h *HoltWinters) start() {
	y := h.history
	if h.m == 0 {
		a, b := fitLine(y)
		h.level, h.trend = a+b*float64(len(y)-1), b
		h.history, h.started = nil, true
		return
	}
	m := h.m
	var mean [2]float64
	for k := range 2 {
		for _, v := range y[k*m : (k+1)*m] {
			mean[k] += v
		}
		mean[k] /= float64(m)
	}
	b := (mean[1] - mean[0]) / float64(m)
	mid := float64(m-1) / 2
	h.seasonal = make([]float64, m)
	var sum float64
	for j := range m {
		d := b * (float64(j) - mid)
		h.seasonal[j] = ((y[j] - mean[0] - d) + (y[m+j] - mean[1] - d)) / 2
		sum += h.seasonal[j]
	}
	for j := range m {
		h.seasonal[j] -= sum / float64(m)
	}
	// The level just before step 0, so that it is mean[0] in the middle of the first season.
	h.level, h.trend = mean[0]-b*(mid+1), b
	h.history, h.started = nil, true
	n := h.n
	for i, v := range y {
		h.n = int64(i) + 1
		h.update(v)
	}
	h.n = n
}

// predict records the forecasts of the steps ahead, to score them when they are observed.
func (h *HoltWinters) predict() {
	H := int64(h.horizons)
	at := h.n - 1
	slot := at % H
	h.made[slot] = at
	row := h.ahead[slot*H : (slot+1)*H]
	for k := range row {
		row[k] = h.mean(k + 1)
	}
}

// mean is the forecast k steps after the last, not yet clamped at 0.
func (h *HoltWinters) mean(k int) float64 {
	if !h.started {
		return h.fallback(k)
	}
	f := h.level + float64(k)*h.trend
	if h.m > 0 {
		f += h.seasonal[int((h.n-1+int64(k))%int64(h.m))]
	}
	return f
}

// fallback forecasts k steps ahead with a line fitted to the recent history.
func (h *HoltWinters) fallback(k int) float64 {
	y := h.history[max(len(h.history)-h.window, 0):]
	a, b := fitLine(y)
	return a + b*float64(len(y)-1+k)
}

// fitLine fits y = a + b x by least squares to the values at x = 0, 1, ...; with one value
// the line is flat.
func fitLine(y []float64) (a, b float64) {
	n := float64(len(y))
	if len(y) < 2 {
		if len(y) == 1 {
			return y[0], 0
		}
		return 0, 0
	}
	mx := (n - 1) / 2
	var my, sxy, sxx float64
	for _, v := range y {
		my += v
	}
	my /= n
	for i, v := range y {
		d := float64(i) - mx
		sxy += d * (v - my)
		sxx += d * d
	}
	b = sxy / sxx
	return my - b*mx, b
}

// Forecast predicts the rate d after the last observation, rounded to whole steps; 0 or less
// gives the model's estimate of the last step. Before any observation it is all zeros.
func (h *HoltWinters) Forecast(d time.Duration) Prediction {
	if h.n == 0 {
		return Prediction{}
	}
	k := max(int(math.Round(float64(d)/float64(h.cfg.Step))), 0)
	mean := max(h.mean(k), 0)
	spread := h.z * h.sigma(max(k, 1))
	return Prediction{Mean: mean, Lo: max(mean-spread, 0), Hi: mean + spread}
}

// sigma is the spread of the errors k steps ahead: the largest root mean square error of the
// tracked horizons up to k, so that it never narrows further ahead, grown with the square root
// of the horizon beyond the furthest one measured. Before any error is measured it is the
// spread of the values seen.
func (h *HoltWinters) sigma(k int) float64 {
	var best float64
	known := 0
	for i := range min(k, h.horizons) {
		if h.errWts[i] > 0 {
			best = max(best, math.Sqrt(h.errSq[i]/h.errWts[i]))
			known = i + 1
		}
	}
	if known == 0 {
		return stddev(h.history)
	}
	if k > known {
		best *= math.Sqrt(float64(k) / float64(known))
	}
	return best
}

func stddev(y []float64) float64 {
	if len(y) < 2 {
		return 0
	}
	var mean, ss float64
	for _, v := range y {
		mean += v
	}
	mean /= float64(len(y))
	for _, v := range y {
		ss += (v - mean) * (v - mean)
	}
	return math.Sqrt(ss / float64(len(y)-1))
}

// holtWintersState is the JSON form of a HoltWinters.
type holtWintersState struct {
	Version    int     `json:"version"`
	Step       string  `json:"step"`
	Season     string  `json:"season"`
	Alpha      float64 `json:"alpha"`
	Beta       float64 `json:"beta"`
	Gamma      float64 `json:"gamma"`
	Confidence float64 `json:"confidence"`
	// ErrorMemory is absent from states written before it was configurable.
	ErrorMemory string    `json:"error_memory,omitempty"`
	Steps       int64     `json:"steps"`
	First       time.Time `json:"first"`
	Last        time.Time `json:"last"`
	History     []float64 `json:"history,omitempty"`
	Started     bool      `json:"started"`
	Level       float64   `json:"level"`
	Trend       float64   `json:"trend"`
	Seasonal    []float64 `json:"seasonal,omitempty"`
	Made        []int64   `json:"made"`
	Ahead       []float64 `json:"ahead"`
	ErrSq       []float64 `json:"err_sq"`
	ErrWeights  []float64 `json:"err_weights"`
}

const holtWintersVersion = 1

// MarshalJSON writes the forecaster's whole state: its configuration, the model, the history
// it has not yet modelled and the forecasts it is waiting to score.
func (h *HoltWinters) MarshalJSON() ([]byte, error) {
	return json.Marshal(holtWintersState{
		Version: holtWintersVersion,
		Step:    h.cfg.Step.String(), Season: h.cfg.Season.String(),
		Alpha: h.cfg.Alpha, Beta: h.cfg.Beta, Gamma: h.cfg.Gamma, Confidence: h.cfg.Confidence,
		ErrorMemory: h.cfg.ErrorMemory.String(),
		Steps:       h.n, First: h.first, Last: h.last,
		History: h.history, Started: h.started,
		Level: h.level, Trend: h.trend, Seasonal: h.seasonal,
		Made: h.made, Ahead: h.ahead, ErrSq: h.errSq, ErrWeights: h.errWts,
	})
}

// UnmarshalJSON restores a state that MarshalJSON wrote, checking that it is consistent.
func (h *HoltWinters) UnmarshalJSON(data []byte) error {
	var s holtWintersState
	if err := json.Unmarshal(data, &s); err != nil {
		return fmt.Errorf("scale: forecaster state: %w", err)
	}
	if s.Version != holtWintersVersion {
		return fmt.Errorf("scale: forecaster state version %d, want %d", s.Version, holtWintersVersion)
	}
	step, err := time.ParseDuration(s.Step)
	if err != nil {
		return fmt.Errorf("scale: forecaster state step: %w", err)
	}
	season, err := time.ParseDuration(s.Season)
	if err != nil {
		return fmt.Errorf("scale: forecaster state season: %w", err)
	}
	var memory time.Duration // states before ErrorMemory was kept take the default
	if s.ErrorMemory != "" {
		if memory, err = time.ParseDuration(s.ErrorMemory); err != nil {
			return fmt.Errorf("scale: forecaster state error memory: %w", err)
		}
	}
	fresh, err := NewHoltWinters(HoltWintersConfig{Step: step, Season: season,
		Alpha: s.Alpha, Beta: s.Beta, Gamma: s.Gamma, Confidence: s.Confidence, ErrorMemory: memory})
	if err != nil {
		return fmt.Errorf("scale: forecaster state: %w", err)
	}
	H := fresh.horizons
	switch {
	case s.Steps < 0:
		return errors.New("scale: forecaster state: negative step count")
	case len(s.Made) != H || len(s.Ahead) != H*H || len(s.ErrSq) != H || len(s.ErrWeights) != H:
		return fmt.Errorf("scale: forecaster state: error tracking for %d horizons, want %d", len(s.Made), H)
	case s.Started && len(s.Seasonal) != fresh.m:
		return fmt.Errorf("scale: forecaster state: %d seasonal indices, want %d", len(s.Seasonal), fresh.m)
	case !s.Started && (int64(len(s.History)) != s.Steps || len(s.History) >= fresh.initAt):
		return fmt.Errorf("scale: forecaster state: %d values of history for %d steps", len(s.History), s.Steps)
	}
	fresh.n, fresh.first, fresh.last = s.Steps, s.First, s.Last
	fresh.history, fresh.started = s.History, s.Started
	fresh.level, fresh.trend = s.Level, s.Trend
	if s.Started && fresh.m > 0 {
		fresh.seasonal = s.Seasonal
	}
	fresh.made, fresh.ahead, fresh.errSq, fresh.errWts = s.Made, s.Ahead, s.ErrSq, s.ErrWeights
	*h = *fresh
	return nil
}

// Thresholds of DetectSeason: a period's autocorrelation must reach minSeasonCorrelation and
// stand at least minSeasonPeak above the autocorrelation at half the period (a sine's is -1
// there; a merely smooth series, whose autocorrelation falls slowly with the lag, has no
// peak). Candidates within seasonTie of the best count as equal, and the shortest of them
// wins: a daily pattern repeats weekly too, and a shorter season needs less history.
const (
	minSeasonCorrelation = 0.3
	minSeasonPeak        = 0.2
	seasonTie            = 0.05
)

// DetectSeason returns the candidate period (e.g. 1h, 24h, 168h) whose autocorrelation in the
// series (sampled every step) is highest and above a threshold, or 0 if none. The series is
// detrended with a fitted line first. A candidate is considered only when it is a whole
// number of steps, at least two, and the series covers it at least twice, and only when the
// autocorrelation peaks there, being clearly higher than at half the period.
func DetectSeason(series []float64, step time.Duration, candidates []time.Duration) time.Duration {
	if step <= 0 || len(series) < 4 {
		return 0
	}
	a, b := fitLine(series)
	x := make([]float64, len(series))
	for i, v := range series {
		x[i] = v - (a + b*float64(i))
	}
	var best time.Duration
	bestR := math.Inf(-1)
	type scored struct {
		period time.Duration
		r      float64
	}
	var ok []scored
	for _, c := range candidates {
		if c <= 0 || c%step != 0 {
			continue
		}
		lag := int(c / step)
		if lag < 2 || 2*lag > len(x) {
			continue
		}
		r := lagCorrelation(x, lag)
		if r < minSeasonCorrelation || r-lagCorrelation(x, lag/2) < minSeasonPeak {
			continue
		}
		ok = append(ok, scored{c, r})
		bestR = max(bestR, r)
	}
	for _, s := range ok {
		if s.r >= bestR-seasonTie && (best == 0 || s.period < best) {
			best = s.period
		}
	}
	return best
}

// lagCorrelation is the Pearson correlation of x with itself lag steps later; 0 when either
// part is constant.
func lagCorrelation(x []float64, lag int) float64 {
	p, q := x[:len(x)-lag], x[lag:]
	n := float64(len(p))
	var mp, mq float64
	for i := range p {
		mp += p[i]
		mq += q[i]
	}
	mp /= n
	mq /= n
	var spq, spp, sqq float64
	for i := range p {
		dp, dq := p[i]-mp, q[i]-mq
		spq += dp * dq
		spp += dp * dp
		sqq += dq * dq
	}
	if spp == 0 || sqq == 0 {
		return 0
	}
	return spq / math.Sqrt(spp*sqq)
}
