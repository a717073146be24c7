package gen

import (
	"context"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"millrace/civil"
)

// Generator produces one partition of a stream as record batches. It is not safe for
// concurrent use; partitions are separate Generators.
type Generator struct {
	cfg   Config
	world *World
	curve *Curve
	start time.Time

	ev     *events
	del    *delivery
	evDone bool
	left   int64 // rows still to deliver, -1 without bound

	pending []row // rows pulled from the stream but not handed out yet

	st         Stats
	minNs      int64
	maxNs      int64
	disorderMs int64

	wallStart time.Time // paced mode: the clock's time at start
}

// Stats says what a stream delivered. Fraud, Dups and Late count delivered rows whether or
// not Write later corrupted them; Corrupt counts those it did.
type Stats struct {
	// Rows is the number of rows delivered: records written, duplicates and corrupt ones
	// included.
	Rows int64
	// Fraud is the number of rows with is_fraud=true, and FraudBy splits it by Scenario.
	Fraud   int64
	FraudBy [NumScenarios]int64
	// Dups is the number of second copies delivered.
	Dups int64
	// Late is the number of rows delivered more than Disorder behind the latest event time
	// delivered before them.
	Late int64
	// Corrupt is the number of records Write mangled, and CorruptBy splits it by kind name
	// (see CorruptKinds).
	Corrupt   int64
	CorruptBy map[string]int64
	// First and Last are the earliest and latest event times delivered (zero without rows).
	First, Last time.Time
}

// New validates cfg and returns a generator of its stream, building the world.
func New(cfg Config) (*Generator, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	w, err := NewWorld(cfg)
	if err != nil {
		return nil, err
	}
	return NewWithWorld(cfg, w)
}

// NewWithWorld is New with a world built before by NewWorld for the same seed and sizes, so
// the partitions of a stream share one.
func NewWithWorld(cfg Config, w *World) (*Generator, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if !w.matches(cfg) {
		return nil, fmt.Errorf("gen: world of seed %d with %d accounts and %d merchants does not match the config's seed %d, %d accounts, %d merchants",
			w.seed, w.accounts, w.merchants, cfg.Seed, cfg.Accounts, cfg.Merchants)
	}
	cfg = cfg.withDefaults()
	g := &Generator{cfg: cfg, world: w, left: cfg.rowsShare(), minNs: math.MaxInt64, maxNs: math.MinInt64}
	g.start = cfg.Start
	if cfg.Speed > 0 {
		g.wallStart = cfg.Clock.Now()
		if g.start.IsZero() {
			g.start = g.wallStart.Truncate(time.Millisecond)
		}
	}
	if g.start.IsZero() {
		g.start = DefaultStart
	}
	g.start = g.start.UTC()
	cfg.Start = g.start
	curve, err := NewCurve(cfg)
	if err != nil {
		return nil, err
	}
	g.curve = curve
	startNs, endNs := g.start.UnixNano(), int64(math.MaxInt64)
	if cfg.Duration > 0 {
		endNs = g.start.Add(cfg.Duration).UnixNano()
	}
	g.ev = newEvents(w, curve, cfg, startNs, endNs)
	g.del = newDelivery(cfg)
	g.disorderMs = g.del.disorder / int64(time.Millisecond)
	return g, nil
}

// World returns the world the generator draws from.
func (g *Generator) World() *World { return g.world }

// Curve returns the rate curve of the whole stream (all partitions) as this generator places
// it in time.
func (g *Generator) Curve() *Curve { return g.curve }

// Start returns the event time the stream starts at.
func (g *Generator) Start() time.Time { return g.start }

// Stats returns what the generator has handed out so far.
func (g *Generator) Stats() Stats {
	st := g.st
	if st.Rows > 0 {
		ms := int64(time.Millisecond)
		st.First, st.Last = time.UnixMilli(civil.FloorDiv(g.minNs, ms)).UTC(), time.UnixMilli(civil.FloorDiv(g.maxNs, ms)).UTC()
	}
	return st
}

