package kafka

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"millrace/format"
)

// LineWriter produces every line written to it (JSONL: one JSON object a line) as one
// record of a topic, keyed by the string value of one top-level field. It is an io.Writer;
// Close waits until the brokers have every record.
type LineWriter struct {
	ctx   context.Context
	cl    *kgo.Client
	topic string
	key   string // the key field
	lines format.Lines

	mu     sync.Mutex
	failed error
}

// NewLineWriter connects to the cluster conn reaches to produce to topic, which must exist
// (see EnsureTopic), with keys from the field keyField (none when empty, or for a line that
// has no such string field). ctx covers every produce.
func NewLineWriter(ctx context.Context, conn Conn, topic, keyField string) (*LineWriter, error) {
	opts, err := conn.Opts()
	if err != nil {
		return nil, fmt.Errorf("kafka topic %s: %w", topic, err)
	}
	cl, err := kgo.NewClient(append(opts, kgo.DefaultProduceTopic(topic))...)
	if err != nil {
		return nil, fmt.Errorf("kafka topic %s: %w", topic, err)
	}
	w := &LineWriter{ctx: ctx, cl: cl, topic: topic, key: keyField}
	w.lines.Emit = w.produce
	return w, nil
}

// Write produces each line p ends; the rest waits for the next Write or for Close. It
// returns the first error a produce reported.
func (w *LineWriter) Write(p []byte) (int, error) {
	if err := w.err(); err != nil {
		return 0, err
	}
	return w.lines.Write(p)
}

// produce produces one line, keyed by the key field's string value where the line has one.
func (w *LineWriter) produce(line []byte) error {
	r := &kgo.Record{Value: bytes.Clone(line)}
	if w.key != "" {
		r.Key, _ = format.StringField(r.Value, w.key)
	}
	w.cl.Produce(w.ctx, r, w.promise)
	return nil
}

func (w *LineWriter) promise(r *kgo.Record, err error) {
	if err == nil {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.failed == nil {
		w.failed = fmt.Errorf("produce to kafka topic %s partition %d: %w", r.Topic, r.Partition, err)
	}
}

func (w *LineWriter) err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.failed
}

// closeTimeout bounds how long Close waits for the brokers.
const closeTimeout = time.Minute

// Close produces a last line that did not end, waits until the brokers have every record and
// disconnects. It returns the first error a produce reported.
func (w *LineWriter) Close() error {
	_ = w.lines.Flush() // produce reports its errors through the promise
	// What was produced before ctx ended still goes out, if the brokers take it soon.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(w.ctx), closeTimeout)
	defer cancel()
	err := w.cl.Flush(ctx)
	w.cl.Close()
	if ferr := w.err(); ferr != nil {
		return ferr
	}
	if err != nil {
		return fmt.Errorf("kafka topic %s: flush: %w", w.topic, err)
	}
	return nil
}
