package natsjs

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
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
	st      jetstream.Stream
	pull    *puller
	dec     *decoder
	// reconnected is set when the connection came back after losing the server: what
	// was in flight then may never arrive, so the consumer is reset (see resume).
	reconnected *atomic.Bool

	next   uint64 // the stream sequence of the next message to yield
	msgs   []message
	bytes  int64
	waited time.Duration
	lag    int64 // messages the consumer holds past the last one read, as the server said

	// explicit: the consumer acknowledges message by message (a work-queue stream), so
	// every message is kept to acknowledge; otherwise acknowledging one acknowledges all
	// before it, and the last of each batch is enough.
	explicit bool
	mu       sync.Mutex // guards acks and floor, which Committed uses from another goroutine
	acks     []unacked  // in order of sequence
	floor    uint64     // the sequence the consumer's acknowledgements reach: all before it
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
	if r.reconnected.Swap(false) {
		if err := r.resume(ctx); err != nil {
			// The server is back but not ready (JetStream recovering): wait and try again.
			r.reconnected.Store(true)
			start := time.Now()
			select {
			case <-ctx.Done():
				return nil, nil, ctx.Err()
			case <-time.After(r.src.cfg.Poll):
			}
			r.waited += time.Since(start)
			return nil, nil, nil
		}
	}
	r.msgs = r.msgs[:0]
	var last *nats.Msg
	start := time.Now()
	poll, cancel := context.WithTimeout(ctx, r.src.cfg.Poll)
	defer cancel()
	for len(r.msgs) < r.src.cfg.BatchRows {
		within := time.Duration(0) // the first message: until the poll ends
		if last != nil {
			within = linger
		}
		m, err := r.pull.next(poll, within)
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
			if r.explicit { // acknowledged one by one: this delivery needs its own
				r.keep(unacked{seq: seq, reply: m.Reply})
			}
			continue
		}
		r.next = seq + 1
		r.lag = int64(meta.NumPending)
		if r.explicit {
			r.keep(unacked{seq: seq, reply: m.Reply})
		}
		last = m
		r.bytes += int64(len(m.Data))
		r.msgs = append(r.msgs, message{subject: m.Subject, seq: seq, data: m.Data})
	}
	if last == nil {
		r.waited += time.Since(start)
		return nil, nil, nil
	}
	if !r.explicit {
		r.keep(unacked{seq: r.next - 1, reply: last.Reply})
	}
	return r.dec.decode(r.msgs)
}

// resume, after the connection came back, resets the durable consumer to deliver again from
// its acknowledgement floor, never past a durable checkpoint, and consumes afresh: messages
// the server counted as delivered while the connection was down would otherwise wait the
// whole AckWait before they came again. What comes again before the reader's next sequence
// is dropped as a redelivery.
func (r *reader) resume(ctx context.Context) error {
	if err := r.pull.stop(); err != nil {
		return fmt.Errorf("%s: after reconnecting: %w", r.name, err)
	}
	r.mu.Lock()
	floor := r.floor
	r.acks = r.acks[:0] // the reset acknowledges nothing and forgets what was delivered
	r.mu.Unlock()
	pull, err := r.src.restart(ctx, r.st, r.nc, r.p, floor)
	if err != nil {
		return fmt.Errorf("%s: after reconnecting: %w", r.name, err)
	}
	r.pull = pull
	return nil
}

// keep keeps a message to acknowledge after a durable checkpoint. With acknowledgements
// that cover all before them, only the latest keptAcks are kept.
func (r *reader) keep(u unacked) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.explicit && len(r.acks) == keptAcks {
		r.acks = append(r.acks[:0], r.acks[1:]...)
	}
	i := sort.Search(len(r.acks), func(i int) bool { return r.acks[i].seq >= u.seq })
	r.acks = slices.Insert(r.acks, i, u)
}

// ack acknowledges every message before sequence seq and waits for the server to confirm
// the last acknowledgement, which it handles after the ones before.
func (r *reader) ack(ctx context.Context, seq uint64) error {
	r.mu.Lock()
	r.floor = max(r.floor, seq)
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
// messages, the messages of the partition past the last one read (its consumer's pending
// count, as the server gave it with that message), and the stream sequence of each row of
// the last batch.
func (r *reader) Progress() source.Progress {
	return source.Progress{BytesRead: r.bytes, Waited: r.waited, Lag: r.lag, Offsets: r.dec.seqs}
}

// Close stops pulling, waits until the server has taken note, and closes the connection:
// a reader opened next resets the consumer, and no pull request of this one may take
// what that reset makes due. The durable consumer stays, with what was acknowledged.
func (r *reader) Close() error {
	r.src.closed(r)
	err := r.pull.stop()
	r.nc.Close()
	if err != nil {
		return fmt.Errorf("%s: close: %w", r.name, err)
	}
	return nil
}