// Next returns a batch of at most maxRows rows, which the caller releases, or io.EOF after
// the last row. Fast mode returns full batches as quickly as it can build them and checks ctx
// only between batches. Paced mode waits on the clock until the first row is due, then up to
// Linger longer for the batch to fill, and returns the rows due by then; it returns ctx's error
// if ctx ends first. mem allocates the batch (memory.DefaultAllocator when nil).
func (g *Generator) Next(ctx context.Context, mem memory.Allocator, maxRows int) (arrow.RecordBatch, error) {
	if maxRows <= 0 {
		return nil, fmt.Errorf("gen: Next: maxRows must be positive, got %d", maxRows)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if mem == nil {
		mem = memory.DefaultAllocator
	}
	if g.cfg.Speed > 0 {
		return g.nextPaced(ctx, mem, maxRows)
	}
	g.fill(maxRows)
	if len(g.pending) == 0 {
		return nil, io.EOF
	}
	rec := g.emit(mem, len(g.pending))
	return rec, nil
}

// fill pulls rows from the stream until n are pending and reports whether the stream ended
// first.
func (g *Generator) fill(n int) (ended bool) {
	if cap(g.pending) < n {
		p := make([]row, len(g.pending), max(n, 2*cap(g.pending)))
		copy(p, g.pending)
		g.pending = p
	}
	for len(g.pending) < n {
		if g.left == 0 {
			return true
		}
		g.pending = g.pending[:len(g.pending)+1]
		if !g.pull(&g.pending[len(g.pending)-1]) {
			g.pending = g.pending[:len(g.pending)-1]
			return true
		}
		if g.left > 0 {
			g.left--
		}
	}
	return false
}

// pull fills r with the next row in delivery order and reports false at the stream's end.
func (g *Generator) pull(r *row) bool {
	if !g.del.on {
		if !g.ev.next(r) {
			return false
		}
		r.deliver = r.ns
		return true
	}
	for {
		if g.evDone {
			return g.del.drain(r)
		}
		if g.del.release(g.ev.peek(), r) {
			return true
		}
		var e row
		if !g.ev.next(&e) {
			g.evDone = true
			continue
		}
		g.del.schedule(e)
	}
}

// skipChunk is how many rows Skip draws at a time.
const skipChunk = 4096

// Skip delivers the next n rows without building them, as if Next had returned them and the
// caller had dropped them: Stats count them, and Next goes on with the row after them. It
// returns the number of rows skipped, fewer than n when the stream ends first. A stream is
// one sequence of random draws, so Skip still draws every row it skips; it only saves building
// them into batches, which is most of what Next costs.
//
// In paced mode Skip does not wait for the clock. It moves the clock's anchor instead, so the
// stream goes on as if it had paused after the last row skipped: that row counts as due now,
// and the rows after it come due as far after now as their delivery times are after its. So
// resuming a paced stream continues its event time where it stood; it does not catch up with
// the time the stream was stopped.
func (g *Generator) Skip(n int64) int64 {
	var skipped int64
	var last int64
	for skipped < n {
		k := int(min(n-skipped, skipChunk))
		g.fill(k)
		k = min(k, len(g.pending))
		if k == 0 {
			break
		}
		last = g.pending[k-1].deliver
		g.count(g.pending[:k])
		rest := copy(g.pending, g.pending[k:])
		g.pending = g.pending[:rest]
		skipped += int64(k)
	}
	if g.cfg.Speed > 0 && skipped > 0 {
		behind := time.Duration(float64(last-g.start.UnixNano()) / g.cfg.Speed)
		g.wallStart = g.cfg.Clock.Now().Add(-behind)
	}
	return skipped
}

// emit builds a batch of the first n pending rows, counts them and drops them from pending.
func (g *Generator) emit(mem memory.Allocator, n int) arrow.RecordBatch {
	rows := g.pending[:n]
	rec := g.world.build(mem, rows)
	if g.cfg.ScenarioColumn {
		rec = withScenario(mem, rec, rows)
	}
	g.count(rows)
	rest := copy(g.pending, g.pending[n:])
	g.pending = g.pending[:rest]
	return rec
}

// count adds delivered rows to the stats.
func (g *Generator) count(rows []row) {
	st := &g.st
	st.Rows += int64(len(rows))
	for i := range rows {
		r := &rows[i]
		if r.scenario != 0 {
			st.Fraud++
			st.FraudBy[r.scenario-1]++
		}
		if r.dup {
			st.Dups++
		}
		ms := civil.FloorDiv(r.ns, int64(time.Millisecond))
		if r.ns < g.minNs {
			g.minNs = r.ns
		}
		if g.maxNs != math.MinInt64 && ms < civil.FloorDiv(g.maxNs, int64(time.Millisecond))-g.disorderMs {
			st.Late++
		}
		if r.ns > g.maxNs {
			g.maxNs = r.ns
		}
	}
}
