package spec

import "testing"

// TestNATSSourceKeys decodes every key of a nats source.
func TestNATSSourceKeys(t *testing.T) {
	s := mustParse(t, `name: t
sources:
  tx:
    kind: nats
    url: nats://127.0.0.1:4222
    stream: TX
    subject: tx
    partitions: 4
    durable: tx-reader
    start: 2026-12-01T00:00:00Z
    user: millrace
    password: ${RATE}
    tls: {ca: ca.pem, cert: c.pem, key: k.pem}
    schema: transaction
`)
	got := s.Sources[0].NATS
	want := NATS{NATSConn: NATSConn{URL: "nats://127.0.0.1:4222", User: "millrace", Password: "250",
		TLS: TLSFiles{CA: "ca.pem", Cert: "c.pem", Key: "k.pem"}},
		Stream: "TX", Subject: "tx", Partitions: 4, Durable: "tx-reader", Start: "2026-12-01T00:00:00Z"}
	if got != want {
		t.Errorf("decoded %+v, want %+v", got, want)
	}
}

func TestNATSSourceErrors(t *testing.T) {
	checkErrors(t, []errorCase{
		{"bad start", "name: t\nsources:\n  a: {kind: nats, url: u, stream: S, start: yesterday, schema: transaction}\n", []string{
			`t.yaml:3: sources.a.start: "yesterday": want earliest, latest or an RFC 3339 time such as 2026-12-01T00:00:00Z`,
		}},
		{"tls cert without key", "name: t\nsources:\n  a: {kind: nats, url: u, stream: S, tls: {cert: c.pem}, schema: transaction}\n", []string{
			`t.yaml:3: sources.a.tls: cert and key go together`,
		}},
		{"durable with a dot", "name: t\nsources:\n  a: {kind: nats, url: u, stream: S, durable: a.b, schema: transaction}\n", []string{
			`t.yaml:3: sources.a.durable: "a.b" is not a consumer name: no '.', '*', '>', '/', '\' or spaces`,
		}},
	})
}

// TestNATSSinkKeys decodes a nats sink, and the errors of one without a subject.
func TestNATSSinkKeys(t *testing.T) {
	s := mustParse(t, `name: t
sources:
  tx: {kind: file, path: tx.jsonl, schema: transaction}
sinks:
  out: {from: tx, kind: nats, url: "nats://127.0.0.1:4222", subject: tx.out, format: csv, credentials: a.creds}
`)
	k := s.Sinks[0]
	want := NATSSink{NATSConn: NATSConn{URL: "nats://127.0.0.1:4222", Credentials: "a.creds"}, Subject: "tx.out"}
	if k.NATS != want || k.Format != "csv" {
		t.Errorf("decoded %+v format %s, want %+v format csv", k.NATS, k.Format, want)
	}
	checkErrors(t, []errorCase{
		{"no subject", "name: t\nsources:\n  tx: {kind: file, path: tx.jsonl, schema: transaction}\nsinks:\n  out: {from: tx, kind: nats, url: u}\n", []string{
			"t.yaml:5: sinks.out: subject is required for a nats sink",
		}},
		{"wildcard", "name: t\nsources:\n  tx: {kind: file, path: tx.jsonl, schema: transaction}\nsinks:\n  out: {from: tx, kind: nats, url: u, subject: 'tx.*'}\n", []string{
			`t.yaml:5: sinks.out.subject: "tx.*" is not a subject to publish to: no wildcards or spaces`,
		}},
	})
}

// TestNATSSinkTLS decodes a nats sink's TLS files and its subject expression.
func TestNATSSinkTLS(t *testing.T) {
	s := mustParse(t, `name: t
sources:
  tx: {kind: file, path: tx.jsonl, schema: transaction}
sinks:
  out: {from: tx, kind: nats, url: u, subject: s, subject_by: channel, tls: {ca: ca.pem}}
`)
	if got := s.Sinks[0].NATS.TLS; got != (TLSFiles{CA: "ca.pem"}) {
		t.Errorf("tls %+v, want ca.pem", got)
	}
	if got := s.Sinks[0].NATS.SubjectBy.Text; got != "channel" {
		t.Errorf("subject_by %q, want channel", got)
	}
}
