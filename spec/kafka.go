package spec

import (
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"millrace/format"
)

// KafkaTLS holds the TLS settings of a Kafka connection: PEM files of the brokers'
// certificate authorities and of a client certificate and its key.
type KafkaTLS struct {
	CA, Cert, Key      string
	InsecureSkipVerify bool
}

// KafkaSASL holds the SASL settings of a Kafka connection. The password comes from an
// environment variable (password: ${VAR}) or a file (password_file).
type KafkaSASL struct {
	Mechanism, Username string
	Password            Secret
	PasswordFile        string
}

// Secret is a value a spec gives that must never be shown: formatting it gives
// "[redacted]" (or "" when it is empty).
type Secret string

// String hides the secret.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return "[redacted]"
}

// GoString hides the secret from %#v.
func (s Secret) GoString() string { return s.String() }

// MarshalText hides the secret from encoders.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// kafkaTLSFields are the keys of a Kafka connection's tls mapping.
var kafkaTLSFields = map[string]field[KafkaTLS]{
	"ca":   {set: func(d *decoder, t *KafkaTLS, n *yaml.Node, p string) { t.CA, _ = d.str(n, p, "a PEM file") }},
	"cert": {set: func(d *decoder, t *KafkaTLS, n *yaml.Node, p string) { t.Cert, _ = d.str(n, p, "a PEM file") }},
	"key":  {set: func(d *decoder, t *KafkaTLS, n *yaml.Node, p string) { t.Key, _ = d.str(n, p, "a PEM file") }},
	"insecure_skip_verify": {set: func(d *decoder, t *KafkaTLS, n *yaml.Node, p string) {
		t.InsecureSkipVerify, _ = d.boolean(n, p)
	}},
}

// kafkaTLS decodes `tls: {ca, cert, key, insecure_skip_verify}`; `tls: true` uses the
// system's certificate authorities.
func (d *decoder) kafkaTLS(n *yaml.Node, path string) *KafkaTLS {
	if v := deref(n); v.Kind == yaml.ScalarNode && !isNull(v) {
		on, ok := d.boolean(n, path)
		if !ok || !on {
			return nil
		}
		return &KafkaTLS{}
	}
	pairs, ok := d.mapping(n, path, "true, or a mapping such as {ca: certs/ca.pem, cert: certs/client.pem, key: certs/client.key}")
	if !ok {
		return nil
	}
	t := &KafkaTLS{}
	decodeFields(d, t, pairs, path, kafkaTLSFields, "", "tls setting")
	if (t.Cert == "") != (t.Key == "") {
		d.errorf(n, path, "cert and key go together")
	}
	return t
}

// kafkaSASLFields are the keys of a Kafka connection's sasl mapping.
var kafkaSASLFields = map[string]field[KafkaSASL]{
	"mechanism": {set: func(d *decoder, s *KafkaSASL, n *yaml.Node, p string) {
		if v, ok := d.str(n, p, "PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512"); ok {
			switch upper := upperASCII(v); upper {
			case "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512":
				s.Mechanism = upper
			default:
				d.errorf(n, p, "unknown mechanism %q (want PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512)", v)
			}
		}
	}},
	"username": {set: func(d *decoder, s *KafkaSASL, n *yaml.Node, p string) { s.Username, _ = d.str(n, p, "a user name") }},
	"password": {set: func(d *decoder, s *KafkaSASL, n *yaml.Node, p string) {
		if v := deref(n); v.Kind == yaml.ScalarNode && !hasVariable(v.Value) {
			d.errorf(n, p, "write the password as ${VAR}, an environment variable, or use password_file: a spec never holds a secret")
			return
		}
		v, _ := d.str(n, p, "${VAR}")
		s.Password = Secret(v)
	}},
	"password_file": {set: func(d *decoder, s *KafkaSASL, n *yaml.Node, p string) {
		s.PasswordFile, _ = d.str(n, p, "a file holding the password")
	}},
}

// hasVariable says whether a scalar refers to an environment variable.
func hasVariable(s string) bool { return strings.Contains(s, "${") }

// upperASCII upper-cases ASCII letters.
func upperASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}

// kafkaSASL decodes `sasl: {mechanism, username, password | password_file}`.
func (d *decoder) kafkaSASL(n *yaml.Node, path string) *KafkaSASL {
	pairs, ok := d.mapping(n, path, "a mapping such as {mechanism: SCRAM-SHA-512, username: millrace, password: ${KAFKA_PASSWORD}}")
	if !ok {
		return nil
	}
	s := &KafkaSASL{}
	decodeFields(d, s, pairs, path, kafkaSASLFields, "", "sasl setting")
	has := map[string]bool{}
	for _, p := range pairs {
		has[p.key] = true
	}
	for _, k := range []string{"mechanism", "username"} {
		if !has[k] {
			d.errorf(n, path, "%s is required", k)
		}
	}
	switch {
	case has["password"] && has["password_file"]:
		d.errorf(n, path, "give password or password_file, not both")
	case !has["password"] && !has["password_file"]:
		d.errorf(n, path, "password (as ${VAR}) or password_file is required")
	}
	return s
}

// kafkaStart checks a start position: earliest, latest or an RFC 3339 time.
func (d *decoder) kafkaStart(n *yaml.Node, path string) string {
	v, ok := d.str(n, path, "earliest, latest or an RFC 3339 time")
	if !ok {
		return ""
	}
	if v != "earliest" && v != "latest" {
		if _, err := time.Parse(time.RFC3339Nano, v); err != nil {
			d.errorf(n, path, "%q: want earliest, latest or an RFC 3339 time such as 2026-12-01T00:00:00Z", v)
			return ""
		}
	}
	return v
}

// FormatAvro is the format of Kafka values in Avro, in the Confluent wire format, whose
// schemas a registry holds.
const FormatAvro format.Kind = "avro"

// finishKafka checks the keys of a kafka source that go together: one of topic and
// topic_regex; registry exactly with format avro.
func (d *decoder) finishKafka(src *Source, key *yaml.Node, path string, has map[string]*yaml.Node) {
	switch {
	case has["topic"] != nil && has["topic_regex"] != nil:
		d.errorf(has["topic_regex"], joinPath(path, "topic_regex"), "give topic or topic_regex, not both")
	case has["topic"] == nil && has["topic_regex"] == nil:
		d.errorf(key, path, "topic (one or a list) or topic_regex is required for a kafka source")
	}
	switch {
	case src.Format == FormatAvro && has["registry"] == nil:
		d.errorf(has["format"], joinPath(path, "format"), "avro values need a schema registry: add registry: URL")
	case src.Format != FormatAvro && has["registry"] != nil:
		d.errorf(has["registry"], joinPath(path, "registry"), "a schema registry is for format: avro")
	}
}
