package kafka

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/twmb/franz-go/pkg/kgo"

	"millrace/op"
)

// Delivery is what a Sink promises about each row it receives.
type Delivery string

const (
	// ExactlyOnce produces each checkpoint's rows in one Kafka transaction once the
	// checkpoint is durable: a read_committed consumer sees every row once, at the commit of
	// the checkpoint that took it, even across crashes.
	ExactlyOnce Delivery = "exactly_once"
	// AtLeastOnce produces rows as they arrive and waits at every checkpoint until the
	// brokers have them: after a crash, the rows since the last checkpoint come again.
	AtLeastOnce Delivery = "at_least_once"
	// NoGuarantee produces rows as they arrive without waiting for the brokers: fire and
	// forget.
	NoGuarantee Delivery = "none"
)

// Deliveries lists the delivery modes, the default first.
var Deliveries = []Delivery{ExactlyOnce, AtLeastOnce, NoGuarantee}

// Commit is when an exactly-once Sink makes its rows visible.
type Commit string

const (
	// CommitCheckpoint produces a checkpoint's rows in one transaction once the checkpoint
	// is durable: they become visible a checkpoint interval or so after they arrive.
	CommitCheckpoint Commit = "checkpoint"
	// CommitBatch produces each batch in a transaction of its own as it arrives, so rows are
	// visible within milliseconds, and makes a replay after a crash drop what it had already
	// committed (see the file sink_batch.go).
	CommitBatch Commit = "batch"
)

// Commits lists the commit modes, the default first.
var Commits = []Commit{CommitCheckpoint, CommitBatch}

// SinkOptions says where and how a Sink produces.
type SinkOptions struct {
	// Conn says how to reach the cluster.
	Conn Conn
	// Topic receives the records; it must exist (see EnsureTopic).
	Topic string
	// Delivery is ExactlyOnce when empty.
	Delivery Delivery
	// Commit is CommitCheckpoint when empty; CommitBatch needs ExactlyOnce and no Outbox.
	Commit Commit
	// Key computes each record's key; nil gives records without keys.
	Key Eval
	// Headers compute each record's headers.
	Headers []Header
	// Registry, when set, makes values Avro records instead of JSON objects: the schema
	// derived from the rows' (see AvroSchema) is registered with the schema registry at this
	// URL (several separated by commas) under the subject TOPIC-value, and each value carries
	// its id.
	Registry string
	// ID names the sink among everything that produces to the brokers, by convention
	// millrace.PIPELINE.SINK. With ExactlyOnce, subtask S produces with the transactional id
	// ID.S and records the batches it committed as the offset of partition 0 of Topic in the
	// consumer group ID.S.
	ID string
	// Timeout bounds every call that waits for the brokers (default 2 minutes): a broker away
	// for longer fails the run, which resumes from its last checkpoint.
	Timeout time.Duration
	// Upsert, when set, makes the sink write a changelog as a table by key (see Upsert); it
	// takes no Key and no Registry.
	Upsert *Upsert
	// Outbox, when set, makes the sink produce nothing itself: at each checkpoint it hands
	// the records received since the last one to Outbox, whose caller produces them in its
	// own transaction (a cluster worker commits them with its input offsets). Delivery is
	// then that caller's. Outbox is called from the goroutine of the sink's subtask.
	Outbox func(checkpoint uint64, subtask int, records []*kgo.Record)
}

// Sink is a sink operator producing one record per row to a Kafka topic: the key and
// headers from expressions, the value a JSON object. With ExactlyOnce and checkpoints it is
// an op.Committer whose Snapshot keeps the rows received since the last one in its state,
// so that they are durable with the checkpoint, and whose Commit produces them in a
// transaction that also commits a marker naming them; Restore asks the brokers for the
// marker and produces again what a durable checkpoint took and no transaction committed.
// Without checkpoints, and with the other deliveries, it produces rows as they arrive.
type Sink struct {
	op.Base
	opts SinkOptions
	enc  *encoder
	sub  int
	ckpt bool // exactly once: records wait for the commit of their checkpoint

	ctx    context.Context
	cancel context.CancelFunc
	cl     *kgo.Client

	// Produced as rows arrive: the first error a produce reported, and at least once the
	// acknowledgements a checkpoint waits for.
	mu     sync.Mutex
	failed error
	acks   acks

	// Exactly once: the records since the last Snapshot, and the batches taken by snapshots
	// and not yet committed, with the run and batch numbers that name them.
	buf   []*kgo.Record
	state sinkState

	// Commit per batch: what the subtasks of the sink share, and this subtask's part.
	shared  *batchShared
	batch   batchState
	commits *committer
	par     int // the subtasks of the sink
}

