package natsjs

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"millrace/format"
	"millrace/op"
)

// SinkConfig configures a JetStream sink.
type SinkConfig struct {
	Conn Conn
	// Pipeline and Name name the pipeline and the sink in the ids of the messages.
	Pipeline, Name string
	// Subject is where rows are published; a stream must store it.
	Subject string
	// SubjectBy, when set, computes per row a last token added to Subject
	// (SUBJECT.VALUE; characters a token cannot hold become _), null or empty leaving
	// Subject as it is.
	SubjectBy func(rec arrow.RecordBatch) (arrow.Array, error)
	// Format encodes each row as one message: jsonl (a JSON object) or csv (a line, no
	// header).
	Format format.Kind
	// Schema is the schema of the rows.
	Schema *arrow.Schema
	// PublishTimeout bounds how long a commit goes on publishing while the server does not
	// answer, reconnections included (default 2m); past it the run fails.
	PublishTimeout time.Duration
}

// Sink publishes rows to a JetStream subject, one message a row, exactly once over
// checkpoints. With checkpoints, rows are staged in the checkpoint: Snapshot returns the
// rows received since the last commit as its state, and Commit publishes them once the
// checkpoint is durable. Every message carries the header
//
//	Nats-Msg-Id: PIPELINE/SINK/CHECKPOINT/SUBTASK.N
//
// (N counts the subtask's rows within the checkpoint), so Restore can publish a durable
// checkpoint's rows again, and the server drops those it stored already, as long as the
// stream's duplicate window covers the time from the first publication to the restart.
// Without checkpoints rows are published as they come, without ids.
type Sink struct {
	op.Base
	cfg SinkConfig

	enc     format.RowEncoder
	nc      *nats.Conn
	js      jetstream.JetStream
	subtask int
	staging bool

	rows   [][]byte // received since the last Snapshot
	tokens []string // with SubjectBy, each row's last subject token
	ready  []epoch  // made ready by Snapshots, not yet committed, in order
}

// epoch is the rows of one checkpoint.
type epoch struct {
	id     uint64
	rows   [][]byte
	tokens []string // each row's last subject token, or nil
}

// subject is where row i of e goes.
func (s *Sink) subject(e epoch, i int) string {
	if e.tokens == nil || e.tokens[i] == "" {
		return s.cfg.Subject
	}
	return s.cfg.Subject + "." + e.tokens[i]
}

var (
	_ op.Operator  = (*Sink)(nil)
	_ op.Committer = (*Sink)(nil)
)

// NewSink checks cfg and returns a sink; it connects in Open.
func NewSink(cfg SinkConfig) (*Sink, error) {
	if cfg.Format == "" {
		cfg.Format = format.JSONL
	}
	if cfg.PublishTimeout <= 0 {
		cfg.PublishTimeout = 2 * time.Minute
	}
	if cfg.Subject == "" {
		return nil, fmt.Errorf("nats sink %s: no subject", cfg.Name)
	}
	if cfg.Format != format.JSONL && cfg.Format != format.CSV {
		return nil, fmt.Errorf("nats sink %s: messages are jsonl or csv, not %s", cfg.Name, cfg.Format)
	}
	enc, err := format.NewRowEncoder(cfg.Format, cfg.Schema)
	if err != nil {
		return nil, fmt.Errorf("nats sink %s: %w", cfg.Name, err)
	}
	return &Sink{cfg: cfg, enc: enc}, nil
}

// Open connects and checks that a stream stores the subject.
func (s *Sink) Open(ctx op.Context) error {
	s.subtask, s.staging = ctx.Subtask, ctx.Checkpointing
	conn := s.cfg.Conn
	if conn.Name == "" {
		conn.Name = "millrace " + s.cfg.Pipeline + "/" + s.cfg.Name
	}
	nc, err := conn.connect()
	if err != nil {
		return fmt.Errorf("nats sink %s: %w", s.cfg.Name, err)
	}
	s.nc = nc
	if s.js, err = jetstream.New(nc); err != nil {
		return fmt.Errorf("nats sink %s: %w", s.cfg.Name, err)
	}
	c, cancel := context.WithTimeout(context.Background(), s.cfg.PublishTimeout)
	defer cancel()
	probe := s.cfg.Subject
	if s.cfg.SubjectBy != nil {
		probe += ".*"
	}
	if _, err := s.js.StreamNameBySubject(c, probe); err != nil {
		return fmt.Errorf("nats sink %s: no stream stores subject %s at %s: %w", s.cfg.Name, probe, conn, err)
	}
	return nil
}

