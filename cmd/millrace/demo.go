package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"millrace/format"
	"millrace/gen"
)

func newDemoCmd() *cobra.Command {
	var (
		dir   string
		rate  float64
		seed  int64
		start string
	)
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Generate a day of transactions and a raw feed, and show how to look at them",
		Long: `demo writes, under --dir (default ./millrace-demo/):
  transactions.parquet   a clean day of card and account transactions (zstd Parquet)
  feed.jsonl.gz          an hour of a raw feed as a source would deliver it: out of order,
                         with duplicates, late records and malformed ones

and prints what it wrote and how to look at it. Until the engine lands this is the whole
demo; the engine turns it into a live pipeline with a dashboard.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			day := gen.DefaultConfig()
			day.Seed, day.Rate, day.Rows, day.Duration = seed, rate, 0, 24*time.Hour
			if start != "" {
				t, err := parseStart(start)
				if err != nil {
					return usagef("--start: %v", err)
				}
				day.Start = t
			}
			if err := day.Validate(); err != nil {
				return usageError{err}
			}
			out := cmd.OutOrStdout()
			lake := filepath.Join(dir, "transactions.parquet")
			fmt.Fprintf(out, "generating a day of transactions at %s records/s on average into %s\n", humanRate(rate), lake)
			stats, err := generate(cmd, day, format.Parquet, lake, format.Zstd)
			if err != nil {
				return err
			}
			printStats(out, lake, stats)
			printFraud(out, stats)

			feed := day
			feed.Duration = time.Hour
			if feed.Start.IsZero() {
				feed.Start = gen.DefaultStart
			}
			feed.Start = feed.Start.Add(12 * time.Hour)
			feed.Disorder, feed.LateRate, feed.DupRate, feed.CorruptRate = 2*time.Second, 0.001, 0.002, 0.005
			path := filepath.Join(dir, "feed.jsonl.gz")
			fmt.Fprintf(out, "\ngenerating an hour of a raw feed into %s\n", path)
			fstats, err := generate(cmd, feed, format.JSONL, path, "")
			if err != nil {
				return err
			}
			printStats(out, path, fstats)

			self := "millrace"
			if _, err := os.Stat("cmd/millrace"); err == nil {
				self = "go run ./cmd/millrace"
			}
			fmt.Fprintf(out, `
look at it:
  %[1]s inspect %[2]s --head 5
  %[1]s inspect %[3]s --dead 5          # every malformed record, with line and reason
  duckdb -c "SELECT channel, count(*), sum(amount) FROM '%[2]s' GROUP BY ALL"
`, self, lake, path)
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "millrace-demo", "directory to write into")
	cmd.Flags().Float64Var(&rate, "rate", 50, "mean records per second of the day")
	cmd.Flags().Int64Var(&seed, "seed", 1, "random seed")
	cmd.Flags().StringVar(&start, "start", "", "the day, YYYY-MM-DD (default 2024-01-01, a Monday)")
	return cmd
}

func printFraud(w io.Writer, s gen.Stats) {
	for i, n := range s.FraudBy {
		if n > 0 {
			fmt.Fprintf(w, "  fraud scenario %-20s %s rows\n", gen.Scenario(i).String()+":", humanInt(n))
		}
	}
}
