package gen

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// DefaultStart is the event time of the first row when Config.Start is zero in fast mode:
// midnight UTC at the start of a Monday, so a day's generated traffic begins in the night lull.
var DefaultStart = time.Date(2024, time.January, 1, 0, 0, 0, 0, time.UTC)

// Config says what to generate. The same Config (Clock aside) always produces the same rows in
// the same order; paced mode only decides when they are handed out.
type Config struct {
	// Seed selects the stream. Different seeds give different worlds and traffic.
	Seed int64

	// Rows bounds the rows delivered by the whole stream, duplicates and rows later corrupted
	// included; with several partitions each delivers its share. Zero means no bound.
	Rows int64
	// Duration bounds event time to [Start, Start+Duration): generation stops there and the
	// rows still held back by disorder are delivered. Zero means no bound. With neither Rows
	// nor Duration the stream never ends.
	Duration time.Duration
	// Start is the event time the stream begins at. Zero means DefaultStart in fast mode and
	// the clock's now in paced mode.
	Start time.Time

	// Rate is the mean number of records per second of event time over a week, all partitions
	// together.
	Rate float64
	// Flat drops the daily and weekly pattern: the rate is Rate at all times, surges aside.
	Flat bool
	// Surges multiply the rate for a while (see ParseSurges).
	Surges []Surge

	// Accounts and Merchants size the world. Each account holds one to three cards.
	Accounts  int
	Merchants int

	// FraudRate is the fraction of rows that belong to a fraud scenario and carry
	// is_fraud=true (0 to 0.5).
	FraudRate float64

	// Disorder is how far out of event-time order rows are delivered: a row arrives at most
	// Disorder after any row with a later event time arrived. It is used at millisecond
	// precision.
	Disorder time.Duration
	// LateRate is the fraction of rows delivered later than the Disorder bound allows.
	LateRate float64
	// LateMax is how far behind the Disorder bound a late row may arrive (default 5m): a late
	// row is due LateMax/10 to LateMax after its event time plus twice Disorder.
	LateMax time.Duration
	// DupRate is the fraction of rows delivered a second time, identical, shortly after the
	// first copy and within the Disorder bound.
	DupRate float64
	// ScenarioColumn adds a column fraud_scenario to every batch (see Schema): the name of
	// the fraud Scenario a row belongs to, null for normal traffic. It changes no other column
	// and no row.
	ScenarioColumn bool
	// CorruptRate is the fraction of records Write mangles so that a decoder must refuse
	// them. Only text formats (jsonl, csv) can carry corrupt records.
	CorruptRate float64

	// Partition and Partitions split the stream into independent deterministic streams, each
	// of Rate/Partitions, whose tx_ids never collide. Partitions zero means 1.
	Partition  int
	Partitions int

	// Speed selects paced mode when positive: rows are handed out when the clock reaches their
	// delivery time, with event time running Speed times faster than the clock (60 = one hour
	// of event time per minute). Zero means fast mode: rows as fast as they can be built.
	Speed float64
	// Linger is how long a paced Next waits, once a row is due, for more rows to fill the
	// batch (default 10ms of clock time).
	Linger time.Duration
	// Clock drives paced mode; nil means the system clock.
	Clock Clock
}

// DefaultConfig returns a one-million-row stream of 1,000 records per second over 100,000
// accounts and 20,000 merchants, with 0.2% fraud and no disorder, duplicates or corruption.
func DefaultConfig() Config {
	return Config{
		Seed:       1,
		Rows:       1_000_000,
		Rate:       1000,
		Accounts:   100_000,
		Merchants:  20_000,
		FraudRate:  0.002,
		LateMax:    5 * time.Minute,
		Partitions: 1,
		Linger:     10 * time.Millisecond,
	}
}

// maxEntities bounds the world size so identifiers fit the int32 indexes used internally.
const maxEntities = 50_000_000

// withDefaults fills the zero values that have a sensible meaning.
func (c Config) withDefaults() Config {
	if c.Partitions == 0 {
		c.Partitions = 1
	}
	if c.LateMax == 0 {
		c.LateMax = 5 * time.Minute
	}
	if c.Linger == 0 {
		c.Linger = 10 * time.Millisecond
	}
	if c.Clock == nil {
		c.Clock = SystemClock()
	}
	return c
}

// Validate reports every setting that cannot work, each naming the field and the value.
func (c Config) Validate() error {
	c = c.withDefaults()
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	fraction := func(name string, v, hi float64) {
		if math.IsNaN(v) || v < 0 || v > hi {
			bad("%s must be between 0 and %g, got %g", name, hi, v)
		}
	}
	if c.Rows < 0 {
		bad("Rows must not be negative, got %d", c.Rows)
	}
	if c.Duration < 0 {
		bad("Duration must not be negative, got %s", c.Duration)
	}
	if math.IsNaN(c.Rate) || math.IsInf(c.Rate, 0) || c.Rate <= 0 {
		bad("Rate must be a positive number of records per second, got %g", c.Rate)
	}
	if c.Accounts < 1 || c.Accounts > maxEntities {
		bad("Accounts must be between 1 and %d, got %d", maxEntities, c.Accounts)
	}
	if c.Merchants < 1 || c.Merchants > maxEntities {
		bad("Merchants must be between 1 and %d, got %d", maxEntities, c.Merchants)
	}
	fraction("FraudRate", c.FraudRate, 0.5)
	fraction("LateRate", c.LateRate, 1)
	fraction("DupRate", c.DupRate, 1)
	fraction("CorruptRate", c.CorruptRate, 1)
	if c.Disorder < 0 {
		bad("Disorder must not be negative, got %s", c.Disorder)
	}
	if c.LateMax < time.Millisecond {
		bad("LateMax must be at least 1ms, got %s", c.LateMax)
	}
	if c.Partitions < 1 {
		bad("Partitions must be at least 1, got %d", c.Partitions)
	} else if c.Partition < 0 || c.Partition >= c.Partitions {
		bad("Partition must be in [0, %d), got %d", c.Partitions, c.Partition)
	}
	if math.IsNaN(c.Speed) || math.IsInf(c.Speed, 0) || c.Speed < 0 {
		bad("Speed must be 0 (fast) or a positive time factor, got %g", c.Speed)
	}
	if c.Linger < 0 {
		bad("Linger must not be negative, got %s", c.Linger)
	}
	for i, s := range c.Surges {
		if err := s.validate(); err != nil {
			bad("Surges[%d] %s: %w", i, s, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("gen: invalid config: %w", err)
	}
	return nil
}

// rowsShare is how many of the stream's Rows this partition delivers; -1 means no bound.
func (c Config) rowsShare() int64 {
	if c.Rows == 0 {
		return -1
	}
	p := int64(c.Partitions)
	n := c.Rows / p
	if int64(c.Partition) < c.Rows%p {
		n++
	}
	return n
}