// Process encodes each row of rec as a message: staged for the next checkpoint, or
// published at once without checkpoints.
func (s *Sink) Process(_ int, rec arrow.RecordBatch, _ op.Collector) error {
	defer rec.Release()
	for i := range int(rec.NumRows()) {
		s.rows = append(s.rows, s.enc.AppendRow(nil, rec, i))
	}
	if s.cfg.SubjectBy != nil {
		v, err := s.cfg.SubjectBy(rec)
		if err != nil {
			return fmt.Errorf("nats sink %s: subject: %w", s.cfg.Name, err)
		}
		for i := range v.Len() {
			t := ""
			if v.IsValid(i) {
				t = subjectToken(v.ValueStr(i))
			}
			s.tokens = append(s.tokens, t)
		}
		v.Release()
	}
	if s.staging {
		return nil
	}
	err := s.publish(epoch{rows: s.rows, tokens: s.tokens}, false)
	s.rows, s.tokens = s.rows[:0], nil
	return err
}

// subjectToken makes v a subject token: characters a token cannot hold become _.
func subjectToken(v string) string {
	return strings.Map(func(r rune) rune {
		if r == '.' || r == '*' || r == '>' || r <= ' ' || r == 0x7f {
			return '_'
		}
		return r
	}, v)
}

// Snapshot makes the rows received since the last snapshot ready for checkpoint id. The
// state holds every ready checkpoint's rows not yet committed.
func (s *Sink) Snapshot(id uint64) ([]byte, error) {
	if len(s.rows) > 0 {
		s.ready = append(s.ready, epoch{id: id, rows: s.rows, tokens: s.tokens})
		s.rows, s.tokens = nil, nil
	}
	return encodeEpochs(s.ready), nil
}

// Commit publishes the rows of checkpoint id and of those before it.
func (s *Sink) Commit(id uint64) error {
	for len(s.ready) > 0 && s.ready[0].id <= id {
		if err := s.publish(s.ready[0], true); err != nil {
			return err
		}
		s.ready = s.ready[1:]
	}
	return nil
}

// Restore publishes again the rows a durable checkpoint made ready: those its commit
// published already are dropped by the server's duplicate detection.
func (s *Sink) Restore(state []byte) error {
	eps, err := decodeEpochs(state)
	if err != nil {
		return fmt.Errorf("nats sink %s: restore: %w", s.cfg.Name, err)
	}
	for _, e := range eps {
		if err := s.publish(e, true); err != nil {
			return err
		}
	}
	return nil
}

// Finish publishes nothing: without checkpoints rows went out in Process, with them the
// final checkpoint's Commit publishes.
func (s *Sink) Finish(op.Collector) error { return nil }

// Close closes the connection.
func (s *Sink) Close() error {
	if s.nc != nil {
		s.nc.Close()
	}
	return nil
}

// maxInFlight bounds the messages published and not yet acknowledged by the server.
const maxInFlight = 1024

// publish publishes the rows of e in order, with ids when named, and waits until the
// server has stored every one. A message the server did not acknowledge is published again
// (with its id, so at most once in the stream) until PublishTimeout has passed.
func (s *Sink) publish(e epoch, named bool) error {
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.PublishTimeout)
	defer cancel()
	from := 0
	for from < len(e.rows) {
		n, err := s.publishFrom(ctx, e, named, from)
		from += n
		if err == nil {
			continue
		}
		if ctx.Err() != nil {
			return fmt.Errorf("nats sink %s: publish checkpoint %d to %s, row %d of %d: %w", s.cfg.Name, e.id, s.cfg.Subject, from, len(e.rows), err)
		}
		// The server is away or busy: wait for the connection and try again from the first
		// message not acknowledged.
		select {
		case <-ctx.Done():
		case <-time.After(reconnectWait):
		}
	}
	return nil
}

