package observe

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"millrace/engine"
	"millrace/plan"
)

// Server serves a run's figures over HTTP until closed: the live dashboard at /,
// /metrics (Prometheus), /api/topology (load per node and the bottleneck verdict),
// /api/ledger, /api/dead-letters, /api/stream (topology and ledger as Server-Sent Events)
// and, with WithAdvisor, /api/scale.
type Server struct {
	srv  *http.Server
	ln   net.Listener
	done chan error
	hist *history
}

// Listen starts serving the figures of the run of p that monitor watches at addr
// ("127.0.0.1:8080"; port 0 picks a free one).
func Listen(addr string, p *plan.Plan, monitor *engine.Monitor, opts ...Option) (*Server, error) {
	var cfg serverConfig
	for _, o := range opts {
		o(&cfg)
	}
	reg := prometheus.NewRegistry()
	if err := reg.Register(NewCollector(p.Spec.Name, monitor, p.Sources)); err != nil {
		return nil, fmt.Errorf("observe: %w", err)
	}
	dashboard, err := dashboardHandler()
	if err != nil {
		return nil, err
	}
	// quit ends the event streams when the server shuts down: Shutdown waits for handlers
	// but does not cancel their requests.
	quit, stopStreams := context.WithCancel(context.Background())
	red := newRedactions(p)
	top := &topologyHandler{plan: p, monitor: monitor, redact: red}
	mux := http.NewServeMux()
	mux.Handle("/", dashboard)
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.Handle("/api/topology", top)
	hist := newHistory(top)
	mux.Handle("/api/stream", streamHandler{top: top, hist: hist, quit: quit})
	mux.Handle("/api/ledger", ledgerHandler{plan: p, monitor: monitor})
	mux.Handle("/api/dead-letters", deadLettersHandler{monitor: monitor, redact: red})
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		stopStreams()
		return nil, fmt.Errorf("observe: listen on %s: %w", addr, err)
	}
	s := &Server{srv: &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}, ln: ln, done: make(chan error, 1), hist: hist}
	if cfg.advisor != nil {
		ad := adviser{cfg.advisor}
		mux.Handle("/api/scale", ad)
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "millrace_desired_workers",
			Help:        "Workers the scaling advisor says the pipeline needs, from its measured capacity and the forecast input.",
			ConstLabels: prometheus.Labels{"pipeline": p.Spec.Name}}, ad.desiredWorkers))
	}
	s.srv.RegisterOnShutdown(stopStreams)
	go hist.run(quit)
	go func() {
		err := s.srv.Serve(ln)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		s.done <- err
	}()
	return s, nil
}

// Addr is the address the server listens on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Close stops the server and waits for it.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	<-s.hist.done // Shutdown ended the history's sampling with the streams
	return errors.Join(err, <-s.done)
}
