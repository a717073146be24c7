package main

import (
	"errors"
	"fmt"
	"net"

	"github.com/spf13/cobra"

	"millrace/engine"
	"millrace/listen"
	"millrace/observe"
	"millrace/plan"
	"millrace/scale"
)

// defaultListen is where run and demo serve the dashboard and metrics unless told
// otherwise: loopback only.
const defaultListen = "127.0.0.1:8080"

// listenFlags are the flags that say where and how run and demo serve HTTP.
type listenFlags struct {
	addr  string
	cfg   listen.Config
	hosts []string
}

// add adds --listen and the flags that secure it to cmd.
func (f *listenFlags) add(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.StringVar(&f.addr, "listen", defaultListen, `address to serve the dashboard (/), /metrics (Prometheus) and /api/... on; "" turns it off`)
	fs.StringVar(&f.cfg.TokenFile, "listen-token-file", "", "file holding a bearer token every request must carry (Authorization: Bearer TOKEN; a browser opens /?token=TOKEN once); the probes /healthz and /readyz need none")
	fs.StringVar(&f.cfg.TLSCert, "tls-cert", "", "PEM certificate chain: serve HTTPS (with --tls-key)")
	fs.StringVar(&f.cfg.TLSKey, "tls-key", "", "PEM private key of --tls-cert")
	fs.StringVar(&f.cfg.TLSClientCA, "tls-client-ca", "", "PEM authorities that client certificates must chain to (mutual TLS)")
	fs.BoolVar(&f.cfg.Insecure, "insecure-listen", false, "serve a non-loopback --listen address without token or TLS, on purpose")
	fs.StringSliceVar(&f.hosts, "listen-host", nil, "further host names the Host header may carry (a DNS name or proxy name of this machine)")
}

// config is the listen.Config for serving at addr.
func (f *listenFlags) config(addr string) listen.Config {
	c := f.cfg
	c.Addr, c.Hosts = addr, f.hosts
	return c
}

// exposedHint explains err when it is listen.ErrExposed.
func exposedHint(err error) error {
	if errors.Is(err, listen.ErrExposed) {
		return fmt.Errorf("%w: add --listen-token-file FILE, or --tls-cert and --tls-key (and --tls-client-ca for mutual TLS), or --insecure-listen to serve it open on purpose", err)
	}
	return err
}

// watchRun sets up what watches the runs of p: the monitor to give them, a scaling advisor
// (configured by cfg) observing them every step, and, if lf names an address, the server of
// the dashboard, the metrics and the advice. The returned function stops them. When the
// default address is taken it says so and goes on without the server; an address the user
// gave must work, and so must the security flags.
func watchRun(cmd *cobra.Command, lf *listenFlags, p *plan.Plan, cfg scale.AdvisorConfig, more ...observe.Option) (*engine.Monitor, *scale.Advisor, func(), error) {
	mon := &engine.Monitor{}
	cfg.Sources = p.Sources
	advisor, err := scale.NewAdvisor(cfg)
	if err != nil {
		return nil, nil, nil, err
	}
	watching, watched := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(watched)
		advisor.Watch(mon, watching)
	}()
	stopWatching := func() {
		close(watching)
		<-watched
	}
	if lf.addr == "" {
		return mon, advisor, stopWatching, nil
	}
	srv, err := observe.Listen(lf.config(lf.addr), p, mon, append([]observe.Option{observe.WithAdvisor(advisor)}, more...)...)
	if err != nil {
		var bind *net.OpError
		if !cmd.Flags().Changed("listen") && errors.As(err, &bind) {
			fmt.Fprintf(cmd.ErrOrStderr(), "millrace: metrics off: %v (choose another with --listen)\n", err)
			return mon, advisor, stopWatching, nil
		}
		stopWatching()
		return nil, nil, nil, usageError{exposedHint(err)}
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "dashboard at %[1]s/ (metrics at /metrics, the dataflow's load at /api/topology, scaling advice at /api/scale)\n", srv.URL())
	return mon, advisor, func() {
		stopWatching()
		if err := srv.Close(); err != nil {
			fmt.Fprintf(cmd.ErrOrStderr(), "millrace: metrics server: %v\n", err)
		}
	}, nil
}
