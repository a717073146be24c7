package natsjs

import (
	"bytes"
	"context"
	"fmt"
	"hash/fnv"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"millrace/format"
)

// LineWriter publishes every line written to it (JSONL: one JSON object a line) as one
// message to a JetStream subject, or, split into partitions, to SUBJECT.P where P is picked
// by a hash of the string value of a top-level field, so one key's records stay in order.
// It is an io.Writer; Close waits until the server has stored every message.
type LineWriter struct {
	ctx        context.Context
	nc         *nats.Conn
	js         jetstream.JetStream
	subject    string
	partitions int
	key        string // the field that picks a partition
	lines      format.Lines
	err        error

	mu     sync.Mutex
	failed error // the first publication the server refused
}

// refused is the first publication the server refused, if any.
func (w *LineWriter) refused() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.failed
}

// LineOptions says where a LineWriter publishes.
type LineOptions struct {
	// Subject is where lines go; with Partitions, to Subject.0 .. Subject.N-1.
	Subject    string
	Partitions int
	// KeyField picks a line's partition by the value of this string field.
	KeyField string
	// Stream, when set, is created to store the subject (and its partition subjects) if no
	// stream stores it yet.
	Stream string
}

// NewLineWriter connects to publish to o.Subject, which a stream must store (or which
// o.Stream names to create). ctx covers every publication.
func NewLineWriter(ctx context.Context, conn Conn, o LineOptions) (*LineWriter, error) {
	nc, err := conn.connect()
	if err != nil {
		return nil, err
	}
	w := &LineWriter{ctx: ctx, nc: nc, subject: o.Subject, partitions: o.Partitions}
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncErrHandler(func(_ jetstream.JetStream, m *nats.Msg, err error) {
		w.mu.Lock()
		defer w.mu.Unlock()
		if w.failed == nil {
			w.failed = fmt.Errorf("publish to nats subject %s: %w", m.Subject, err)
		}
	}))
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("nats subject %s: %w", o.Subject, err)
	}
	w.js = js
	probe := o.Subject
	if o.Partitions > 0 {
		probe += ".0"
	}
	if _, err := js.StreamNameBySubject(ctx, probe); err != nil {
		if o.Stream == "" {
			nc.Close()
			return nil, fmt.Errorf("no stream stores nats subject %s at %s (name one to create: ?stream=NAME): %w", probe, conn, err)
		}
		subjects := []string{o.Subject}
		if o.Partitions > 0 {
			subjects = []string{o.Subject + ".*"}
		}
		if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: o.Stream, Subjects: subjects, Storage: jetstream.FileStorage}); err != nil {
			nc.Close()
			return nil, fmt.Errorf("create nats stream %s for %s: %w", o.Stream, o.Subject, err)
		}
	}
	w.key = o.KeyField
	w.lines.Emit = w.publish
	return w, nil
}

// Write publishes each line p ends; the rest waits for the next Write or for Close. It
// returns the first error a publication met.
func (w *LineWriter) Write(p []byte) (int, error) {
	if w.err == nil {
		w.err = w.refused()
	}
	if w.err != nil {
		return 0, w.err
	}
	n, err := w.lines.Write(p)
	w.err = err
	return n, err
}

// publish publishes one line, waiting while too many are unacknowledged.
func (w *LineWriter) publish(line []byte) error {
	subject := w.subject
	if w.partitions > 0 {
		subject += "." + strconv.Itoa(w.partition(line))
	}
	if _, err := w.js.PublishAsync(subject, bytes.Clone(line), jetstream.WithStallWait(time.Minute)); err != nil {
		return fmt.Errorf("publish to nats subject %s: %w", subject, err)
	}
	return w.ctx.Err()
}

// partition picks the partition of a line by its key field's value (partition 0 without).
func (w *LineWriter) partition(line []byte) int {
	v, ok := format.StringField(line, w.key)
	if w.key == "" || !ok {
		return 0
	}
	h := fnv.New32a()
	_, _ = h.Write(v) // a hash never fails to write
	return int(h.Sum32() % uint32(w.partitions))
}

// Close publishes a last unended line, waits until the server has stored every message,
// and closes the connection.
func (w *LineWriter) Close() error {
	defer w.nc.Close()
	if w.err == nil {
		w.err = w.lines.Flush()
	}
	if w.err != nil {
		return w.err
	}
	select {
	case <-w.js.PublishAsyncComplete():
	case <-w.ctx.Done():
		return w.ctx.Err()
	}
	if err := w.refused(); err != nil {
		return err
	}
	if n := w.js.PublishAsyncPending(); n > 0 {
		return fmt.Errorf("nats subject %s: %d messages left unacknowledged", w.subject, n)
	}
	return nil
}
