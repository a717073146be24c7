package natsjs

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// EmbeddedOptions configures an embedded server.
type EmbeddedOptions struct {
	// Dir is where JetStream keeps its file storage. It is required: a server restarted on
	// the same directory finds its streams again.
	Dir string
	// Host is the address the server listens on (default 127.0.0.1, loopback only).
	Host string
	// Port is the client port; 0 picks a free one.
	Port int
}

// Embedded is a nats-server with JetStream and file storage running in this process. Its
// streams outlive it in Dir, so a server started again on the same Dir (and Port) is the same
// server to its clients, which reconnect to it.
type Embedded struct {
	srv *server.Server
	dir string
}

// StartEmbedded starts a server and returns once it accepts clients, or when ctx ends first
// (the server is then shut down).
func StartEmbedded(ctx context.Context, o EmbeddedOptions) (*Embedded, error) {
	if o.Dir == "" {
		return nil, errors.New("embedded nats server: no storage directory")
	}
	if o.Host == "" {
		o.Host = "127.0.0.1"
	}
	port := o.Port
	if port == 0 {
		port = server.RANDOM_PORT
	}
	srv, err := server.NewServer(&server.Options{
		ServerName: "millrace",
		Host:       o.Host,
		Port:       port,
		JetStream:  true,
		StoreDir:   o.Dir,
		NoLog:      true,
		NoSigs:     true,
	})
	if err != nil {
		return nil, fmt.Errorf("embedded nats server in %s: %w", o.Dir, err)
	}
	srv.Start()
	for !srv.ReadyForConnections(100 * time.Millisecond) {
		if ctx.Err() != nil {
			srv.Shutdown()
			srv.WaitForShutdown()
			return nil, fmt.Errorf("embedded nats server in %s: not ready: %w", o.Dir, ctx.Err())
		}
	}
	if !srv.JetStreamEnabled() {
		srv.Shutdown()
		srv.WaitForShutdown()
		return nil, fmt.Errorf("embedded nats server in %s: JetStream did not start", o.Dir)
	}
	return &Embedded{srv: srv, dir: o.Dir}, nil
}

// URL is the address clients connect to, such as nats://127.0.0.1:4222.
func (e *Embedded) URL() string { return e.srv.ClientURL() }

// Port is the client port the server listens on.
func (e *Embedded) Port() int {
	if a, ok := e.srv.Addr().(*net.TCPAddr); ok {
		return a.Port
	}
	_, p, _ := net.SplitHostPort(e.srv.Addr().String())
	n, _ := strconv.Atoi(p)
	return n
}

// Dir is the directory of its JetStream storage.
func (e *Embedded) Dir() string { return e.dir }

// Close shuts the server down and waits until it has stopped: its clients see the
// connection drop, and its storage is flushed to Dir.
func (e *Embedded) Close() error {
	e.srv.Shutdown()
	e.srv.WaitForShutdown()
	return nil
}
