package natsjs

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"millrace/format"
	"millrace/source"
)

// Start says where a partition without a checkpointed position begins.
type Start struct {
	// Latest starts after the last message the stream holds when the reader opens.
	Latest bool
	// Time, when set, starts at the first message stored at or after it.
	Time time.Time
}

// String is the start as the spec writes it: earliest, latest or an RFC 3339 time.
func (s Start) String() string {
	switch {
	case s.Latest:
		return "latest"
	case !s.Time.IsZero():
		return s.Time.UTC().Format(time.RFC3339Nano)
	}
	return "earliest"
}

// ParseStart parses earliest, latest or an RFC 3339 time.
func ParseStart(s string) (Start, error) {
	switch s {
	case "", "earliest":
		return Start{}, nil
	case "latest":
		return Start{Latest: true}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return Start{}, fmt.Errorf("start %q: want earliest, latest or an RFC 3339 time", s)
	}
	return Start{Time: t}, nil
}

// SourceConfig configures a JetStream source.
type SourceConfig struct {
	Conn Conn
	// Stream is the stream to read.
	Stream string
	// Subject filters the stream's messages (empty: all of them). With Partitions, the
	// partitions are the subjects Subject.0 .. Subject.N-1.
	Subject string
	// Partitions, when positive, splits the stream into that many partition subjects.
	Partitions int
	// Durable is the name of the durable consumer (with -P appended for partition P when
	// the stream is split) that the source reads through and acknowledges to.
	Durable string
	// Start is where a partition without a checkpointed position begins.
	Start Start
	// Format is how message values are decoded: jsonl (one JSON object) or csv (one line,
	// the columns in the schema's order).
	Format format.Kind
	// Schema is the schema of the rows.
	Schema *arrow.Schema
	// Zone is the time zone of timestamps written without an offset (nil: UTC).
	Zone *time.Location
	// BatchRows is the most messages one Read decodes (default 8192).
	BatchRows int
	// Poll is how long Read waits for a first message before it returns nothing (default
	// 100ms), so the engine's idle tracking goes on.
	Poll time.Duration
	// AckWait is how long the server waits for an acknowledgement before it delivers a
	// message again (default 10m). Acknowledgements come after durable checkpoints, so it
	// should exceed the checkpoint interval; a message delivered again is dropped and
	// counted (see Source.Redelivered).
	AckWait time.Duration
}

func (c SourceConfig) withDefaults() SourceConfig {
	if c.Format == "" {
		c.Format = format.JSONL
	}
	if c.BatchRows <= 0 {
		c.BatchRows = 8192
	}
	if c.Poll <= 0 {
		c.Poll = 100 * time.Millisecond
	}
	if c.AckWait <= 0 {
		c.AckWait = 10 * time.Minute
	}
	return c
}

// Source reads a JetStream stream, each of its partition subjects (or the whole stream) a
// partition, through one durable pull consumer per partition. It is unbounded and
// resumable: a reader's Checkpoint is the stream sequence of its next message, and Open
// resets the durable consumer to deliver from there, whatever the consumer had delivered
// or acknowledged before. Committed acknowledges, to the durable consumer, everything
// before the checkpoint's sequence.
type Source struct {
	cfg         SourceConfig
	mu          sync.Mutex
	readers     map[int]*reader
	redelivered atomic.Int64
}

var _ source.Source = (*Source)(nil)

// NewSource checks cfg and returns a source; it connects to the server only when a
// partition is opened.
func NewSource(cfg SourceConfig) (*Source, error) {
	cfg = cfg.withDefaults()
	switch {
	case cfg.Stream == "":
		return nil, errors.New("nats source: no stream")
	case cfg.Durable == "":
		return nil, fmt.Errorf("nats source of stream %s: no durable consumer name", cfg.Stream)
	case cfg.Schema == nil:
		return nil, fmt.Errorf("nats source of stream %s: no schema", cfg.Stream)
	case cfg.Partitions > 0 && cfg.Subject == "":
		return nil, fmt.Errorf("nats source of stream %s: %d partitions need a subject to number", cfg.Stream, cfg.Partitions)
	case cfg.Partitions < 0:
		return nil, fmt.Errorf("nats source of stream %s: %d partitions", cfg.Stream, cfg.Partitions)
	}
	if _, err := newDecoder(cfg.Stream, cfg.Format, cfg.Schema, cfg.Zone); err != nil {
		return nil, err
	}
	return &Source{cfg: cfg, readers: map[int]*reader{}}, nil
}

