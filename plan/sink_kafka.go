package plan

import (
	"context"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"millrace/engine"
	"millrace/kafka"
	"millrace/op"
	"millrace/spec"
)

// brokerTimeout bounds how long planning a kafka sink waits for its brokers and its schema
// registry.
const brokerTimeout = 15 * time.Second

// kafkaSink adds a sink node producing its stream to a Kafka topic. The topic must exist,
// or the sink says create: {partitions: N} and planning creates it.
func (b *builder) kafkaSink(k *spec.Sink, name string, from stream) error {
	path := "sinks." + k.Name
	ks := k.Kafka
	opts := kafka.SinkOptions{Conn: KafkaConn(ks.Brokers, ks.TLS, ks.SASL), Topic: ks.Topic, Delivery: kafka.Delivery(ks.Delivery),
		Commit: kafka.Commit(ks.Commit), ID: "millrace." + b.spec.Name + "." + k.Name}
	// What the step does names neither the brokers nor the registry: they may move without
	// changing what the sink has published (and a registry URL may hold a password).
	does := fmt.Sprintf("produce %s records to kafka topic %s, %s", ks.Format, ks.Topic, ks.Delivery)
	if ks.Commit == spec.CommitBatch {
		does += ", a transaction per batch" // its checkpoints' state differs from a commit per checkpoint's
	}
	opts.Registry = ks.Registry
	ensure := kafka.EnsureTopic
	if ks.Mode == spec.SinkUpsert {
		up, how, err := b.upsert(k, from)
		if err != nil {
			return err
		}
		opts.Upsert, ensure = up, kafka.EnsureCompactedTopic
		does += ", " + how
	}
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
	if outbox := b.opts.Outbox; outbox != nil {
		opts.Outbox = func(id uint64, sub int, recs []*kgo.Record) { outbox(name, sub, id, recs) }
	}
	ctx, cancel := context.WithTimeout(b.ctx, brokerTimeout)
	defer cancel()
	newSink, err := kafka.NewSinkFactory(ctx, from.schema, opts)
	if err != nil {
		return b.spec.Errorf(path, "%v", err)
	}
	if _, err := ensure(ctx, opts.Conn, ks.Topic, ks.Partitions); err != nil {
		return b.spec.Errorf(path, "%v", err)
	}
	p := b.opts.Parallelism
	n := &engine.Node{Name: name, Parallelism: p, Operator: func(int) (op.Operator, error) { return newSink(), nil }}
	b.addNode(n, KindSink, nil, does)
	b.connect(from, n, 0, follow(from, p))
	return nil
}
