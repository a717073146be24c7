package plan

import (
	"context"
	"fmt"
	"strings"
	"time"

	"millrace/engine"
	"millrace/kafka"
	"millrace/op"
	"millrace/spec"
)

// topicCheckTimeout bounds how long planning a kafka sink waits for its brokers.
const topicCheckTimeout = 15 * time.Second

// kafkaSink adds a sink node producing its stream to a Kafka topic. The topic must exist,
// or the sink says create: {partitions: N} and planning creates it.
func (b *builder) kafkaSink(k *spec.Sink, name string, from stream) error {
	path := "sinks." + k.Name
	ks := k.Kafka
	opts := kafka.SinkOptions{Conn: kafka.Conn{Brokers: ks.Brokers}, Topic: ks.Topic, Delivery: kafka.Delivery(ks.Delivery),
		ID: "millrace." + b.spec.Name + "." + k.Name}
	does := fmt.Sprintf("produce JSON records to kafka topic %s on %s, %s", ks.Topic, strings.Join(ks.Brokers, ","), ks.Delivery)
	if !ks.Key.IsZero() {
		e, err := compile(ks.Key, from.schema)
		if err != nil {
			return err
		}
		opts.Key = e.Eval
		does += ", key " + ks.Key.Text
	}
	for _, h := range ks.Headers {
		e, err := compile(h.Expr, from.schema)
		if err != nil {
			return err
		}
		opts.Headers = append(opts.Headers, kafka.Header{Name: h.Name, Eval: e.Eval})
		does += fmt.Sprintf(", header %s = %s", h.Name, h.Expr.Text)
	}
	newSink, err := kafka.NewSinkFactory(from.schema, opts)
	if err != nil {
		return b.spec.Errorf(path, "%v", err)
	}
	ctx, cancel := context.WithTimeout(b.ctx, topicCheckTimeout)
	defer cancel()
	if _, err := kafka.EnsureTopic(ctx, opts.Conn, ks.Topic, ks.Partitions); err != nil {
		return b.spec.Errorf(path, "%v", err)
	}
	p := b.opts.Parallelism
	n := &engine.Node{Name: name, Parallelism: p, Operator: func(int) (op.Operator, error) { return newSink(), nil }}
	b.addNode(n, KindSink, nil, does)
	b.connect(from, n, 0, follow(from, p))
	return nil
}
