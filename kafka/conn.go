// Package kafka connects pipelines to Kafka and Kafka-protocol brokers (Redpanda and the
// like): how to reach a cluster (Conn: brokers, TLS, SASL), and the Kafka source, whose
// partitions are the topics' partitions and whose positions are their offsets.
package kafka

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// Conn says how to reach a Kafka cluster: its seed brokers and, when the cluster asks for
// them, TLS and SASL. Sources and sinks share it.
type Conn struct {
	// Brokers are the seed brokers, host:port.
	Brokers []string
	// TLS, when set, encrypts every connection.
	TLS *TLS
	// SASL, when set, authenticates every connection.
	SASL *SASL
}

// TLS configures encrypted connections. Without CA the system's roots verify the brokers;
// Cert and Key together present a client certificate.
type TLS struct {
	CA   string // PEM file of the certificate authorities that sign the brokers' certificates
	Cert string // PEM file of the client certificate
	Key  string // PEM file of the client certificate's private key
	// InsecureSkipVerify accepts any broker certificate. It is for test clusters only.
	InsecureSkipVerify bool
}

// The SASL mechanisms a Conn offers.
const (
	Plain       = "PLAIN"
	ScramSHA256 = "SCRAM-SHA-256"
	ScramSHA512 = "SCRAM-SHA-512"
)

// SASL configures authentication: a mechanism, a user and a password given as is (from an
// environment variable the spec names) or read from PasswordFile.
type SASL struct {
	Mechanism    string // PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512, in any case
	Username     string
	Password     Secret
	PasswordFile string // a file holding the password; a trailing newline is not part of it
}

// Secret is a value that must never be shown: formatting it with any verb, or encoding it
// as JSON, gives "[redacted]" (or "" when it is empty).
type Secret string

const redacted = "[redacted]"

// String hides the secret.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return redacted
}

// GoString hides the secret from %#v.
func (s Secret) GoString() string { return s.String() }

// MarshalText hides the secret from encoders.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Validate says what is wrong with the settings without touching files or the network:
// no brokers, a certificate without its key, an unknown mechanism, SASL without a user or
// with two passwords.
func (c Conn) Validate() error {
	if len(c.Brokers) == 0 {
		return errors.New("kafka: no brokers")
	}
	for _, b := range c.Brokers {
		if b == "" || !strings.Contains(b, ":") {
			return fmt.Errorf("kafka: broker %q is not host:port", b)
		}
	}
	if t := c.TLS; t != nil && (t.Cert == "") != (t.Key == "") {
		return errors.New("kafka: tls: cert and key go together")
	}
	if s := c.SASL; s != nil {
		switch strings.ToUpper(s.Mechanism) {
		case Plain, ScramSHA256, ScramSHA512:
		default:
			return fmt.Errorf("kafka: sasl: unknown mechanism %q (want %s, %s or %s)", s.Mechanism, Plain, ScramSHA256, ScramSHA512)
		}
		if s.Username == "" {
			return errors.New("kafka: sasl: username is required")
		}
		if s.Password != "" && s.PasswordFile != "" {
			return errors.New("kafka: sasl: give password or password_file, not both")
		}
		if s.Password == "" && s.PasswordFile == "" {
			return errors.New("kafka: sasl: password or password_file is required")
		}
	}
	return nil
}

// Opts turns the settings into client options: the seed brokers, a TLS dialer and a SASL
// mechanism. It reads the certificate and password files now, and its errors name the file,
// never a password.
func (c Conn) Opts() ([]kgo.Opt, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	opts := []kgo.Opt{kgo.SeedBrokers(c.Brokers...)}
	if c.TLS != nil {
		cfg, err := c.TLS.config()
		if err != nil {
			return nil, err
		}
		opts = append(opts, kgo.DialTLSConfig(cfg))
	}
	if c.SASL != nil {
		m, err := c.SASL.mechanism()
		if err != nil {
			return nil, err
		}
		opts = append(opts, kgo.SASL(m))
	}
	return opts, nil
}

// config builds the TLS configuration, reading the PEM files it names.
func (t *TLS) config() (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: t.InsecureSkipVerify} //nolint:gosec // a setting the user chooses, documented as for test clusters
	if t.CA != "" {
		pem, err := os.ReadFile(t.CA)
		if err != nil {
			return nil, fmt.Errorf("kafka: tls: ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("kafka: tls: ca %q holds no PEM certificate", t.CA)
		}
		cfg.RootCAs = pool
	}
	if t.Cert != "" {
		pair, err := tls.LoadX509KeyPair(t.Cert, t.Key)
		if err != nil {
			return nil, fmt.Errorf("kafka: tls: client certificate %q with key %q: %w", t.Cert, t.Key, err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	return cfg, nil
}

// mechanism builds the SASL mechanism, reading the password file if there is one.
func (s *SASL) mechanism() (sasl.Mechanism, error) {
	pass := string(s.Password)
	if s.PasswordFile != "" {
		b, err := os.ReadFile(s.PasswordFile)
		if err != nil {
			return nil, fmt.Errorf("kafka: sasl: password_file: %w", err)
		}
		pass = strings.TrimRight(string(b), "\r\n")
		if pass == "" {
			return nil, fmt.Errorf("kafka: sasl: password_file %q is empty", s.PasswordFile)
		}
	}
	switch strings.ToUpper(s.Mechanism) {
	case Plain:
		return plain.Auth{User: s.Username, Pass: pass}.AsMechanism(), nil
	case ScramSHA256:
		return scram.Auth{User: s.Username, Pass: pass}.AsSha256Mechanism(), nil
	default:
		return scram.Auth{User: s.Username, Pass: pass}.AsSha512Mechanism(), nil
	}
}
