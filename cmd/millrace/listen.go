package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"millrace/engine"
	"millrace/observe"
	"millrace/plan"
	"millrace/scale"
)

// defaultListen is where run and demo serve the dashboard and metrics unless told
// otherwise: loopback only.
const defaultListen = "127.0.0.1:8080"

// addListenFlag adds --listen to a command that runs a pipeline.
func addListenFlag(cmd *cobra.Command, listen *string) {
	cmd.Flags().StringVar(listen, "listen", defaultListen, `address to serve the dashboard (/), /metrics (Prometheus) and /api/... on; "" turns it off`)
}

// watchRun sets up what watches the runs of p: the monitor to give them, a scaling advisor
// (configured by cfg) observing them every step, and, if listen is set, the server of the
// dashboard, the metrics and the advice. The returned function stops them. When the default
// address is taken it says so and goes on without the server; an address the user gave
// must work.
func watchRun(cmd *cobra.Command, listen string, p *plan.Plan, cfg scale.AdvisorConfig) (*engine.Monitor, *scale.Advisor, func(), error) {
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
	if listen == "" {
		return mon, advisor, stopWatching, nil
	}
	srv, err := observe.Listen(listen, p, mon, observe.WithAdvisor(advisor))
	if err != nil {
		if !cmd.Flags().Changed("listen") {
			fmt.Fprintf(cmd.ErrOrStderr(), "millrace: metrics off: %v (choose another with --listen)\n", err)
			return mon, advisor, stopWatching, nil
		}
		stopWatching()
		return nil, nil, nil, usageError{err}
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "dashboard at http://%[1]s/ (metrics at /metrics, the dataflow's load at /api/topology, scaling advice at /api/scale)\n", srv.Addr())
	return mon, advisor, func() {
		stopWatching()
		if err := srv.Close(); err != nil {
			fmt.Fprintf(cmd.ErrOrStderr(), "millrace: metrics server: %v\n", err)
		}
	}, nil
}
