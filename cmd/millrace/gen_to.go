package main

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"time"

	"millrace/kafka"
	"millrace/natsjs"
)

// targetSchemes lists the schemes `gen --to` takes, for its help and its errors.
var targetSchemes = []string{"kafka://HOST:PORT/TOPIC", "nats://HOST:PORT/SUBJECT", "http://HOST:PORT/ingest/SOURCE"}

// openTarget opens the live target `gen --to` names: every JSONL line written to it becomes
// one message (or record). Close waits until the target has taken everything. tokenFile,
// when set, holds the bearer token an http target asks for.
func openTarget(ctx context.Context, to, tokenFile string) (io.WriteCloser, error) {
	u, err := url.Parse(to)
	if err != nil || u.Host == "" {
		return nil, usagef("--to %q: want %s", to, strings.Join(targetSchemes, " or "))
	}
	switch u.Scheme {
	case "kafka":
		return openKafkaTarget(ctx, u)
	case "nats":
		return openNATSTarget(ctx, u)
	case "http", "https":
		return openHTTPTarget(ctx, u, tokenFile)
	}
	return nil, usagef("--to %q: unknown scheme %q; want %s", to, u.Scheme, strings.Join(targetSchemes, " or "))
}

// openKafkaTarget produces to kafka://HOST:PORT[,HOST:PORT...]/TOPIC[?partitions=N], keyed
// by card_id. The topic must exist unless partitions says how to create it.
func openKafkaTarget(ctx context.Context, u *url.URL) (io.WriteCloser, error) {
	topic := strings.TrimPrefix(u.Path, "/")
	if topic == "" || strings.Contains(topic, "/") {
		return nil, usagef("--to %s: want kafka://HOST:PORT/TOPIC", u.Redacted())
	}
	var partitions int64
	if p := u.Query().Get("partitions"); p != "" {
		var err error
		if partitions, err = strconv.ParseInt(p, 10, 32); err != nil || partitions < 1 {
			return nil, usagef("--to %s: partitions=%q: want a positive number", u.Redacted(), p)
		}
	}
	conn := kafka.Conn{Brokers: strings.Split(u.Host, ",")}
	check, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if _, err := kafka.EnsureTopic(check, conn, topic, int32(partitions)); err != nil {
		return nil, fmt.Errorf("--to: %w", err)
	}
	return kafka.NewLineWriter(ctx, conn, topic, "card_id")
}

// openNATSTarget publishes to nats://HOST:PORT/SUBJECT[?partitions=N&stream=NAME]: with
// partitions, to SUBJECT.0..N-1 by card_id. A stream must store the subject unless stream
// names one to create.
func openNATSTarget(ctx context.Context, u *url.URL) (io.WriteCloser, error) {
	subject := strings.TrimPrefix(u.Path, "/")
	if subject == "" || strings.ContainsAny(subject, "/*> ") {
		return nil, usagef("--to %s: want nats://HOST:PORT/SUBJECT", u.Redacted())
	}
	o := natsjs.LineOptions{Subject: subject, KeyField: "card_id", Stream: u.Query().Get("stream")}
	if p := u.Query().Get("partitions"); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 {
			return nil, usagef("--to %s: partitions=%q: want a positive number", u.Redacted(), p)
		}
		o.Partitions = n
	}
	conn := natsjs.Conn{URL: "nats://" + u.Host, Name: "millrace gen"}
	if u.User != nil {
		conn.User = u.User.Username()
		conn.Password, _ = u.User.Password()
	}
	return natsjs.NewLineWriter(ctx, conn, o)
}