// Schema is the schema of the rows.
func (s *Source) Schema() *arrow.Schema { return s.cfg.Schema }

// Partitions is the number of partition subjects, or 1 for an unsplit stream.
func (s *Source) Partitions() int { return max(s.cfg.Partitions, 1) }

// Capabilities says a stream never ends, its readers resume and know their lag.
func (s *Source) Capabilities() source.Capabilities {
	return source.Capabilities{Bounded: false, Resumable: true, Lag: true}
}

// Size is 0: a stream's size is not known in advance.
func (s *Source) Size(int) int64 { return 0 }

// Redelivered is how many messages the server delivered again to this source's readers
// (their acknowledgement came later than AckWait) and the readers dropped, having read
// them already.
func (s *Source) Redelivered() int64 { return s.redelivered.Load() }

// subject is the subject filter of partition p.
func (s *Source) subject(p int) string {
	if s.cfg.Partitions > 0 {
		return s.cfg.Subject + "." + strconv.Itoa(p)
	}
	return s.cfg.Subject
}

// durable is the name of partition p's durable consumer.
func (s *Source) durable(p int) string {
	if s.cfg.Partitions > 0 {
		return s.cfg.Durable + "-" + strconv.Itoa(p)
	}
	return s.cfg.Durable
}

// where names partition p in errors.
func (s *Source) where(p int) string {
	w := "nats stream " + s.cfg.Stream
	if sub := s.subject(p); sub != "" {
		w += " subject " + sub
	}
	return w
}

// Open connects, makes sure partition p's durable consumer exists, and resets it to
// deliver from pos's stream sequence, or from the configured start when pos is nil. A
// position before the stream's first sequence is an error: the messages between were
// deleted (by the stream's limits, or acknowledged on a work-queue or interest stream)
// and cannot be read.
func (s *Source) Open(ctx context.Context, p int, pos []byte) (source.PartitionReader, error) {
	if p < 0 || p >= s.Partitions() {
		return nil, fmt.Errorf("nats source of stream %s: no partition %d (it has %d)", s.cfg.Stream, p, s.Partitions())
	}
	subject := s.subject(p)
	var from uint64
	if pos != nil {
		at, err := decodePosition(pos, s.cfg.Stream, subject)
		if err != nil {
			return nil, fmt.Errorf("%s: resume: %w", s.where(p), err)
		}
		from = at.Seq
	}
	conn := s.cfg.Conn
	if conn.Name == "" {
		conn.Name = "millrace " + s.durable(p)
	}
	reconnected := new(atomic.Bool)
	nc, err := conn.connect(nats.ReconnectHandler(func(*nats.Conn) { reconnected.Store(true) }))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.where(p), err)
	}
	r, err := s.open(ctx, p, nc, from)
	if err != nil {
		nc.Close()
		return nil, err
	}
	r.reconnected = reconnected
	s.mu.Lock()
	s.readers[p] = r
	s.mu.Unlock()
	return r, nil
}