// NewSinkFactory checks opts once and returns what makes the sink of each subtask for rows
// of schema s. With Avro values it registers their schema first, within ctx.
func NewSinkFactory(ctx context.Context, s *arrow.Schema, opts SinkOptions) (func() *Sink, error) {
	if opts.Delivery == "" {
		opts.Delivery = ExactlyOnce
	}
	switch opts.Delivery {
	case ExactlyOnce, AtLeastOnce, NoGuarantee:
	default:
		return nil, fmt.Errorf("kafka sink %s: delivery %q: want %s, %s or %s", opts.Topic, opts.Delivery, ExactlyOnce, AtLeastOnce, NoGuarantee)
	}
	if opts.Topic == "" {
		return nil, fmt.Errorf("kafka sink: a topic is required")
	}
	if err := opts.Conn.Validate(); err != nil {
		return nil, fmt.Errorf("kafka sink %s: %w", opts.Topic, err)
	}
	if opts.Commit == "" {
		opts.Commit = CommitCheckpoint
	}
	switch {
	case opts.Commit != CommitCheckpoint && opts.Commit != CommitBatch:
		return nil, fmt.Errorf("kafka sink %s: commit %q: want %s or %s", opts.Topic, opts.Commit, CommitCheckpoint, CommitBatch)
	case opts.Commit == CommitBatch && opts.Delivery != ExactlyOnce:
		return nil, fmt.Errorf("kafka sink %s: commit %s is for delivery %s; %s produces rows as they arrive already", opts.Topic, opts.Commit, ExactlyOnce, opts.Delivery)
	case opts.Commit == CommitBatch && opts.Outbox != nil:
		return nil, fmt.Errorf("kafka sink %s: commit %s does not apply in a cluster, whose workers commit a sink's rows with the input offsets they come from", opts.Topic, opts.Commit)
	}
	if opts.Delivery == ExactlyOnce && opts.ID == "" && opts.Outbox == nil {
		return nil, fmt.Errorf("kafka sink %s: exactly once needs an id for its transactions", opts.Topic)
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 2 * time.Minute
	}
	enc, err := newEncoder(s, opts.Topic, opts.Key, opts.Headers)
	if err != nil {
		return nil, err
	}
	if opts.Upsert != nil {
		if opts.Key != nil || opts.Registry != "" {
			return nil, fmt.Errorf("kafka sink %s: upsert keys records by the changelog's key columns and writes JSON values: it takes no key and no registry", opts.Topic)
		}
		if enc.upsert, err = newUpsertEncoder(s, opts.Topic, *opts.Upsert); err != nil {
			return nil, err
		}
	}
	if opts.Registry != "" {
		if enc.avro, err = newAvroValues(ctx, s, opts.Registry, opts.Topic); err != nil {
			return nil, fmt.Errorf("kafka sink %s: %w", opts.Topic, err)
		}
	}
	var shared *batchShared
	if opts.Commit == CommitBatch {
		shared = newBatchShared()
	}
	return func() *Sink { return &Sink{opts: opts, enc: enc, shared: shared} }, nil
}

// Open connects to the brokers. An exactly-once subtask of a run with checkpoints takes its
// transactional id at once, which fences any producer still holding it and aborts the
// transaction a crashed run left open.
func (s *Sink) Open(ctx op.Context) error {
	s.sub = ctx.Subtask
	if s.opts.Outbox != nil {
		return nil
	}
	s.ckpt = ctx.Checkpointing && s.opts.Delivery == ExactlyOnce
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.state.subtask = s.sub
	var err error
	if s.ckpt {
		s.cl, err = s.transactional(s.sub)
		if err == nil {
			err = s.fence(s.cl, s.sub)
		}
		s.state.run = newRun()
		if err == nil && s.shared != nil {
			s.batch.on, s.par = true, ctx.Parallelism
			s.state.run = s.shared.run
			s.commits = newCommitter(s.produceNow)
			err = s.register(ctx.Parallelism)
		}
		return err
	}
	opts, err := s.opts.Conn.Opts()
	if err != nil {
		return fmt.Errorf("kafka sink %s: %w", s.opts.Topic, err)
	}
	// A record goes out as soon as the client can send it, not after franz-go's default
	// linger of 10 ms: what comes while a request is in flight still goes in the next one.
	opts = append(opts, kgo.DefaultProduceTopic(s.opts.Topic), kgo.ProducerLinger(0))
	if s.opts.Delivery == NoGuarantee {
		opts = append(opts, kgo.RequiredAcks(kgo.NoAck()), kgo.DisableIdempotentWrite())
	}
	if s.cl, err = kgo.NewClient(opts...); err != nil {
		return fmt.Errorf("kafka sink %s: %w", s.opts.Topic, err)
	}
	return nil
}

