package main

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"millrace/bench"
	"millrace/engine"
)

func newBenchCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Run benchmark workloads and report throughput",
	}
	var (
		query, cpuProfile string
		events            int64
		parallelism       int
	)
	nx := &cobra.Command{
		Use:   "nexmark",
		Short: "Run a Nexmark query on the in-process Nexmark generator",
		Long: `nexmark runs a Nexmark query (standard generator: person:auction:bid 1:3:46, hot auctions,
bidders and sellers, 1000 active people, 100 auctions in flight) and prints the events per
second, over all cores and per core (GOMAXPROCS=1 gives a one-core figure). Events count
every kind, as Nexmark reports do; a query generates only the kinds it reads. With
--query all it runs every query in turn and prints one Markdown table.

Queries: ` + fmt.Sprint(bench.NexmarkQueries()) + `: q0 pass-through, q1 currency conversion,
q2 selection, q3 local item suggestion (regular join), q4 average price per category (an
aggregate of a changelog), q5 hot items (most bids per 10 s window every 2 s), q6 average
selling price by seller (over the last rows), q7 highest bid per 10 s window, q8 new users
(window join), q9 winning bids (each auction's highest bid of its lifetime, a changelog),
q10 bids with day and minute, q11 user sessions, q13 bounded side input join (a side-input
file), q14 calculation, q15 bidding statistics per day and q16 per channel and day (exact
distinct counts with FILTER), q17 auction statistics per day,
q18 last bid per bidder and auction, q19 the 10 highest bids of each auction (a changelog),
q20 bids with their auction (regular join), q21 channel id, q22 URL directories.
docs/nexmark.md says why the others are left out.`,
		Example: `  millrace bench nexmark --query q1 --events 50000000
  millrace bench nexmark --query all --events 10000000`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) (err error) {
			stopProfile, err := startCPUProfile(cpuProfile)
			if err != nil {
				return err
			}
			defer func() { err = errors.Join(err, stopProfile()) }()
			queries := []string{query}
			if query == "all" {
				queries = bench.NexmarkQueries()
			} else if !slices.Contains(bench.NexmarkQueries(), query) {
				return usagef("--query %s: want all or one of %v", query, bench.NexmarkQueries())
			}
			var results []bench.Result
			for _, q := range queries {
				r, err := bench.Nexmark(cmd.Context(), q, events, parallelism, engine.DefaultOptions())
				if err != nil {
					return err
				}
				if query != "all" {
					_, err = fmt.Fprintln(cmd.OutOrStdout(), r)
					return err
				}
				results = append(results, r)
			}
			return bench.WriteNexmarkTable(cmd.OutOrStdout(), results)
		},
	}
	nx.Flags().StringVar(&query, "query", "q0", "query to run, or all")
	nx.Flags().Int64Var(&events, "events", 10_000_000, "events to generate")
	nx.Flags().IntVarP(&parallelism, "parallelism", "p", runtime.GOMAXPROCS(0), "subtasks per step")
	nx.Flags().StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of the run to this file (read it with go tool pprof)")
	var rows int64
	var dir string
	var every time.Duration
	tx := &cobra.Command{
		Use:   "tx",
		Short: "Run the transaction benchmark: JSONL decode, checks, three windowed views, Parquet sinks",
		Long: `tx generates --rows transactions as JSONL files (not timed), then runs a pipeline over them
(checks, spend per card over hopping windows, volume per merchant and country and per
country and channel per minute, Parquet sinks) and prints rows per second over all cores
and per core. With --checkpoint-interval it takes checkpoints as run does (in the work
directory), to measure what exactly-once costs.`,
		Example: `  millrace bench tx --rows 5000000
  millrace bench tx --rows 5000000 --checkpoint-interval 10s`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			work := dir
			if work == "" {
				var err error
				if work, err = os.MkdirTemp("", "millrace-bench-"); err != nil {
					return err
				}
				defer func() { _ = os.RemoveAll(work) }() // a leftover temporary directory is harmless
			}
			r, err := bench.Transactions(cmd.Context(), work, rows, parallelism, every)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(cmd.OutOrStdout(), r)
			return err
		},
	}
	tx.Flags().Int64Var(&rows, "rows", 2_000_000, "transactions to generate and process")
	tx.Flags().StringVar(&dir, "dir", "", "work directory (default: a temporary one, removed after)")
	tx.Flags().DurationVar(&every, "checkpoint-interval", 0, "take checkpoints this often (default: none)")
	tx.Flags().IntVarP(&parallelism, "parallelism", "p", runtime.GOMAXPROCS(0), "subtasks per parallel step")
	cmd.AddCommand(nx, tx, newBenchAlertsCmd(), newBenchHistoryCmd())
	return cmd
}
