package scale

import (
	"fmt"
	"time"
)

// unseen marks a slot of a profile, or a factor, that nothing has taught yet.
const unseen = -1

// profileKeep is how much of a profile's value survives an occurrence that stays below it:
// a slot rises at once to a new maximum and falls half-way towards what each later
// occurrence shows. A surge seen once is expected the next time; one that stops coming is
// half forgotten after each time it did not.
const profileKeep = 0.5

// profile is a load profile learned from one occurrence: for each slot of the day and of
// the week the highest rate seen there, decaying towards later lower ones (profileKeep).
// The slot of the week is used once that weekday has been seen, else the slot of the day.
//
// With a calendar, a day with events teaches each event the ratio of its rate to the
// ordinary profile, by slot of the day, and teaches the ordinary profile its rate over the
// largest of those ratios, so that a month-end surge raises the month end's factor and not
// the next day's forecast. A day whose slot the ordinary profile has never seen teaches it
// its rate as it is. The forecast for a day with events is the ordinary profile times the
// largest factor its events have learned.
type profile struct {
	slot    time.Duration // width of a slot, a whole divisor of day
	day     time.Duration // length of a day (the season)
	perDay  int64
	cal     *calendarDays // nil: no calendar
	daily   []float64     // by slot of the day
	dailyAt []int64       // the day whose maximum each daily slot holds
	weekly  []float64     // by slot of the week
	weekAt  []int64
	factors map[string][]float64 // by event kind, by slot of the day
	factAt  map[string][]int64
	cur     int64   // absolute slot being observed, -1 before the first
	curMax  float64 // its highest rate so far
}

func newProfile(slot, day time.Duration, cal *calendarDays) *profile {
	per := int64(day / slot)
	p := &profile{slot: slot, day: day, perDay: per, cal: cal, cur: -1,
		daily: fill(make([]float64, per), unseen), dailyAt: make([]int64, per),
		weekly: fill(make([]float64, 7*per), unseen), weekAt: make([]int64, 7*per),
		factors: map[string][]float64{}, factAt: map[string][]int64{}}
	return p
}

func fill(xs []float64, v float64) []float64 {
	for i := range xs {
		xs[i] = v
	}
	return xs
}

// profileSlot is the width of a profile's slots for a season sampled every step: about a
// 288th of the season (5 minutes of a day), a whole number of steps that divides the
// season; the step itself when none does.
func profileSlot(step, season time.Duration) time.Duration {
	want := max(season/288, step)
	for n := (want + step - 1) / step; n*step <= season; n++ {
		if s := n * step; season%s == 0 {
			return s
		}
	}
	return step
}

func (p *profile) slotOf(t time.Time) int64 {
	return floorDivDur(t.UnixNano(), int64(p.slot))
}

