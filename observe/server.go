package observe

import (
	"context"
	"fmt"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"millrace/engine"
	"millrace/listen"
	"millrace/plan"
)

// Server serves a run's figures over HTTP until closed: the live dashboard at /,
// /metrics (Prometheus), /api/topology (load per node and the bottleneck verdict),
// /api/ledger, /api/dead-letters, /api/views (the tables of view sinks), /api/stream
// (topology and ledger as Server-Sent Events), /api/reloads, in a pipeline with a rules step
// /api/fraud, with WithAdvisor /api/scale and with WithCluster /api/cluster, and the health probes
// LivePath and ReadyPath, which need no token. It serves through package listen, so the address,
// token, TLS, Host names, timeouts and limits of its listen.Config apply to every route.
type Server struct {
	*listen.Server
	hist *history
	// stopHistory ends the history's sampling.
	stopHistory context.CancelFunc
}

// Listen starts serving the figures of the run of p that monitor watches on the listener
// cfg describes (cfg.Addr "127.0.0.1:8080"; port 0 picks a free one).
func Listen(cfg listen.Config, p *plan.Plan, monitor *engine.Monitor, opts ...Option) (*Server, error) {
	var sc serverConfig
	for _, o := range opts {
		o(&sc)
	}
	reg := prometheus.NewRegistry()
	if err := reg.Register(NewCollector(p.Spec.Name, monitor, p.Sources)); err != nil {
		return nil, fmt.Errorf("observe: %w", err)
	}
	if err := reg.Register(newReloadCollector(p.Spec.Name, p.Reloads)); err != nil {
		return nil, fmt.Errorf("observe: %w", err)
	}
	dashboard, err := dashboardHandler()
	if err != nil {
		return nil, err
	}
	red := newRedactions(p)
	top := &topologyHandler{plan: p, monitor: monitor, redact: red}
	if c := sc.cluster; c != nil {
		if err := c.register(reg, p.Spec.Name); err != nil {
			return nil, fmt.Errorf("observe: %w", err)
		}
		top.workers = c.Workers
	}
	mux := http.NewServeMux()
	mux.Handle("/", dashboard)
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.Handle("/api/topology", top)
	hist := newHistory(top)
	mux.Handle("/api/stream", listen.Streams(streamHandler{top: top, hist: hist}))
	mux.Handle("/api/ledger", ledgerHandler{plan: p, monitor: monitor})
	mux.Handle("/api/reloads", reloadsHandler{files: p.Reloads})
	if p.Alerts != nil {
		mux.Handle("/api/fraud", fraudHandler{board: p.Alerts, redact: red})
	}
	mux.Handle("/api/dead-letters", deadLettersHandler{monitor: monitor, redact: red})
	mux.Handle("/api/views", viewsHandler{tables: p.Tables})
	mux.Handle("/api/views/", viewsHandler{tables: p.Tables})
	health{monitor}.route(mux)
	cfg.Open = append(append([]string(nil), cfg.Open...), healthPaths...)
	if sc.cluster != nil {
		mux.Handle("/api/cluster", clusterHandler{workers: sc.cluster.Workers})
	}
	if sc.advisor != nil {
		ad := adviser{sc.advisor}
		mux.Handle("/api/scale", ad)
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "millrace_desired_workers",
			Help:        "Workers the scaling advisor says the pipeline needs, from its measured capacity and the forecast input.",
			ConstLabels: prometheus.Labels{"pipeline": p.Spec.Name}}, ad.desiredWorkers))
	}
	srv, err := listen.Serve(cfg, mux)
	if err != nil {
		return nil, fmt.Errorf("observe: %w", err)
	}
	sampling, stopHistory := context.WithCancel(context.Background())
	go hist.run(sampling)
	return &Server{Server: srv, hist: hist, stopHistory: stopHistory}, nil
}

// Close stops the server and the history's sampling, and waits for both.
func (s *Server) Close() error {
	err := s.Server.Close()
	s.stopHistory()
	<-s.hist.done
	return err
}