// newRun names a fresh run, so that the markers it commits are not taken for those of an
// earlier run of the same pipeline.
func newRun() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return hex.EncodeToString(b)
}

// call is a context for one call that waits for the brokers.
func (s *Sink) call() (context.Context, context.CancelFunc) {
	return context.WithTimeout(s.ctx, s.opts.Timeout)
}

// Process encodes the rows of rec and, unless they wait for a checkpoint's commit, produces
// them.
func (s *Sink) Process(_ int, rec arrow.RecordBatch, _ op.Collector) error {
	defer rec.Release()
	if s.batch.on {
		recs, err := s.enc.records(nil, rec)
		if err != nil {
			return err
		}
		recs = s.labelled(recs)
		if !s.batch.live {
			s.buf = append(s.buf, recs...)
			return nil
		}
		if recs = s.unpublished(recs); len(recs) == 0 {
			return nil
		}
		return s.commits.add(recs)
	}
	if s.ckpt || s.opts.Outbox != nil {
		var err error
		s.buf, err = s.enc.records(s.buf, rec)
		return err
	}
	if err := s.err(); err != nil {
		return err
	}
	recs, err := s.enc.records(nil, rec)
	if err != nil {
		return err
	}
	if s.opts.Delivery == NoGuarantee {
		for _, r := range recs {
			s.cl.Produce(s.ctx, r, nil)
		}
		return nil
	}
	for _, r := range recs {
		seq := s.acks.produced()
		s.cl.Produce(s.ctx, r, func(r *kgo.Record, err error) {
			s.promise(r, err)
			s.acks.acknowledged(seq)
		})
	}
	return nil
}

// promise keeps the first error a produce reports.
func (s *Sink) promise(r *kgo.Record, err error) {
	if err == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failed == nil {
		s.failed = fmt.Errorf("kafka sink: produce to %s partition %d: %w", r.Topic, r.Partition, err)
	}
}

func (s *Sink) err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.failed
}

// flush waits until the brokers have every record produced so far.
func (s *Sink) flush() error {
	ctx, cancel := s.call()
	defer cancel()
	if err := s.cl.Flush(ctx); err != nil {
		return fmt.Errorf("kafka sink %s: flush: %w", s.opts.Topic, err)
	}
	return s.err()
}

// Snapshot takes, exactly once, the records received since the last snapshot as a batch of
// checkpoint id and returns every batch not yet committed; at least once, it waits until the
// brokers have every record produced so far and keeps no state.
func (s *Sink) Snapshot(id uint64) ([]byte, error) {
	switch {
	case s.opts.Outbox != nil:
		s.opts.Outbox(id, s.sub, s.buf)
		s.buf = nil
	case s.ckpt:
		if len(s.buf) > 0 {
			s.state.seq++
			s.state.pending = append(s.state.pending, batch{seq: s.state.seq, checkpoint: id, records: s.buf})
			s.buf = nil
		}
		if s.batch.on {
			if err := s.snapshotBatch(id); err != nil {
				return nil, err
			}
		}
		return s.state.encode(), nil
	case s.opts.Delivery == AtLeastOnce:
		return nil, s.flush()
	}
	return nil, nil
}

// Commit produces, exactly once, the batches of checkpoint id and every earlier one in one
// transaction that also commits the marker naming the last of them. Committing per batch,
// the first commit also makes batches go out as they arrive from then on.
func (s *Sink) Commit(id uint64) error {
	if !s.ckpt {
		return nil
	}
	n := 0
	for n < len(s.state.pending) && s.state.pending[n].checkpoint <= id {
		n++
	}
	if n > 0 {
		if err := s.transact(s.cl, s.sub, s.state.run, s.state.pending[:n]); err != nil {
			return err
		}
		s.state.pending = s.state.pending[n:]
	}
	if s.batch.on && !s.batch.live {
		return s.goLive()
	}
	return nil
}

// Finish waits, when rows are produced as they arrive, until the brokers have them (or, fire
// and forget, until they are sent). Exactly once, the final snapshot takes what is left.
func (s *Sink) Finish(op.Collector) error {
	if s.ckpt || s.opts.Outbox != nil {
		return nil
	}
	return s.flush()
}

// Close disconnects. Records waiting for a commit that has not come stay in the checkpoint
// that took them, for Restore; a transaction left open is aborted by the next producer with
// the same transactional id, or by the brokers when it times out.
func (s *Sink) Close() error {
	if s.commits != nil {
		s.commits.close()
	}
	if s.cl != nil {
		s.cl.Close()
	}
	if s.cancel != nil {
		s.cancel()
	}
	return nil
}
