package main

import (
	"net/url"
	"strings"

	"github.com/spf13/cobra"

	"millrace/kafka"
)

func newClusterCmd() *cobra.Command {
	var conn kafkaConnFlags
	cmd := &cobra.Command{
		Use:   "cluster",
		Short: "See the workers of pipelines that run in cluster mode on a Kafka cluster",
		Long: `In cluster mode (millrace run SPEC --cluster kafka://BROKERS) identical worker processes share
a pipeline's work through a Kafka consumer group. Each worker publishes its status (what it
owns, its lag, its newest checkpoint, what it waits for, the figures of every step) to the
compacted topic millrace.<pipeline>.worker-status about once a second; the cluster commands read
it. Any broker of the cluster will do as the address.

The --kafka-* flags say how to reach a cluster that asks for TLS or SASL.`,
		Example: `  millrace cluster status kafka://localhost:9092
  millrace cluster status kafka://b1:9092,b2:9092 --pipeline card-velocity --json`,
		Args: cobra.NoArgs,
	}
	conn.register(cmd)
	cmd.AddCommand(newClusterStatusCmd(&conn), newClusterUpCmd(&conn))
	return cmd
}

// kafkaConnFlags are the flags that say how to reach a Kafka cluster beyond its brokers:
// TLS and SASL. The password comes from a file only, never from the command line.
type kafkaConnFlags struct {
	tlsCA, tlsCert, tlsKey      string
	tlsInsecure                 bool
	mechanism, user, passwdFile string
}

// register adds the flags to cmd and its subcommands.
func (f *kafkaConnFlags) register(cmd *cobra.Command) {
	fs := cmd.PersistentFlags()
	fs.StringVar(&f.tlsCA, "kafka-tls-ca", "", "PEM file of the authorities that sign the brokers' certificates: connect over TLS")
	fs.StringVar(&f.tlsCert, "kafka-tls-cert", "", "PEM client certificate to present to the brokers (with --kafka-tls-key): connect over TLS")
	fs.StringVar(&f.tlsKey, "kafka-tls-key", "", "PEM private key of --kafka-tls-cert")
	fs.BoolVar(&f.tlsInsecure, "kafka-tls-insecure", false, "connect over TLS and accept any broker certificate (test clusters only)")
	fs.StringVar(&f.mechanism, "kafka-sasl-mechanism", "", "authenticate with SASL: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512")
	fs.StringVar(&f.user, "kafka-sasl-user", "", "SASL user name")
	fs.StringVar(&f.passwdFile, "kafka-sasl-password-file", "", "file holding the SASL password (a trailing newline is not part of it)")
}

// conn parses kafka://HOST:PORT[,HOST:PORT...] and joins the flags' TLS and SASL settings to
// its brokers. Mistakes are usage errors; the files named are read when connecting.
func (f *kafkaConnFlags) conn(address string) (kafka.Conn, error) {
	u, err := url.Parse(address)
	if err != nil || u.Scheme != "kafka" || u.Host == "" || strings.Trim(u.Path, "/") != "" || u.User != nil {
		return kafka.Conn{}, usagef("%q: want kafka://HOST:PORT[,HOST:PORT...]", address)
	}
	c := kafka.Conn{Brokers: strings.Split(u.Host, ",")}
	if f.tlsCA != "" || f.tlsCert != "" || f.tlsKey != "" || f.tlsInsecure {
		c.TLS = &kafka.TLS{CA: f.tlsCA, Cert: f.tlsCert, Key: f.tlsKey, InsecureSkipVerify: f.tlsInsecure}
	}
	if f.mechanism != "" || f.user != "" || f.passwdFile != "" {
		c.SASL = &kafka.SASL{Mechanism: f.mechanism, Username: f.user, PasswordFile: f.passwdFile}
	}
	if err := c.Validate(); err != nil {
		return kafka.Conn{}, usageError{err}
	}
	return c, nil
}