// publishFrom publishes rows from `from` on, up to maxInFlight at a time, and returns how
// many were acknowledged in order before the first failure.
func (s *Sink) publishFrom(ctx context.Context, e epoch, named bool, from int) (int, error) {
	end := min(from+maxInFlight, len(e.rows))
	futures := make([]jetstream.PubAckFuture, 0, end-from)
	for i := from; i < end; i++ {
		m := &nats.Msg{Subject: s.subject(e, i), Data: e.rows[i][:len(e.rows[i])-1]} // without the newline
		var opts []jetstream.PublishOpt
		if named {
			opts = append(opts, jetstream.WithMsgID(s.msgID(e.id, i)))
		}
		f, err := s.js.PublishMsgAsync(m, opts...)
		if err != nil {
			return s.settled(ctx, futures), err
		}
		futures = append(futures, f)
	}
	n := s.settled(ctx, futures)
	if n < len(futures) {
		return n, errors.New("the server did not acknowledge every message")
	}
	return n, nil
}

// settled waits for the acknowledgements of futures and returns how many, from the first,
// were acknowledged.
func (s *Sink) settled(ctx context.Context, futures []jetstream.PubAckFuture) int {
	ok := 0
	failed := false
	for _, f := range futures {
		select {
		case <-f.Ok():
			if !failed {
				ok++
			}
		case err := <-f.Err():
			failed = failed || err != nil
		case <-ctx.Done():
			return ok
		}
	}
	return ok
}

// msgID is the id of row n of checkpoint id.
func (s *Sink) msgID(id uint64, n int) string {
	return s.cfg.Pipeline + "/" + s.cfg.Name + "/" + strconv.FormatUint(id, 10) + "/" +
		strconv.Itoa(s.subtask) + "." + strconv.Itoa(n)
}

// encodeEpochs encodes ready checkpoints as a sink's state: a version byte (1), then for
// each checkpoint its id and row count as uvarints, and for each row its last subject
// token (empty without SubjectBy) and its bytes, each as a uvarint length and the bytes.
func encodeEpochs(eps []epoch) []byte {
	b := []byte{1}
	for _, e := range eps {
		b = binary.AppendUvarint(b, e.id)
		b = binary.AppendUvarint(b, uint64(len(e.rows)))
		for i, r := range e.rows {
			t := ""
			if e.tokens != nil {
				t = e.tokens[i]
			}
			b = binary.AppendUvarint(b, uint64(len(t)))
			b = append(b, t...)
			b = binary.AppendUvarint(b, uint64(len(r)))
			b = append(b, r...)
		}
	}
	return b
}

func decodeEpochs(b []byte) ([]epoch, error) {
	if len(b) == 0 || b[0] != 1 {
		return nil, errors.New("not a nats sink state of version 1")
	}
	b = b[1:]
	next := func() (uint64, error) {
		v, n := binary.Uvarint(b)
		if n <= 0 {
			return 0, errors.New("truncated state")
		}
		b = b[n:]
		return v, nil
	}
	bytesOf := func() ([]byte, error) {
		l, err := next()
		if err != nil {
			return nil, err
		}
		if uint64(len(b)) < l {
			return nil, errors.New("truncated state")
		}
		v := b[:l:l]
		b = b[l:]
		return v, nil
	}
	var eps []epoch
	for len(b) > 0 {
		id, err := next()
		if err != nil {
			return nil, err
		}
		n, err := next()
		if err != nil {
			return nil, err
		}
		e := epoch{id: id}
		named := false
		for range n {
			t, err := bytesOf()
			if err != nil {
				return nil, err
			}
			r, err := bytesOf()
			if err != nil {
				return nil, err
			}
			e.tokens = append(e.tokens, string(t))
			named = named || len(t) > 0
			e.rows = append(e.rows, r)
		}
		if !named {
			e.tokens = nil
		}
		eps = append(eps, e)
	}
	return eps, nil
}