func floorDivDur(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// dayOfSlot is the day (the season's, since 1970) that absolute slot k falls on.
func (p *profile) dayOfSlot(k int64) int64 { return floorDivDur(k, p.perDay) }

func mod(a, b int64) int64 { return a - floorDivDur(a, b)*b }

// observe takes the rate of the step starting at t.
func (p *profile) observe(t time.Time, rate float64) {
	k := p.slotOf(t)
	switch {
	case p.cur < 0:
		p.cur, p.curMax = k, rate
	case k == p.cur:
		p.curMax = max(p.curMax, rate)
	case k > p.cur:
		p.learn(p.cur, p.curMax)
		p.cur, p.curMax = k, rate
	}
}

// raise moves a remembered value towards y: at once up to a new maximum, profileKeep of
// the way down otherwise. It says whether y set a new maximum.
func raise(v *float64, y float64) bool {
	if *v == unseen || y >= *v {
		*v = y
		return true
	}
	*v = profileKeep**v + (1-profileKeep)*y
	return false
}

// learn takes y, the highest rate of absolute slot k, into the profile.
func (p *profile) learn(k int64, y float64) {
	day := p.dayOfSlot(k)
	s, w := mod(k, p.perDay), mod(k, 7*p.perDay)
	if p.cal != nil {
		if ev := p.cal.Events(day); len(ev) > 0 {
			if o, _, ok := p.ordinary(k); ok && o > 0 {
				top := 0.0
				for _, e := range ev {
					f, at := p.factors[e.Kind], p.factAt[e.Kind]
					if f == nil {
						f, at = fill(make([]float64, p.perDay), unseen), make([]int64, p.perDay)
						p.factors[e.Kind], p.factAt[e.Kind] = f, at
					}
					if raise(&f[s], y/o) {
						at[s] = day
					}
					top = max(top, f[s])
				}
				y /= top
			}
		}
	}
	if raise(&p.daily[s], y) {
		p.dailyAt[s] = day
	}
	if raise(&p.weekly[w], y) {
		p.weekAt[w] = day
	}
}

// ordinary is the profile's rate for absolute slot k without calendar events, and the day
// whose maximum it holds.
func (p *profile) ordinary(k int64) (float64, int64, bool) {
	if w := mod(k, 7*p.perDay); p.weekly[w] != unseen {
		return p.weekly[w], p.weekAt[w], true
	}
	if s := mod(k, p.perDay); p.daily[s] != unseen {
		return p.daily[s], p.dailyAt[s], true
	}
	return 0, 0, false
}

// forecast is the profile's rate for the step starting at t; ok is false when the profile
// has not seen its slot. With explain it also says what it remembered.
func (p *profile) forecast(t time.Time, explain bool) (rate float64, why string, ok bool) {
	k := p.slotOf(t)
	o, at, ok := p.ordinary(k)
	if !ok {
		return 0, "", false
	}
	rate = o
	var event Event
	factor, factorAt := 0.0, int64(0)
	if p.cal != nil {
		for _, e := range p.cal.Events(p.dayOfSlot(k)) {
			if f := p.factors[e.Kind]; f != nil {
				if s := mod(k, p.perDay); f[s] != unseen && (event.Kind == "" || f[s] > factor) {
					event, factor, factorAt = e, f[s], p.factAt[e.Kind][s]
				}
			}
		}
		if event.Kind != "" {
			rate *= factor
		}
	}
	if explain {
		clock := t.UTC().Format("15:04")
		if event.Kind != "" {
			why = fmt.Sprintf("%s at %s for the %s, %.1f× the ordinary day as on %s", fmtRate(rate), clock, event.Name, factor,
				p.dayName(factorAt))
		} else {
			why = fmt.Sprintf("%s at %s remembered from %s", fmtRate(rate), clock, p.dayName(at))
		}
	}
	return rate, why, true
}

// dayName writes a day of the profile: a date when days are calendar days.
func (p *profile) dayName(day int64) string {
	t := time.Unix(0, day*int64(p.day)).UTC()
	if p.day == 24*time.Hour {
		return t.Format("Mon 2006-01-02")
	}
	return t.Format("2006-01-02 15:04:05")
}

// profileState is the JSON form of a profile.
type profileState struct {
	Slot     string               `json:"slot"`
	Day      string               `json:"day"`
	Daily    []float64            `json:"daily"`
	DailyAt  []int64              `json:"daily_at"`
	Weekly   []float64            `json:"weekly"`
	WeeklyAt []int64              `json:"weekly_at"`
	Factors  map[string][]float64 `json:"factors,omitempty"`
	FactorAt map[string][]int64   `json:"factor_at,omitempty"`
	Cur      int64                `json:"cur"`
	CurMax   float64              `json:"cur_max"`
}

func (p *profile) state() profileState {
	return profileState{Slot: p.slot.String(), Day: p.day.String(), Daily: p.daily, DailyAt: p.dailyAt,
		Weekly: p.weekly, WeeklyAt: p.weekAt, Factors: p.factors, FactorAt: p.factAt, Cur: p.cur, CurMax: p.curMax}
}

// restore takes a saved state of a profile with the same slot and day; one of another
// shape is an error and leaves p as it was.
func (p *profile) restore(s profileState) error {
	if s.Slot != p.slot.String() || s.Day != p.day.String() {
		return fmt.Errorf("profile of %s slots over %s, want %v over %v", s.Slot, s.Day, p.slot, p.day)
	}
	per := int(p.perDay)
	if len(s.Daily) != per || len(s.DailyAt) != per || len(s.Weekly) != 7*per || len(s.WeeklyAt) != 7*per {
		return fmt.Errorf("profile of %d daily and %d weekly slots, want %d and %d", len(s.Daily), len(s.Weekly), per, 7*per)
	}
	for k, f := range s.Factors {
		if len(f) != per || len(s.FactorAt[k]) != per {
			return fmt.Errorf("profile: %q has %d factors, want %d", k, len(f), per)
		}
	}
	p.daily, p.dailyAt, p.weekly, p.weekAt = s.Daily, s.DailyAt, s.Weekly, s.WeeklyAt
	p.factors, p.factAt = map[string][]float64{}, map[string][]int64{}
	for k, f := range s.Factors {
		p.factors[k], p.factAt[k] = f, s.FactorAt[k]
	}
	p.cur, p.curMax = s.Cur, s.CurMax
	return nil
}
