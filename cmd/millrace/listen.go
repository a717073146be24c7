package main

import (
	"fmt"
	"time"

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

// serveMetrics starts the metrics server of a run, if listen is set, and returns the monitor
// to give the run, the scaling advisor the server runs (nil if none) and a function that
// stops the server. When the default address is taken
// it says so and goes on without; an address the user gave must work. The server advises
// on scaling too: season is the daily cycle of the input as the run sees it (a day, or less
// when event time runs faster than the clock), for the forecast.
func serveMetrics(cmd *cobra.Command, listen string, p *plan.Plan, season time.Duration) (*engine.Monitor, *scale.Advisor, func(), error) {
	mon := &engine.Monitor{}
	if listen == "" {
		return mon, nil, func() {}, nil
	}
	lim := scale.DefaultLimits()
	lim.Min = 1
	advisor, err := scale.NewAdvisor(scale.AdvisorConfig{Sources: p.Sources, Season: season,
		Policy: scale.Policy{Mode: scale.Predictive, Limits: lim}})
	if err != nil {
		return nil, nil, nil, err
	}
	srv, err := observe.Listen(listen, p, mon, observe.WithAdvisor(advisor))
	if err != nil {
		if !cmd.Flags().Changed("listen") {
			fmt.Fprintf(cmd.ErrOrStderr(), "millrace: metrics off: %v (choose another with --listen)\n", err)
			return mon, nil, func() {}, nil
		}
		return nil, nil, nil, usageError{err}
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "dashboard at http://%[1]s/ (metrics at /metrics, the dataflow's load at /api/topology, scaling advice at /api/scale)\n", srv.Addr())
	return mon, advisor, func() {
		if err := srv.Close(); err != nil {
			fmt.Fprintf(cmd.ErrOrStderr(), "millrace: metrics server: %v\n", err)
		}
	}, nil
}
