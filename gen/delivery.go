package gen

import "time"

// delivery decides when each row is handed out and holds rows until then. Without disorder,
// late rows or duplicates it is off and rows go out in event-time order, at their event time.
//
// Otherwise a row is due at its event time plus a delay: up to Disorder (small delays more
// likely), or for a LateRate share of rows twice Disorder plus LateMax/10 to LateMax, so that
// rows newer than it by more than Disorder arrive first and it lands behind the bound. A
// DupRate share of rows is delivered twice: the copy is due after the original and, unless
// the original is late, no later than event time plus Disorder. Rows go out in order of due
// time, so a row that is not late arrives at most Disorder behind the latest event time seen
// before it: every row delivered earlier was due no later, hence has an event time at most
// its own plus Disorder.
type delivery struct {
	on       bool
	disorder int64 // ns, whole milliseconds
	lateRate float64
	lateMin  int64 // ns beyond the disorder bound
	lateSpan float64
	dupRate  float64
	r        rng
	held     rowHeap
	order    uint64
}

func newDelivery(cfg Config) *delivery {
	d := &delivery{
		disorder: int64(cfg.Disorder.Truncate(time.Millisecond)),
		lateRate: cfg.LateRate,
		lateMin:  int64(cfg.LateMax / 10),
		lateSpan: float64(cfg.LateMax - cfg.LateMax/10),
		dupRate:  cfg.DupRate,
		r:        newRNG(cfg.Seed, streamDelivery, cfg.Partition),
	}
	d.on = d.disorder > 0 || d.lateRate > 0 || d.dupRate > 0
	return d
}

// schedule sets the due time of r and holds it, with its copy if it is duplicated.
func (d *delivery) schedule(r row) {
	late := d.r.float() < d.lateRate
	if late {
		// Due once every row up to Disorder+lateMin newer than r has been delivered (they are
		// due by then), so r arrives behind the bound whenever such a row exists.
		r.deliver = r.ns + 2*d.disorder + int64(time.Millisecond) + d.lateMin + int64(d.r.float()*d.lateSpan)
	} else {
		u := d.r.float()
		r.deliver = r.ns + int64(u*u*float64(d.disorder))
	}
	r.order = d.order
	d.order++
	d.held.push(r)
	if d.dupRate > 0 && d.r.float() < d.dupRate {
		c := r
		c.dup = true
		c.order = d.order
		d.order++
		if !late {
			c.deliver += int64(d.r.float() * float64(r.ns+d.disorder-r.deliver))
		}
		d.held.push(c)
	}
}

// release pops the next held row if it is due before any row not yet scheduled could be:
// those have event times, hence due times, of at least front.
func (d *delivery) release(front int64, r *row) bool {
	if d.held.len() == 0 || d.held.top().deliver > front {
		return false
	}
	*r = d.held.pop()
	return true
}

// drain pops the next held row regardless of time, once no more rows will be scheduled.
func (d *delivery) drain(r *row) bool {
	if d.held.len() == 0 {
		return false
	}
	*r = d.held.pop()
	return true
}
