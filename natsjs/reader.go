package natsjs

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"millrace/format"
	"millrace/source"
)

// linger is how long Read waits for each further message once a first one came: messages
// already buffered come at once, so a batch ends when the buffer runs dry.
const linger = time.Millisecond

// keptAcks bounds the messages a reader keeps to acknowledge later (the last of each
// batch): when checkpoints stop coming, the oldest go first.
const keptAcks = 4096

// reader reads one partition through its durable consumer.
type reader struct {
	src     *Source
	p       int
	name    string // STREAM or STREAM/SUBJECT
	subject string
	nc      *nats.Conn
	it      jetstream.MessagesContext
	dec     *decoder

	next   uint64 // the stream sequence of the next message to yield
	msgs   []message
	bytes  int64
	waited time.Duration

	// explicit: the consumer acknowledges message by message (a work-queue stream), so
	// every message is kept to acknowledge; otherwise acknowledging one acknowledges all
	// before it, and the last of each batch is enough.
	explicit bool
	mu       sync.Mutex // guards acks, which Committed uses from another goroutine
	acks     []unacked  // in order of sequence
}

// unacked is a message read and not yet acknowledged: its sequence and the subject its
// acknowledgement goes to.
type unacked struct {
	seq   uint64
	reply string
}

// Read returns the messages the consumer delivers, up to BatchRows, decoded into one batch.
// It waits up to Poll for the first and returns nothing when none comes; a message it has
// already yielded, delivered again, is dropped and counted. While the server is away the
// connection reconnects and Read keeps returning nothing, the time counted as waited.
func (r *reader) Read(ctx context.Context) (arrow.RecordBatch, []format.DeadLetter, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	r.msgs = r.msgs[:0]
	var last jetstream.Msg
	start := time.Now()
	poll, cancel := context.WithTimeout(ctx, r.src.cfg.Poll)
	defer cancel()
	for len(r.msgs) < r.src.cfg.BatchRows {
		var m jetstream.Msg
		var err error
		if last == nil {
			m, err = r.it.Next(jetstream.NextContext(poll))
		} else {
			m, err = r.it.Next(jetstream.NextMaxWait(linger))
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil, nil, ctx.Err()
			}
			if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout) {
				break
			}
			return nil, nil, fmt.Errorf("%s: read after sequence %d: %w", r.name, r.next-1, err)
		}
		meta, err := m.Metadata()
		if err != nil {
			return nil, nil, fmt.Errorf("%s: a message after sequence %d: %w", r.name, r.next-1, err)
		}
		seq := meta.Sequence.Stream
		if seq < r.next {
			r.src.redelivered.Add(1)
			continue
		}
		r.next = seq + 1
		if r.explicit {
			r.keep(unacked{seq: seq, reply: m.Reply()})
		}
		last = m
		r.bytes += int64(len(m.Data()))
		r.msgs = append(r.msgs, message{subject: m.Subject(), seq: seq, data: m.Data()})
	}
	if last == nil {
		r.waited += time.Since(start)
		return nil, nil, nil
	}
	if !r.explicit {
		r.keep(unacked{seq: r.next - 1, reply: last.Reply()})
	}
	return r.dec.decode(r.msgs)
}

// keep keeps a message to acknowledge after a durable checkpoint. With acknowledgements
// that cover all before them, only the latest keptAcks are kept.
func (r *reader) keep(u unacked) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.explicit && len(r.acks) == keptAcks {
		r.acks = append(r.acks[:0], r.acks[1:]...)
	}
	r.acks = append(r.acks, u)
}

// ack acknowledges every message before sequence seq and waits for the server to confirm
// the last acknowledgement, which it handles after the ones before.
func (r *reader) ack(ctx context.Context, seq uint64) error {
	r.mu.Lock()
	n := sort.Search(len(r.acks), func(i int) bool { return r.acks[i].seq >= seq })
	todo := slices.Clone(r.acks[:n])
	r.acks = append(r.acks[:0], r.acks[n:]...)
	r.mu.Unlock()
	if len(todo) == 0 {
		return nil // nothing before seq is waiting for an acknowledgement here
	}
	if r.explicit {
		for _, u := range todo[:len(todo)-1] {
			if err := r.nc.Publish(u.reply, ackBody); err != nil {
				return fmt.Errorf("acknowledge sequence %d: %w", u.seq, err)
			}
		}
	}
	last := todo[len(todo)-1]
	if _, err := r.nc.RequestWithContext(ctx, last.reply, ackBody); err != nil {
		return fmt.Errorf("acknowledge sequence %d: %w", last.seq, err)
	}
	return nil
}

// ackBody acknowledges a message.
var ackBody = []byte("+ACK")

// Position names the partition; Offset and Line are the stream sequence of the next
// message.
func (r *reader) Position() format.Position {
	return format.Position{File: r.name, Offset: int64(r.next), Line: int64(r.next)}
}

// Checkpoint encodes the stream sequence of the next message, for Open.
func (r *reader) Checkpoint() ([]byte, error) {
	return position{V: positionVersion, Stream: r.src.cfg.Stream, Subject: r.subject, Seq: r.next}.encode()
}

// Progress gives the bytes of the message values read, the time spent waiting for
// messages, and the stream sequence of each row of the last batch.
func (r *reader) Progress() source.Progress {
	return source.Progress{BytesRead: r.bytes, Waited: r.waited, Offsets: r.dec.seqs}
}

// Close stops consuming and closes the connection. The durable consumer stays, with
// what was acknowledged.
func (r *reader) Close() error {
	r.src.closed(r)
	r.it.Stop()
	r.nc.Close()
	return nil
}
