package fleet

import (
	"fmt"
	"time"

	"millrace/scale"
)

// Limits bound what Target asks for.
type Limits struct {
	// Min and Max bound the number of workers.
	Min, Max int
	// Cooldown is the least time between the end of one change and the start of the next.
	Cooldown time.Duration
}

// Validate reports limits that make no sense.
func (l Limits) Validate() error {
	switch {
	case l.Min < 1 || l.Max < l.Min:
		return fmt.Errorf("fleet: workers between %d and %d: want 1 <= min <= max", l.Min, l.Max)
	case l.Cooldown < 0:
		return fmt.Errorf("fleet: cool-down %v must not be negative", l.Cooldown)
	}
	return nil
}

// Target returns how many workers to run at now, with why, when running workers run since
// their last change ended at changed, and adv (when ok) is the cluster's newest advice. It
// keeps running (and says why not in stay) unless the advice, made after the last change
// from the figures of as many workers as run, asks for another count within lim and the
// cool-down has passed; a count outside lim is brought within it at once.
func Target(running int, changed time.Time, adv scale.Advice, ok bool, lim Limits, now time.Time) (n int, why, stay string) {
	switch {
	case running < lim.Min:
		return lim.Min, fmt.Sprintf("at least %d workers (--min)", lim.Min), ""
	case running > lim.Max:
		return lim.Max, fmt.Sprintf("at most %d workers (--max)", lim.Max), ""
	case !ok:
		return running, "", "no advice yet"
	case !adv.At.After(changed):
		return running, "", "the newest advice is about the workers before the last change"
	case adv.Workers != running:
		return running, "", fmt.Sprintf("the newest advice saw %d workers of the %d running", adv.Workers, running)
	}
	want := min(max(adv.DesiredWorkers, lim.Min), lim.Max)
	switch {
	case want == running:
		return running, "", "the advice asks for as many workers as run"
	case now.Sub(changed) < lim.Cooldown:
		return running, "", fmt.Sprintf("cooling down until %s after the last change", changed.Add(lim.Cooldown).Format(time.TimeOnly))
	}
	why = adv.Reason
	if want != adv.DesiredWorkers {
		why = fmt.Sprintf("%s (the advice asks for %d; bounded by --min %d and --max %d)", adv.Reason, adv.DesiredWorkers, lim.Min, lim.Max)
	}
	return want, why, ""
}
