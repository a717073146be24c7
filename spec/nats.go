package spec

import (
	"strings"

	"go.yaml.in/yaml/v3"
)

// NATSConn says how to reach a NATS server. Secrets come through ${VAR} or files; a plan
// never prints them.
type NATSConn struct {
	URL string
	// Credentials is the path of a .creds file.
	Credentials string
	// User and Password (or PasswordFile, a file holding it) authenticate by name.
	User, Password, PasswordFile string
	// TLS holds the PEM files of a TLS connection: ca verifies the server, cert and key
	// prove the client.
	TLS TLSFiles
}

// TLSFiles are the PEM files of a TLS connection.
type TLSFiles struct {
	CA, Cert, Key string
}

// NATS holds the settings of a nats source: a JetStream stream, or the part of it a subject
// filter selects, read through durable consumers.
type NATS struct {
	NATSConn
	// Stream is the JetStream stream read.
	Stream string
	// Subject filters the stream's messages; with Partitions, the partitions are the
	// subjects Subject.0 .. Subject.N-1.
	Subject    string
	Partitions int
	// Durable names the durable consumer; empty means millrace-PIPELINE-SOURCE.
	Durable string
	// Start is earliest (the default), latest or an RFC 3339 time: where a partition
	// without a checkpointed position begins.
	Start string
}

// NATSSink holds the settings of a nats sink: the subject its rows are published to, in a
// stream that stores it.
type NATSSink struct {
	NATSConn
	Subject string
	// SubjectBy computes per row a last token of the subject: SUBJECT.VALUE.
	SubjectBy Expr
}

// natsConnFields are the connection keys of nats sources and sinks.
func natsConnFields[T any](only []string, conn func(*T) *NATSConn) map[string]field[T] {
	str := func(want string, dst func(*NATSConn) *string) field[T] {
		return field[T]{only: only, set: func(d *decoder, into *T, n *yaml.Node, p string) {
			if v, ok := d.str(n, p, want); ok {
				*dst(conn(into)) = v
			}
		}}
	}
	return map[string]field[T]{
		"url":           str("a NATS server URL, such as nats://127.0.0.1:4222", func(c *NATSConn) *string { return &c.URL }),
		"credentials":   str("the path of a .creds file", func(c *NATSConn) *string { return &c.Credentials }),
		"user":          str("a user name", func(c *NATSConn) *string { return &c.User }),
		"password":      str("a password, as ${VAR}", func(c *NATSConn) *string { return &c.Password }),
		"password_file": str("the path of a file holding the password", func(c *NATSConn) *string { return &c.PasswordFile }),
	}
}

// natsSourceFields are the keys of nats sources besides format and the connection.
var natsSourceFields = map[string]field[Source]{
	"durable": {only: kinds(SourceNATS), set: func(d *decoder, s *Source, n *yaml.Node, p string) {
		if v, ok := d.str(n, p, "a consumer name"); ok {
			if strings.ContainsAny(v, ".*> \t\r\n/\\") {
				d.errorf(n, p, "%q is not a consumer name: no '.', '*', '>', '/', '\\' or spaces", v)
				return
			}
			s.NATS.Durable = v
		}
	}},
}

// natsTLS decodes tls: {ca, cert, key}.
func (d *decoder) natsTLS(n *yaml.Node, p string) TLSFiles {
	var t TLSFiles
	pairs, ok := d.mapping(n, p, "a mapping {ca: FILE, cert: FILE, key: FILE}")
	if !ok {
		return t
	}
	for _, kv := range pairs {
		var dst *string
		switch kv.key {
		case "ca":
			dst = &t.CA
		case "cert":
			dst = &t.Cert
		case "key":
			dst = &t.Key
		default:
			d.errorf(kv.keyNode, kv.path, "unknown key: tls takes ca, cert and key")
			continue
		}
		*dst, _ = d.str(kv.val, kv.path, "the path of a PEM file")
	}
	if (t.Cert == "") != (t.Key == "") {
		d.errorf(n, p, "cert and key go together")
	}
	return t
}

// natsSinkFields are the keys of nats sinks besides format and the connection.
var natsSinkFields = map[string]field[Sink]{
	"subject_by": {only: kinds(SinkNATS), set: func(d *decoder, k *Sink, n *yaml.Node, p string) {
		k.NATS.SubjectBy, _ = d.expr(n, p)
	}},
	"tls": {only: kinds(SinkNATS), set: func(d *decoder, k *Sink, n *yaml.Node, p string) {
		k.NATS.TLS = d.natsTLS(n, p)
	}},
	"subject": {only: kinds(SinkNATS), set: func(d *decoder, k *Sink, n *yaml.Node, p string) {
		if v, ok := d.str(n, p, "a subject"); ok {
			if strings.ContainsAny(v, "*> \t\r\n") {
				d.errorf(n, p, "%q is not a subject to publish to: no wildcards or spaces", v)
				return
			}
			k.NATS.Subject = v
		}
	}},
}

// withFields returns table with the keys of the others added.
func withFields[T any](table map[string]field[T], others ...map[string]field[T]) map[string]field[T] {
	for _, o := range others {
		for k, f := range o {
			table[k] = f
		}
	}
	return table
}
