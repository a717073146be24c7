// Package listen serves millrace's HTTP endpoints (the dashboard, /metrics, /api/... and
// HTTP ingest) on listeners that are safe to expose.
//
// Every listener goes through Serve, which keeps these rules:
//   - An address that is not loopback is refused unless a bearer token, TLS or Insecure
//     is configured (ErrExposed).
//   - With a token, every request needs "Authorization: Bearer <token>" or the cookie a
//     browser gets by opening any page once with "?token=<token>"; anything else is answered
//     401. Tokens are compared in constant time and never logged or echoed. The paths in
//     Open (health probes, which reveal nothing) are the one exception: a GET or HEAD of
//     one of them needs no token.
//   - The Host header must name the listener: loopback names when bound to loopback, the
//     bound address, any IP literal when bound to every interface, and the names in Hosts.
//     Any other Host is answered 421, which stops DNS rebinding.
//   - Headers must arrive within ReadHeaderTimeout, a request body within ReadTimeout, an
//     answer leave within WriteTimeout (streams wrapped by Streams are exempt), and an idle
//     keep-alive connection is closed after IdleTimeout.
//   - At most MaxConns connections are open at once; further ones wait in the kernel's
//     accept queue. Request bodies are cut at MaxBody bytes (413).
package listen

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"
)

// ErrExposed is returned by Serve for an address reachable from other machines when
// nothing authenticates its clients.
var ErrExposed = errors.New("listen: a non-loopback address needs a token or TLS")

// Config says where a listener binds and how it is secured. Zero durations and limits take
// the defaults written beside them.
type Config struct {
	// Addr is the host:port to bind ("127.0.0.1:8080"; port 0 picks a free one).
	Addr string
	// TokenFile names a file holding the bearer token every request must carry (surrounding
	// white space is dropped). Empty means no token.
	TokenFile string
	// TLSCert and TLSKey name PEM files of the server's certificate chain and key; with
	// both set the listener speaks only TLS (1.2 or later).
	TLSCert, TLSKey string
	// TLSClientCA names a PEM file of the authorities client certificates must chain to
	// (mutual TLS); a client without such a certificate fails the handshake.
	TLSClientCA string
	// Insecure allows a non-loopback address with neither token nor TLS.
	Insecure bool
	// Hosts are further names (or IPs) the Host header may carry, such as the name a proxy
	// or DNS gives this machine.
	Hosts []string
	// Open are paths that a GET or HEAD reaches without the token, such as the health
	// probes of a scheduler that cannot send one. What they answer must reveal nothing.
	// The Host header, TLS and mutual TLS still apply to them.
	Open []string

	ReadHeaderTimeout time.Duration // default 5s
	ReadTimeout       time.Duration // whole request including body; default 30s
	WriteTimeout      time.Duration // answer of a non-streaming route; default 30s
	IdleTimeout       time.Duration // keep-alive connection with no request; default 60s
	MaxConns          int           // open connections; default 256
	MaxStreams        int           // concurrent clients of Streams handlers; default 16
	MaxBody           int64         // request body bytes; default 1 MiB
}

// withDefaults fills the zero fields of c with their defaults.
func (c Config) withDefaults() Config {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.ReadHeaderTimeout, 5*time.Second)
	def(&c.ReadTimeout, 30*time.Second)
	def(&c.WriteTimeout, 30*time.Second)
	def(&c.IdleTimeout, 60*time.Second)
	if c.MaxConns <= 0 {
		c.MaxConns = 256
	}
	if c.MaxStreams <= 0 {
		c.MaxStreams = 16
	}
	if c.MaxBody <= 0 {
		c.MaxBody = 1 << 20
	}
	return c
}

// Server is a running listener. It serves until Close.
type Server struct {
	srv    *http.Server
	ln     *limitListener
	tls    bool
	cancel context.CancelFunc
	done   chan error
	once   sync.Once
	err    error // what Close returned
}

