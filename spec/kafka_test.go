package spec

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func TestKafkaSource(t *testing.T) {
	s, err := Parse([]byte(`name: p
sources:
  tx:
    kind: kafka
    brokers: [k1:9092, k2:9092]
    topic: [tx.eu, tx.us]
    start: 2026-12-01T00:00:00Z
    format: avro
    registry: http://registry:8081
    tls: {ca: certs/ca.pem, cert: certs/client.pem, key: certs/client.key}
    sasl: {mechanism: scram-sha-512, username: millrace, password: "${KAFKA_PASSWORD}"}
    columns: {tx_id: string, _key: string null, _partition: int32, _offset: int64, _timestamp: timestamp, _headers: string}
  audit:
    kind: kafka
    brokers: k1:9092
    topic_regex: audit\..*
    tls: true
    sasl: {mechanism: PLAIN, username: u, password_file: secrets/kafka}
    schema: transaction
`), "t.yaml", func(name string) (string, bool) {
		if name == "KAFKA_PASSWORD" {
			return "hunter2", true
		}
		return "", false
	})
	if err != nil {
		t.Fatal(err)
	}
	tx := s.Source("tx")
	want := Kafka{Brokers: []string{"k1:9092", "k2:9092"}, Topics: []string{"tx.eu", "tx.us"}, Start: "2026-12-01T00:00:00Z",
		Registry: "http://registry:8081", TLS: &KafkaTLS{CA: "certs/ca.pem", Cert: "certs/client.pem", Key: "certs/client.key"},
		SASL: &KafkaSASL{Mechanism: "SCRAM-SHA-512", Username: "millrace", Password: "hunter2"}}
	if !reflect.DeepEqual(tx.Kafka, want) || tx.Format != FormatAvro {
		t.Errorf("tx: %+v %+v %+v, format %s", tx.Kafka, tx.Kafka.TLS, tx.Kafka.SASL, tx.Format)
	}
	for _, text := range []string{fmt.Sprintf("%+v", *tx.Kafka.SASL), fmt.Sprintf("%#v", tx.Kafka.SASL), fmt.Sprint(tx.Kafka.SASL.Password)} {
		if strings.Contains(text, "hunter2") || !strings.Contains(text, "[redacted]") {
			t.Errorf("the password shows, or is not said to be there: %s", text)
		}
	}
	audit := s.Source("audit").Kafka
	if audit.TopicRegex != `audit\..*` || audit.TLS == nil || *audit.TLS != (KafkaTLS{}) || audit.SASL.PasswordFile != "secrets/kafka" {
		t.Errorf("audit: %+v %+v %+v", audit, audit.TLS, audit.SASL)
	}
}

func TestKafkaSourceErrors(t *testing.T) {
	src := "name: t\nsources:\n  a: {kind: kafka, brokers: k:9092, schema: transaction, "
	checkErrors(t, []errorCase{
		{"topic and regex", src + "topic: a, topic_regex: b}\n", []string{
			"t.yaml:3: sources.a.topic_regex: give topic or topic_regex, not both",
		}},
		{"bad regex", src + "topic_regex: 'a('}\n", []string{
			"t.yaml:3: sources.a.topic_regex: error parsing regexp: missing closing ): `a(`",
		}},
		{"bad start", src + "topic: a, start: yesterday}\n", []string{
			`t.yaml:3: sources.a.start: "yesterday": want earliest, latest or an RFC 3339 time such as 2026-12-01T00:00:00Z`,
		}},
		{"avro without registry", src + "topic: a, format: avro}\n", []string{
			"t.yaml:3: sources.a.format: avro values need a schema registry: add registry: URL",
		}},
		{"registry without avro", src + "topic: a, registry: 'http://r'}\n", []string{
			"t.yaml:3: sources.a.registry: a schema registry is for format: avro",
		}},
		{"a password in the spec", src + "topic: a, sasl: {mechanism: PLAIN, username: u, password: hunter2}}\n", []string{
			"t.yaml:3: sources.a.sasl.password: write the password as ${VAR}, an environment variable, or use password_file: a spec never holds a secret",
		}},
		{"sasl incomplete", src + "topic: a, sasl: {mechanism: GSSAPI}}\n", []string{
			`t.yaml:3: sources.a.sasl.mechanism: unknown mechanism "GSSAPI" (want PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512)`,
			"t.yaml:3: sources.a.sasl: username is required",
			"t.yaml:3: sources.a.sasl: password (as ${VAR}) or password_file is required",
		}},
		{"tls cert without key", src + "topic: a, tls: {cert: c.pem}}\n", []string{
			"t.yaml:3: sources.a.tls: cert and key go together",
		}},
	})
}
