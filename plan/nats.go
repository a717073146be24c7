package plan

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"

	"millrace/engine"
	"millrace/natsjs"
	"millrace/op"
	"millrace/spec"
)

// natsConn is a spec's connection settings as the connector takes them.
func natsConn(c spec.NATSConn) natsjs.Conn {
	return natsjs.Conn{URL: c.URL, Credentials: c.Credentials, User: c.User, Password: c.Password,
		PasswordFile: c.PasswordFile, TLS: natsjs.TLS{CA: c.TLS.CA, Cert: c.TLS.Cert, Key: c.TLS.Key}}
}

// natsSource makes a nats source and says what it does.
func natsSource(pipeline string, src *spec.Source, s *arrow.Schema) (*natsjs.Source, string, error) {
	n := src.NATS
	start, err := natsjs.ParseStart(n.Start)
	if err != nil {
		return nil, "", err
	}
	durable := n.Durable
	if durable == "" {
		durable = "millrace-" + pipeline + "-" + src.Name
	}
	conn := natsConn(n.NATSConn)
	ns, err := natsjs.NewSource(natsjs.SourceConfig{Conn: conn, Stream: n.Stream, Subject: n.Subject,
		Partitions: n.Partitions, Durable: durable, Start: start, Format: src.Format, Schema: s, Zone: src.Zone})
	if err != nil {
		return nil, "", err
	}
	what := "stream " + n.Stream
	switch {
	case n.Partitions > 0:
		what += fmt.Sprintf(" subjects %s.0..%d", n.Subject, n.Partitions-1)
	case n.Subject != "":
		what += " subject " + n.Subject
	}
	// What the step does names no server: it may move without changing what was read.
	return ns, fmt.Sprintf("read %s JetStream %s in %d partition(s) through durable consumer %s, from %s when no checkpoint",
		src.Format, what, ns.Partitions(), durable, start), nil
}

// natsSink adds a nats sink node: one subtask, so the subject holds the rows in the order
// the stream gives them.
func (b *builder) natsSink(k *spec.Sink, from stream, name string) error {
	conn := natsConn(k.NATS.NATSConn)
	cfg := natsjs.SinkConfig{Conn: conn, Pipeline: b.spec.Name, Name: k.Name, Subject: k.NATS.Subject,
		Format: k.Format, Schema: from.schema}
	subject := k.NATS.Subject
	if by := k.NATS.SubjectBy; !by.IsZero() {
		e, err := compile(by, from.schema)
		if err != nil {
			return err
		}
		cfg.SubjectBy = e.Eval
		subject += ".(" + by.Text + ")"
	}
	if _, err := natsjs.NewSink(cfg); err != nil {
		return b.spec.Errorf("sinks."+k.Name, "%v", err)
	}
	n := &engine.Node{Name: name, Parallelism: 1, Operator: func(int) (op.Operator, error) { return natsjs.NewSink(cfg) }}
	// What the step does names no server: it may move without changing what was published.
	b.addNode(n, KindSink, nil, fmt.Sprintf("publish %s to JetStream subject %s, exactly once with message ids", k.Format, subject))
	b.connect(from, n, 0, engine.Rebalance)
	return nil
}
