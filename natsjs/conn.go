package natsjs

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
)

// Conn says how to reach a NATS server and prove who one is. Secrets come from files or
// from the spec's ${VAR}s; none of them is ever part of an error or of String.
type Conn struct {
	// URL is the server's address, such as nats://127.0.0.1:4222 (several separated by
	// commas).
	URL string
	// Credentials is the path of a .creds file (a user JWT and its NKey seed).
	Credentials string
	// User and Password authenticate with a user name and password. PasswordFile, when
	// set, is a file holding the password.
	User, Password, PasswordFile string
	// TLS, when any of its paths is set, connects with TLS: CA verifies the server,
	// Cert and Key prove the client.
	TLS TLS
	// Name names the connection at the server (its monitoring shows it).
	Name string
}

// TLS holds the PEM files of a TLS connection.
type TLS struct {
	CA, Cert, Key string
}

// String says where the connection goes and how it authenticates, without any secret.
func (c Conn) String() string {
	var how []string
	switch {
	case c.Credentials != "":
		how = append(how, "credentials "+c.Credentials)
	case c.User != "":
		how = append(how, "user "+c.User)
	}
	if c.TLS != (TLS{}) {
		how = append(how, "TLS")
	}
	if len(how) == 0 {
		return c.URL
	}
	return c.URL + " (" + strings.Join(how, ", ") + ")"
}

// reconnectWait is the pause between attempts to reach a server that went away.
const reconnectWait = 250 * time.Millisecond

// connect opens a connection that reconnects without end when the server goes away, so a
// server restart is a pause, not a failure. The first connection must succeed. extra adds
// options, such as a reconnection handler.
func (c Conn) connect(extra ...nats.Option) (*nats.Conn, error) {
	if c.URL == "" {
		return nil, errors.New("nats: no server URL")
	}
	opts := []nats.Option{
		nats.Name(c.Name),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(reconnectWait),
		nats.ReconnectBufSize(-1), // publishing fails at once while disconnected, never silently buffers
	}
	if c.Credentials != "" {
		opts = append(opts, nats.UserCredentials(c.Credentials))
	}
	if c.User != "" {
		pw := c.Password
		if c.PasswordFile != "" {
			b, err := os.ReadFile(c.PasswordFile)
			if err != nil {
				return nil, fmt.Errorf("nats %s: password file: %w", c.URL, err)
			}
			pw = strings.TrimRight(string(b), "\r\n")
		}
		opts = append(opts, nats.UserInfo(c.User, pw))
	}
	if c.TLS.CA != "" {
		opts = append(opts, nats.RootCAs(c.TLS.CA))
	}
	if c.TLS.Cert != "" || c.TLS.Key != "" {
		opts = append(opts, nats.ClientCert(c.TLS.Cert, c.TLS.Key))
	}
	if c.TLS != (TLS{}) {
		opts = append(opts, nats.Secure())
	}
	nc, err := nats.Connect(c.URL, append(opts, extra...)...)
	if err != nil {
		return nil, fmt.Errorf("nats: connect to %s: %w", c, err)
	}
	return nc, nil
}