// Serve binds cfg.Addr and serves h there under the rules of the package, until Close.
// It refuses (ErrExposed) a non-loopback address without a token, TLS or cfg.Insecure, and
// fails when the token or certificate files cannot be read.
func Serve(cfg Config, h http.Handler) (*Server, error) {
	cfg = cfg.withDefaults()
	host, _, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("listen: address %q: %w", cfg.Addr, err)
	}
	if (cfg.TLSCert == "") != (cfg.TLSKey == "") {
		return nil, errors.New("listen: TLS needs both a certificate and its key")
	}
	if cfg.TLSClientCA != "" && cfg.TLSCert == "" {
		return nil, errors.New("listen: a client CA (mutual TLS) needs the server's own certificate and key")
	}
	if !isLoopback(host) && cfg.TokenFile == "" && cfg.TLSCert == "" && !cfg.Insecure {
		return nil, fmt.Errorf("%w: %s is reachable from other machines", ErrExposed, cfg.Addr)
	}
	var token []byte
	if cfg.TokenFile != "" {
		if token, err = readToken(cfg.TokenFile); err != nil {
			return nil, err
		}
	}
	var tlsConf *tls.Config
	if cfg.TLSCert != "" {
		if tlsConf, err = serverTLS(cfg); err != nil {
			return nil, err
		}
	}
	hosts, err := allowedHosts(host, cfg.Hosts)
	if err != nil {
		return nil, err
	}
	g := &guard{hosts: hosts, token: token, open: map[string]bool{}, tls: tlsConf != nil, maxBody: cfg.MaxBody, next: h}
	for _, p := range cfg.Open {
		g.open[p] = true
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("listen: on %s: %w", cfg.Addr, err)
	}
	base, cancel := context.WithCancel(context.Background())
	lim := newLimitListener(ln, cfg.MaxConns)
	s := &Server{
		srv: &http.Server{
			Handler:           g,
			TLSConfig:         tlsConf,
			ReadHeaderTimeout: cfg.ReadHeaderTimeout,
			ReadTimeout:       cfg.ReadTimeout,
			WriteTimeout:      cfg.WriteTimeout,
			IdleTimeout:       cfg.IdleTimeout,
			MaxHeaderBytes:    64 << 10,
			BaseContext:       func(net.Listener) context.Context { return streamsContext(base, cfg.MaxStreams) },
		},
		ln: lim, tls: tlsConf != nil, cancel: cancel, done: make(chan error, 1),
	}
	// Streams end when the server shuts down: Shutdown waits for handlers but does not
	// cancel their requests.
	s.srv.RegisterOnShutdown(cancel)
	go func() {
		var err error
		if tlsConf != nil {
			err = s.srv.ServeTLS(lim, "", "")
		} else {
			err = s.srv.Serve(lim)
		}
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		s.done <- err
	}()
	return s, nil
}

// Addr is the address the server listens on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// URL is the base URL of the server ("https://127.0.0.1:8080" with TLS).
func (s *Server) URL() string {
	if s.tls {
		return "https://" + s.Addr()
	}
	return "http://" + s.Addr()
}

// Close stops accepting, ends the streams, waits up to five seconds for requests in flight
// and then for the serving goroutine. Later calls return what the first returned.
func (s *Server) Close() error {
	s.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		err := s.srv.Shutdown(ctx)
		if err != nil {
			err = errors.Join(err, s.srv.Close())
		}
		s.cancel()
		s.err = errors.Join(err, <-s.done)
	})
	return s.err
}

// readToken reads the bearer token from path; it refuses an empty one.
func readToken(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("listen: token file: %w", err)
	}
	tok := []byte(strings.TrimSpace(string(b)))
	if len(tok) == 0 {
		return nil, fmt.Errorf("listen: token file %s is empty", path)
	}
	return tok, nil
}

// serverTLS loads the certificate, key and client CA that cfg names.
func serverTLS(cfg Config) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey)
	if err != nil {
		return nil, fmt.Errorf("listen: TLS certificate %s and key %s: %w", cfg.TLSCert, cfg.TLSKey, err)
	}
	c := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if cfg.TLSClientCA != "" {
		pem, err := os.ReadFile(cfg.TLSClientCA)
		if err != nil {
			return nil, fmt.Errorf("listen: TLS client CA: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("listen: TLS client CA %s holds no PEM certificate", cfg.TLSClientCA)
		}
		c.ClientCAs, c.ClientAuth = pool, tls.RequireAndVerifyClientCert
	}
	return c, nil
}
