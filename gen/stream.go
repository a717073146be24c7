package gen

import (
	"math"

	"millrace/civil"
)

// events produces the rows of one partition in event-time order: normal traffic as a Poisson
// process whose rate follows the curve (sampled once per second of event time), merged with
// the rows of fraud scenarios. It numbers rows as it hands them out, so tx_id order is
// event-time order.
type events struct {
	w       *World
	curve   *Curve
	share   float64 // this partition's share of the curve taken by normal rows
	r       rng
	t       int64   // event time of the next normal row, ns
	frac    float64 // fraction of a nanosecond carried over in t
	segEnd  int64   // end of the second whose rate meanGap holds
	meanGap float64 // ns between normal rows in that second
	end     int64   // event times stop before this
	seq     int64
	part    int
	parts   int
	fraud   *scenarios
}

func newEvents(w *World, curve *Curve, cfg Config, start, end int64) *events {
	e := &events{
		w:     w,
		curve: curve,
		share: (1 - cfg.FraudRate) / float64(cfg.Partitions),
		r:     newRNG(cfg.Seed, streamTraffic, cfg.Partition),
		t:     start,
		end:   end,
		part:  cfg.Partition,
		parts: cfg.Partitions,
	}
	e.fraud = newScenarios(w, cfg, e.normalRate, curve.shapeAt)
	e.fraud.warmUp(start)
	e.enterSecond(start)
	e.advance()
	return e
}

// normalRate is the rate of normal rows at ns, per second.
func (e *events) normalRate(ns int64) float64 { return e.curve.rateAt(ns) * e.share }

// enterSecond makes the rate of the second holding t current.
func (e *events) enterSecond(t int64) {
	sec := civil.FloorDiv(t, nsPerSecond) * nsPerSecond
	e.segEnd = sec + nsPerSecond
	e.meanGap = float64(nsPerSecond) / e.normalRate(sec)
}

// advance moves t to the next normal row. Past the end of a second it restarts the draw at
// the second's boundary with the next second's rate, which is exact for a Poisson process.
func (e *events) advance() {
	for {
		gap := e.r.exp()*e.meanGap + e.frac
		if gap < float64(e.segEnd-e.t) {
			whole := math.Floor(gap)
			e.t += int64(whole)
			e.frac = gap - whole
			return
		}
		e.t, e.frac = e.segEnd, 0
		e.enterSecond(e.t)
	}
}

// peek returns the event time of the next row.
func (e *events) peek() int64 {
	if e.fraud.queue.len() > 0 {
		return min(e.t, e.fraud.queue.top().ns)
	}
	return e.t
}

// next fills r with the next row and reports false when the event time bound is reached.
func (e *events) next(r *row) bool {
	if q := &e.fraud.queue; q.len() > 0 && q.top().ns <= e.t {
		if q.top().ns >= e.end {
			return false
		}
		*r = q.pop()
		r.txn = e.take()
		return true
	}
	if e.t >= e.end {
		return false
	}
	w, rg := e.w, &e.r
	a := w.account(rg.float())
	m := w.merchantFor(a, rg.float(), rg.float())
	*r = row{
		ns:       e.t,
		txn:      e.take(),
		account:  a,
		card:     w.card(a, rg.float()),
		merchant: m,
		channel:  w.channel(m, rg.float()),
		amount:   w.amount(m, rg.float()),
	}
	e.fraud.owe(e.t)
	e.advance()
	return true
}

// take returns the tx_id number of the next row.
func (e *events) take() int64 {
	n := txNumber(e.seq, e.part, e.parts)
	e.seq++
	return n
}
