package main

import (
	"encoding/json"
	"fmt"
	"os"
	"runtime"

	"github.com/spf13/cobra"

	"millrace/bench"
)

// newBenchHistoryCmd is `bench history`: millrace against DuckDB on the same files.
func newBenchHistoryCmd() *cobra.Command {
	cfg := bench.HistoryConfig{}
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "history --peer PATH",
		Short: "Run millrace and DuckDB on the same transaction history and compare time and memory",
		Long: `history generates a JSONL file and a Parquet file of transactions (not timed; kept in
--dir and used again when their sizes and seed match), then runs each work with millrace
(millrace run, a process of its own) and with DuckDB (the peer binary, another process), and
prints per work both wall times, both processor times (user and system; the measure to
compare on a machine that other work shares), both peak memories (the OS's maximum resident
set size of each process) and millrace's ratios over DuckDB's. The works:

  decode   the JSONL file, every column, into one digest row
  scan     the Parquet file, every column, into one digest row
  windows  per card and 1-minute tumbling window, Parquet in, Parquet out
  groups   per merchant and country, with approx_count_distinct and a 0.99 quantile

Both outputs of a work are then digested (row counts, exact sums, extremes) and must agree:
the benchmark fails when the two did not do the same work. The specs millrace runs are left
in --dir/specs.

The peer is a separate program, because DuckDB is C++ and millrace stays pure Go. Build it
from the repository with cgo (a C compiler) once:

  (cd bench/peers && go build -o /tmp/duckdb-peer .)`,
		Example: `  millrace bench history --peer /tmp/duckdb-peer
  millrace bench history --peer /tmp/duckdb-peer --jsonl-rows 200000 --parquet-rows 1000000 --work scan,groups`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cfg.Peer == "" {
				return usagef("--peer: the path of the DuckDB peer is needed: build it with (cd bench/peers && go build -o /tmp/duckdb-peer .)")
			}
			if cfg.JSONLRows <= 0 || cfg.ParquetRows <= 0 {
				return usagef("--jsonl-rows and --parquet-rows must be positive, not %d and %d", cfg.JSONLRows, cfg.ParquetRows)
			}
			self, err := os.Executable()
			if err != nil {
				return fmt.Errorf("find the millrace binary to run: %w", err)
			}
			cfg.Millrace = []string{self}
			if cfg.Dir == "" {
				if cfg.Dir, err = os.MkdirTemp("", "millrace-history-"); err != nil {
					return err
				}
				defer func() { _ = os.RemoveAll(cfg.Dir) }() // a leftover temporary directory is harmless
			}
			cfg.Log = cmd.ErrOrStderr()
			results, runErr := bench.History(cmd.Context(), cfg)
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				for _, r := range results {
					if err := enc.Encode(r); err != nil {
						return err
					}
				}
			} else if len(results) > 0 {
				if err := bench.WriteHistoryTable(cmd.OutOrStdout(), results); err != nil {
					return err
				}
			}
			return runErr
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&cfg.Peer, "peer", "", "path of the DuckDB peer binary built from bench/peers")
	fl.Int64Var(&cfg.JSONLRows, "jsonl-rows", 2_000_000, "transactions in the JSONL input")
	fl.Int64Var(&cfg.ParquetRows, "parquet-rows", 10_000_000, "transactions in the Parquet input")
	fl.Int64Var(&cfg.Seed, "seed", 1, "generator seed")
	fl.StringVar(&cfg.Dir, "dir", "", "work directory: inputs, specs and outputs (default: a temporary one, removed after)")
	fl.StringSliceVar(&cfg.Works, "work", nil, "works to run (default all): decode, scan, windows, groups")
	fl.IntVarP(&cfg.Parallelism, "parallelism", "p", runtime.GOMAXPROCS(0), "millrace's subtasks per parallel step")
	fl.StringVar(&cfg.Profiles, "cpuprofiles", "", "directory where each millrace run writes a CPU profile, WORK.pprof (go tool pprof -top)")
	fl.BoolVar(&asJSON, "json", false, "print one JSON object per work instead of the table")
	return cmd
}
