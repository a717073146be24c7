package scale

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// day0 is midnight of the first day of the synthetic series.
var day0 = time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)

// daily is a week of a rate sampled every minute: a daily curve between 2 000 and 10 000
// records/s peaking at 14:00, a trend of 5% of the mean a day and noise of 4% of the rate.
func daily(seed uint64) []float64 {
	rng := rand.New(rand.NewPCG(seed, 1))
	y := make([]float64, 7*24*60)
	for i := range y {
		day := float64(i) / (24 * 60)
		curve := 6000 - 4000*math.Cos(2*math.Pi*(day-14.0/24))
		mean := curve * (1 + 0.05*day)
		y[i] = mean * (1 + 0.04*rng.NormFloat64())
	}
	return y
}

func newHW(t testing.TB, cfg HoltWintersConfig) *HoltWinters {
	t.Helper()
	h, err := NewHoltWinters(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// score feeds the series one value a minute and scores the forecasts ahead steps ahead made
// from step from on: the mean absolute percentage error and the share of actual values the
// interval covered.
func score(h *HoltWinters, y []float64, from, ahead int) (mape, cover float64) {
	var n int
	for i, v := range y {
		if i >= from && i+ahead < len(y) {
			p := h.Forecast(time.Duration(ahead) * time.Minute)
			actual := y[i+ahead]
			mape += math.Abs(p.Mean-actual) / actual
			if p.Lo <= actual && actual <= p.Hi {
				cover++
			}
			n++
		}
		h.Observe(day0.Add(time.Duration(i)*time.Minute), v)
	}
	return 100 * mape / float64(n), 100 * cover / float64(n)
}

func TestForecastDailySeasonWithTrendAndNoise(t *testing.T) {
	for seed := range uint64(3) {
		h := newHW(t, HoltWintersConfig{Step: time.Minute, Season: 24 * time.Hour})
		mape, cover := score(h, daily(seed), 3*24*60, 10)
		t.Logf("seed %d: 10 minutes ahead from day 3: MAPE %.2f%%, 90%% interval covers %.1f%%", seed, mape, cover)
		if mape > 8 {
			t.Errorf("seed %d: MAPE %.2f%%, want at most 8%%", seed, mape)
		}
		if cover < 85 {
			t.Errorf("seed %d: the 90%% interval covers %.1f%% of actual values, want at least 85%%", seed, cover)
		}
	}
}

func TestForecastShortHistoryFallback(t *testing.T) {
	// The first day of the daily series, before the seasonal model can start.
	h := newHW(t, HoltWintersConfig{Step: time.Minute, Season: 24 * time.Hour})
	mape, cover := score(h, daily(7)[:24*60], 60, 10)
	t.Logf("first day, 10 minutes ahead by the linear fallback: MAPE %.2f%%, interval covers %.1f%%", mape, cover)
	if mape > 8 || cover < 80 {
		t.Errorf("fallback: MAPE %.2f%%, cover %.1f%%; want at most 8%% and at least 80%%", mape, cover)
	}
}

func TestForecastLinearRamp(t *testing.T) {
	for _, season := range []time.Duration{24 * time.Hour, 0} {
		h := newHW(t, HoltWintersConfig{Step: time.Minute, Season: season})
		ramp := func(i int) float64 { return 1000 + 25*float64(i) }
		for i := range 90 {
			h.Observe(day0.Add(time.Duration(i)*time.Minute), ramp(i))
			if i < 1 {
				continue
			}
			for _, ahead := range []int{1, 5, 10} {
				p := h.Forecast(time.Duration(ahead) * time.Minute)
				if want := ramp(i + ahead); math.Abs(p.Mean-want) > 1e-6*want {
					t.Fatalf("season %v, after %d values: %d minutes ahead %v, want %v", season, i+1, ahead, p.Mean, want)
				}
				if p.Lo > p.Mean || p.Hi < p.Mean {
					t.Fatalf("season %v, after %d values: interval %+v does not hold the mean", season, i+1, p)
				}
				if i >= 3 && p.Hi-p.Lo > 1e-6*p.Mean {
					t.Fatalf("season %v, after %d values: interval %+v around an exact forecast", season, i+1, p)
				}
			}
		}
	}
}

func TestForecastFewPoints(t *testing.T) {
	h := newHW(t, HoltWintersConfig{Step: time.Minute, Season: time.Hour})
	if p := h.Forecast(5 * time.Minute); p != (Prediction{}) {
		t.Errorf("before any value: %+v, want zeros", p)
	}
	h.Observe(day0, 500)
	if p := h.Forecast(5 * time.Minute); p != (Prediction{Mean: 500, Lo: 500, Hi: 500}) {
		t.Errorf("after one value: %+v, want a flat 500", p)
	}
	h.Observe(day0.Add(time.Minute), 300)
	h.Observe(day0.Add(2*time.Minute), 100)
	// The line through 500, 300, 100 falls below zero: the forecast stops at zero.
	p := h.Forecast(5 * time.Minute)
	if p.Mean != 0 || p.Lo != 0 || p.Hi < 0 {
		t.Errorf("a falling line: %+v, want a mean and low bound of 0", p)
	}
}

// surge is eight days of a flat 1 000 records/s with noise and a surge to 5 000 every night
// from 03:00 to 04:00.
func surge() []float64 {
	rng := rand.New(rand.NewPCG(11, 2))
	y := make([]float64, 8*24*60)
	for i := range y {
		y[i] = 1000
		if m := i % (24 * 60); m >= 3*60 && m < 4*60 {
			y[i] = 5000
		}
		y[i] *= 1 + 0.03*rng.NormFloat64()
	}
	return y
}

func TestForecastRecurringNightlySurge(t *testing.T) {
	h := newHW(t, HoltWintersConfig{Step: time.Minute, Season: 24 * time.Hour})
	y := surge()
	for i, v := range y {
		at := day0.Add(time.Duration(i) * time.Minute)
		h.Observe(at, v)
		if at.Hour() != 2 || at.Minute() != 55 {
			continue
		}
		p := h.Forecast(10 * time.Minute)
		night := i / (24 * 60)
		t.Logf("night %d, at 02:55 for 03:05: %+v", night+1, p)
		if night < 2 {
			continue // not yet seen twice
		}
		if p.Hi < 4000 || p.Mean < 3500 {
			t.Errorf("night %d: at 02:55 the forecast for 03:05 is %+v; want a mean of 3 500 and a high bound of 4 000 at least", night+1, p)
		}
	}
}

func TestForecastGapCarriesTheForecast(t *testing.T) {
	y := daily(3)
	whole := newHW(t, HoltWintersConfig{Step: time.Minute, Season: 24 * time.Hour})
	gappy := newHW(t, HoltWintersConfig{Step: time.Minute, Season: 24 * time.Hour})
	for i, v := range y[:4*24*60] {
		at := day0.Add(time.Duration(i) * time.Minute)
		whole.Observe(at, v)
		if i%(24*60) >= 600 && i%(24*60) < 620 {
			continue // twenty minutes missing every day, before and after the model starts
		}
		// Jitter of a few seconds does not shift the steps.
		gappy.Observe(at.Add(time.Duration(i%7-3)*time.Second), v)
	}
	a, b := whole.Forecast(10*time.Minute), gappy.Forecast(10*time.Minute)
	if math.Abs(a.Mean-b.Mean) > 0.05*a.Mean {
		t.Errorf("with gaps %+v, without %+v: want means within 5%%", b, a)
	}
	// A repeated or early observation is ignored.
	before := gappy.Forecast(10 * time.Minute)
	gappy.Observe(day0.Add(4*24*time.Hour-time.Minute), 1e9)
	gappy.Observe(day0.Add(4*24*time.Hour-time.Minute+20*time.Second), math.NaN())
	if after := gappy.Forecast(10 * time.Minute); after != before {
		t.Errorf("a repeated observation changed the forecast from %+v to %+v", before, after)
	}
}

func TestHoltWintersJSONRoundTrip(t *testing.T) {
	y := daily(5)
	for _, cut := range []int{0, 1, 100, 2*24*60 - 1, 3*24*60 + 17} {
		h := newHW(t, HoltWintersConfig{Step: time.Minute, Season: 24 * time.Hour, Confidence: 0.8})
		for i, v := range y[:cut] {
			h.Observe(day0.Add(time.Duration(i)*time.Minute), v)
		}
		data, err := json.Marshal(h)
		if err != nil {
			t.Fatal(err)
		}
		var r HoltWinters
		if err := json.Unmarshal(data, &r); err != nil {
			t.Fatalf("after %d values: %v", cut, err)
		}
		for i := cut; i < min(cut+3*60, len(y)); i++ {
			for _, d := range []time.Duration{0, time.Minute, 10 * time.Minute, 2 * time.Hour} {
				if a, b := h.Forecast(d), r.Forecast(d); a != b {
					t.Fatalf("after %d values, %v ahead: restored %+v, original %+v", i, d, b, a)
				}
			}
			at := day0.Add(time.Duration(i) * time.Minute)
			h.Observe(at, y[i])
			r.Observe(at, y[i])
		}
	}
}

func TestHoltWintersJSONRejectsBadState(t *testing.T) {
	h := newHW(t, HoltWintersConfig{Step: time.Minute, Season: time.Hour})
	for i := range 150 {
		h.Observe(day0.Add(time.Duration(i)*time.Minute), 100)
	}
	good, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	var state map[string]any
	for _, bad := range []func(map[string]any){
		func(s map[string]any) { s["version"] = 2 },
		func(s map[string]any) { s["step"] = "0s" },
		func(s map[string]any) { s["seasonal"] = []float64{1, 2} },
		func(s map[string]any) { s["made"] = []int64{} },
	} {
		if err := json.Unmarshal(good, &state); err != nil {
			t.Fatal(err)
		}
		bad(state)
		data, _ := json.Marshal(state)
		var r HoltWinters
		if err := r.UnmarshalJSON(data); err == nil {
			t.Errorf("accepted %s", data)
		}
	}
}

func TestNewHoltWintersChecksConfig(t *testing.T) {
	for _, cfg := range []HoltWintersConfig{
		{},
		{Step: time.Minute, Season: 90 * time.Second},
		{Step: time.Minute, Season: time.Minute},
		{Step: time.Minute, Alpha: 1.5},
		{Step: time.Minute, Beta: -0.1},
		{Step: time.Minute, Confidence: 1},
	} {
		if _, err := NewHoltWinters(cfg); err == nil {
			t.Errorf("%+v: no error", cfg)
		}
	}
}

func TestDetectSeason(t *testing.T) {
	candidates := []time.Duration{time.Hour, 24 * time.Hour, 168 * time.Hour}
	if got := DetectSeason(daily(1), time.Minute, candidates); got != 24*time.Hour {
		t.Errorf("daily series: %v, want 24h", got)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	noise := make([]float64, 7*24*60)
	for i := range noise {
		noise[i] = 1000 + 100*rng.NormFloat64()
	}
	if got := DetectSeason(noise, time.Minute, candidates); got != 0 {
		t.Errorf("white noise: %v, want 0", got)
	}
	// A daily curve over five weeks repeats weekly too; the shorter season wins.
	long := make([]float64, 35*24)
	for i := range long {
		long[i] = 1000 + 500*math.Sin(2*math.Pi*float64(i)/24) + 10*rng.NormFloat64()
	}
	if got := DetectSeason(long, time.Hour, candidates); got != 24*time.Hour {
		t.Errorf("five weeks of a daily curve: %v, want 24h", got)
	}
	// Weekends at half the rate make the week the season.
	for i := range long {
		if (i/24)%7 >= 5 {
			long[i] /= 2
		}
	}
	if got := DetectSeason(long, time.Hour, candidates); got != 168*time.Hour {
		t.Errorf("five weeks with quiet weekends: %v, want 168h", got)
	}
	if got := DetectSeason(daily(1)[:30*60], time.Minute, candidates); got != 0 {
		t.Errorf("thirty hours: %v, want 0 (a day is not covered twice)", got)
	}
}

func BenchmarkHoltWintersObserve(b *testing.B) {
	y := daily(9)
	h := newHW(b, HoltWintersConfig{Step: time.Minute, Season: 24 * time.Hour})
	for i, v := range y[:3*24*60] {
		h.Observe(day0.Add(time.Duration(i)*time.Minute), v)
	}
	n := 3 * 24 * 60
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		h.Observe(day0.Add(time.Duration(n+i)*time.Minute), y[i%len(y)])
	}
}

// TestErrorMemoryBoundsHowLongASpikeWidensTheInterval forecasts a steady series with one
// spike: a short error memory forgets the spike's error sooner, so its interval narrows back.
func TestErrorMemoryBoundsHowLongASpikeWidensTheInterval(t *testing.T) {
	width := func(memory time.Duration) float64 {
		h, err := NewHoltWinters(HoltWintersConfig{Step: time.Minute, ErrorMemory: memory})
		if err != nil {
			t.Fatal(err)
		}
		start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		for i := range 300 {
			v := 100 + float64(i%3)
			if i == 200 {
				v = 1000
			}
			h.Observe(start.Add(time.Duration(i)*time.Minute), v)
		}
		p := h.Forecast(10 * time.Minute)
		return p.Hi - p.Mean
	}
	short, long := width(30*time.Minute), width(0) // 30 steps against the default 120
	if !(short > 0 && short < long/2) {
		t.Fatalf("100 steps after a spike the interval is ±%.1f with a 30-minute memory and ±%.1f with the default; want the first far narrower", short, long)
	}
}
