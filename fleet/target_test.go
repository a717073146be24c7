package fleet

import (
	"testing"
	"time"

	"millrace/scale"
)

func TestTarget(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 2, 50, 0, 0, time.UTC)
	lim := Limits{Min: 1, Max: 4, Cooldown: time.Minute}
	advice := func(at time.Time, n int) scale.Advice {
		return scale.Advice{At: at, Workers: 1, DesiredWorkers: n, Reason: "forecast"}
	}
	seen := func(a scale.Advice, workers int) scale.Advice {
		a.Workers = workers
		return a
	}
	for _, c := range []struct {
		name      string
		running   int
		changed   time.Time
		adv       scale.Advice
		ok        bool
		now       time.Time
		want      int
		why, stay string
	}{
		{"none run yet", 0, time.Time{}, scale.Advice{}, false, t0, 1, "at least 1 workers (--min)", ""},
		{"too many", 6, t0, scale.Advice{}, false, t0, 4, "at most 4 workers (--max)", ""},
		{"no advice", 2, t0, scale.Advice{}, false, t0, 2, "", "no advice yet"},
		{"advice before the change", 1, t0, advice(t0, 3), true, t0.Add(2 * time.Minute), 1, "", "the newest advice is about the workers before the last change"},
		{"up", 1, t0, advice(t0.Add(2*time.Minute), 3), true, t0.Add(2 * time.Minute), 3, "forecast", ""},
		{"up bounded", 1, t0, advice(t0.Add(2*time.Minute), 9), true, t0.Add(2 * time.Minute), 4, "forecast (the advice asks for 9; bounded by --min 1 and --max 4)", ""},
		{"cooling down", 1, t0, advice(t0.Add(time.Second), 3), true, t0.Add(30 * time.Second), 1, "", "cooling down until 02:51:00 after the last change"},
		{"not yet seen", 2, t0, advice(t0.Add(2*time.Minute), 3), true, t0.Add(2 * time.Minute), 2, "", "the newest advice saw 1 workers of the 2 running"},
		{"steady", 1, t0, advice(t0.Add(2*time.Minute), 1), true, t0.Add(2 * time.Minute), 1, "", "the advice asks for as many workers as run"},
		{"down", 3, t0, seen(advice(t0.Add(2*time.Minute), 0), 3), true, t0.Add(2 * time.Minute), 1, "forecast (the advice asks for 0; bounded by --min 1 and --max 4)", ""},
	} {
		n, why, stay := Target(c.running, c.changed, c.adv, c.ok, lim, c.now)
		if n != c.want || why != c.why || stay != c.stay {
			t.Errorf("%s: %d, %q, %q; want %d, %q, %q", c.name, n, why, stay, c.want, c.why, c.stay)
		}
	}
}

func TestLimitsValidate(t *testing.T) {
	for _, l := range []Limits{{Min: 0, Max: 1}, {Min: 3, Max: 2}, {Min: 1, Max: 1, Cooldown: -time.Second}} {
		if l.Validate() == nil {
			t.Errorf("%+v passes", l)
		}
	}
	if err := (Limits{Min: 1, Max: 1}).Validate(); err != nil {
		t.Error(err)
	}
}