func (s *Source) open(ctx context.Context, p int, nc *nats.Conn, from uint64) (*reader, error) {
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.where(p), err)
	}
	st, err := js.Stream(ctx, s.cfg.Stream)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.where(p), err)
	}
	state := st.CachedInfo().State
	subject := s.subject(p)
	switch {
	case from == 0:
		if from, err = s.startSeq(ctx, st, subject, state); err != nil {
			return nil, fmt.Errorf("%s: start %s: %w", s.where(p), s.cfg.Start, err)
		}
	case from < state.FirstSeq:
		return nil, fmt.Errorf("%s: the checkpoint resumes at sequence %d, but the stream begins at %d: messages %d..%d were deleted before they were read (stream limits, or acknowledged on a work-queue or interest stream); start afresh to read from the stream's beginning",
			s.where(p), from, state.FirstSeq, from, state.FirstSeq-1)
	}
	// A work-queue stream takes only acknowledgements message by message.
	explicit := st.CachedInfo().Config.Retention == jetstream.WorkQueuePolicy
	ackPolicy := jetstream.AckAllPolicy
	if explicit {
		ackPolicy = jetstream.AckExplicitPolicy
	}
	if _, err := st.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{
		Durable:       s.durable(p),
		Description:   "millrace source: acknowledged up to its last durable checkpoint",
		FilterSubject: subject,
		DeliverPolicy: jetstream.DeliverAllPolicy,
		AckPolicy:     ackPolicy,
		AckWait:       s.cfg.AckWait,
		MaxAckPending: -1,
		MaxDeliver:    -1,
	}); err != nil {
		return nil, fmt.Errorf("%s: durable consumer %s: %w", s.where(p), s.durable(p), err)
	}
	dec, err := newDecoder(s.cfg.Stream, s.cfg.Format, s.cfg.Schema, s.cfg.Zone)
	if err != nil {
		return nil, err
	}
	pull, err := s.restart(ctx, st, nc, p, from)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.where(p), err)
	}
	name := s.cfg.Stream
	if subject != "" {
		name += "/" + subject
	}
	return &reader{src: s, p: p, nc: nc, st: st, pull: pull, dec: dec, next: from, floor: from,
		name: name, subject: subject, explicit: explicit}, nil
}

// restart resets partition p's durable consumer to deliver from sequence seq and pulls it
// afresh. No pull request of an earlier puller may be open at the server by then (see
// puller.stop): the server would serve it what the reset makes due, and those messages
// would come again only after AckWait.
func (s *Source) restart(ctx context.Context, st jetstream.Stream, nc *nats.Conn, p int, seq uint64) (*puller, error) {
	if _, err := st.ResetConsumerToSequence(ctx, s.durable(p), seq); err != nil {
		return nil, fmt.Errorf("reset durable consumer %s to sequence %d: %w", s.durable(p), seq, err)
	}
	pull, err := newPuller(nc, s.cfg.Stream, s.durable(p), s.cfg.BatchRows, s.cfg.Poll)
	if err != nil {
		return nil, fmt.Errorf("durable consumer %s: %w", s.durable(p), err)
	}
	return pull, nil
}

// startSeq is the stream sequence the configured start names.
func (s *Source) startSeq(ctx context.Context, st jetstream.Stream, subject string, state jetstream.StreamState) (uint64, error) {
	switch {
	case s.cfg.Start.Latest:
		return state.LastSeq + 1, nil
	case s.cfg.Start.Time.IsZero():
		return max(state.FirstSeq, 1), nil
	}
	// The server finds the first sequence at or after a time for a consumer starting there.
	t := s.cfg.Start.Time
	c, err := st.CreateConsumer(ctx, jetstream.ConsumerConfig{
		FilterSubject:     subject,
		DeliverPolicy:     jetstream.DeliverByStartTimePolicy,
		OptStartTime:      &t,
		AckPolicy:         jetstream.AckNonePolicy,
		InactiveThreshold: time.Minute,
	})
	if err != nil {
		return 0, err
	}
	seq := c.CachedInfo().Delivered.Stream + 1
	if err := st.DeleteConsumer(ctx, c.CachedInfo().Name); err != nil {
		return 0, err
	}
	return seq, nil
}

// Committed acknowledges, for each partition, every message before its position's
// sequence to the partition's durable consumer, and waits for the server to confirm. A
// partition whose reader is not open here is skipped: its next reader's Open resets the
// consumer to its checkpoint anyway.
func (s *Source) Committed(ctx context.Context, checkpoint uint64, positions map[int][]byte) error {
	var errs []error
	for p, pos := range positions {
		at, err := decodePosition(pos, s.cfg.Stream, s.subject(p))
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: checkpoint %d: %w", s.where(p), checkpoint, err))
			continue
		}
		s.mu.Lock()
		r := s.readers[p]
		s.mu.Unlock()
		if r == nil {
			continue
		}
		if err := r.ack(ctx, at.Seq); err != nil {
			errs = append(errs, fmt.Errorf("%s: checkpoint %d: acknowledge before sequence %d: %w", s.where(p), checkpoint, at.Seq, err))
		}
	}
	return errors.Join(errs...)
}

// closed forgets r, which is closing.
func (s *Source) closed(r *reader) {
	s.mu.Lock()
	if s.readers[r.p] == r {
		delete(s.readers, r.p)
	}
	s.mu.Unlock()
}
