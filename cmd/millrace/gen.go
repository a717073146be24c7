package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"millrace/format"
	"millrace/gen"
)

// genFlags are the flags of `gen`, shared with `demo`.
type genFlags struct {
	rows        int64
	duration    time.Duration
	seed        int64
	format      string
	out         string
	to          string
	toTokenFile string
	start       string
	rate        float64
	flat        bool
	surges      []string
	surgeFor    time.Duration
	fraudRate   float64
	corruptRate float64
	disorder    time.Duration
	lateRate    float64
	dupRate     float64
	accounts    int
	merchants   int
	paced       bool
	speed       float64
	compression string
	scenario    bool
}

func (f *genFlags) register(cmd *cobra.Command) {
	d := gen.DefaultConfig()
	fl := cmd.Flags()
	fl.Int64Var(&f.rows, "rows", 0, "rows to generate (default 1,000,000 unless --duration bounds the stream)")
	fl.DurationVar(&f.duration, "duration", 0, "event time to cover, e.g. 24h (with --rows, whichever ends first)")
	fl.Int64Var(&f.seed, "seed", d.Seed, "random seed: the same flags give byte-identical output")
	fl.StringVar(&f.format, "format", "", "jsonl, csv or parquet (default: from --out's name, else jsonl)")
	fl.StringVarP(&f.out, "out", "o", "-", "output file (.gz or .zst compresses text), or - for stdout")
	fl.StringVar(&f.to, "to", "", "send each record as one message to a live target instead: "+strings.Join(targetSchemes, ", ")+
		" (JSON, keyed by card_id; kafka: ?partitions=N creates a missing topic; nats: ?partitions=N sends to SUBJECT.0..N-1 by card_id, ?stream=NAME creates a missing stream; http: NDJSON batches, each retried until stored)")
	fl.StringVar(&f.toTokenFile, "to-token-file", "", "file holding the bearer token an http --to target asks for")
	fl.StringVar(&f.start, "start", "", "event time of the first row, RFC 3339 or YYYY-MM-DD (default 2024-01-01, or now when paced)")
	fl.Float64Var(&f.rate, "rate", d.Rate, "mean records per second of event time over a week")
	fl.BoolVar(&f.flat, "flat", false, "no daily or weekly curve: the rate is --rate at all times")
	fl.StringSliceVar(&f.surges, "surge", nil, "rate surge [daily] AT x FACTOR [/ FOR], e.g. 03:00x10, 'daily 03:00x4/30m' or 2024-01-31T18:00x4/2h; repeatable")
	fl.DurationVar(&f.surgeFor, "surge-for", gen.DefaultSurgeFor, "how long a surge lasts when it does not say")
	fl.Float64Var(&f.fraudRate, "fraud-rate", d.FraudRate, "fraction of rows in labelled fraud scenarios (is_fraud)")
	fl.BoolVar(&f.scenario, "scenario-column", false, "add a column fraud_scenario: the fraud scenario of a row (card_testing, account_takeover, compromised_merchant), null for normal traffic")
	fl.Float64Var(&f.corruptRate, "corrupt-rate", 0, "fraction of malformed records (jsonl and csv only)")
	fl.DurationVar(&f.disorder, "disorder", 0, "deliver rows out of event-time order within this bound, e.g. 2s")
	fl.Float64Var(&f.lateRate, "late-rate", 0, "fraction of rows delivered later than --disorder allows")
	fl.Float64Var(&f.dupRate, "dup-rate", 0, "fraction of rows delivered twice (same tx_id)")
	fl.IntVar(&f.accounts, "accounts", d.Accounts, "number of accounts (each has 1-3 cards)")
	fl.IntVar(&f.merchants, "merchants", d.Merchants, "number of merchants")
	fl.BoolVar(&f.paced, "paced", false, "emit in real time along the rate curve instead of as fast as possible")
	fl.Float64Var(&f.speed, "speed", 0, "paced: event time runs this many times faster than the clock (implies --paced)")
	fl.StringVar(&f.compression, "compression", string(format.Zstd), "parquet page codec: zstd, snappy or none")
}

// config turns the flags into a generator config. Paced mode is asked for by --paced or
// --speed, or by giving --rate without --rows or --duration.
func (f *genFlags) config(cmd *cobra.Command) (gen.Config, error) {
	c := gen.DefaultConfig()
	c.Seed, c.Rate, c.Flat = f.seed, f.rate, f.flat
	c.FraudRate, c.CorruptRate, c.DupRate, c.LateRate = f.fraudRate, f.corruptRate, f.dupRate, f.lateRate
	c.Disorder, c.Accounts, c.Merchants = f.disorder, f.accounts, f.merchants
	c.Rows, c.Duration, c.ScenarioColumn = f.rows, f.duration, f.scenario
	fl := cmd.Flags()
	paced := f.paced || f.speed > 0 || (fl.Changed("rate") && !fl.Changed("rows") && !fl.Changed("duration"))
	if paced {
		c.Speed = max(f.speed, 1)
	} else if c.Rows == 0 && c.Duration == 0 {
		c.Rows = gen.DefaultConfig().Rows
	}
	if f.start != "" {
		t, err := parseStart(f.start)
		if err != nil {
			return c, usagef("--start: %v", err)
		}
		c.Start = t
	}
	surges, err := gen.ParseSurges(strings.Join(f.surges, ","), f.surgeFor)
	if err != nil {
		return c, usagef("--surge: %v", err)
	}
	c.Surges = surges
	if err := c.Validate(); err != nil {
		return c, usageError{err}
	}
	return c, nil
}

func parseStart(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither RFC 3339 nor YYYY-MM-DD", s)
	}
	return t, nil
}

// kind picks the output format from --format or the output's name.
func (f *genFlags) kind() (format.Kind, error) {
	if f.format != "" {
		k, err := format.ParseKind(f.format)
		if err != nil {
			return "", usagef("--format: %v", err)
		}
		return k, nil
	}
	if f.to != "" {
		return format.JSONL, nil
	}
	if f.out != "-" {
		k, _, err := format.Detect(f.out)
		if err != nil {
			return "", usagef("--out: %v; or give --format", err)
		}
		return k, nil
	}
	return format.JSONL, nil
}

func newGenCmd() *cobra.Command {
	var f genFlags
	cmd := &cobra.Command{
		Use:   "gen",
		Short: "Generate card and account transactions",
		Long: `gen writes realistic card and account transactions of the built-in transaction schema:
power-law activity over accounts, cards and merchants (hot keys), plausible amounts per
merchant category, home countries and currencies, channels, coordinates for card-present
payments, and labelled fraud scenarios (card testing, account takeover, compromised merchant).

The same flags always give byte-identical output. By default the output is clean: tx_id is
unique and nothing is late, duplicated or corrupt; --disorder, --late-rate, --dup-rate and
--corrupt-rate add what a real feed brings.

Two modes:
  fast    with --rows or --duration: as fast as possible, event times following the rate curve
  paced   with --rate alone, --paced or --speed: records appear in real time along the curve
          (a daily and weekly pattern around --rate, plus surges), until Ctrl-C or --duration`,
		Example: `  millrace gen --rows 10000000 --seed 7 --format parquet --out data/tx.parquet
  millrace gen --duration 24h --rate 200 --disorder 2s --dup-rate 0.001 --out day.jsonl.zst
  millrace gen --rows 100000 --corrupt-rate 0.02 --format csv --out dirty.csv
  millrace gen --rate 2000 --surge 03:00x10 --to kafka://localhost:9092/tx
  millrace gen --rows 100000 --to 'kafka://localhost:9092/tx?partitions=4'
  millrace gen --rate 500 --speed 1 --to 'nats://127.0.0.1:4222/tx?partitions=4&stream=TX'
  millrace gen --rate 500 --to http://127.0.0.1:8081/ingest/tx`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := f.config(cmd)
			if err != nil {
				return err
			}
			if f.to != "" {
				return f.generateTo(cmd, cfg)
			}
			kind, err := f.kind()
			if err != nil {
				return err
			}
			stats, err := generate(cmd, cfg, kind, f.out, format.Compression(f.compression))
			if err != nil {
				return err
			}
			if f.out != "-" {
				printStats(cmd.OutOrStdout(), f.out, stats)
			}
			return nil
		},
	}
	f.register(cmd)
	return cmd
}

// generateTo sends the stream of cfg to the live target of --to, one JSON record a message,
// with progress on stderr.
func (f *genFlags) generateTo(cmd *cobra.Command, cfg gen.Config) error {
	fl := cmd.Flags()
	if fl.Changed("out") || fl.Changed("format") && f.format != string(format.JSONL) {
		return usagef("--to sends JSON records: give no --out and no --format other than jsonl")
	}
	target, err := openTarget(cmd.Context(), f.to, f.toTokenFile)
	if err != nil {
		return err
	}
	p := genProgress(cfg)
	stats, err := gen.Write(cmd.Context(), cfg, target, format.JSONL, format.WriteOptions{}, p.genUpdate(cfg))
	p.done()
	if cerr := target.Close(); err == nil {
		err = cerr
	}
	if err != nil && cmd.Context().Err() != nil {
		return fmt.Errorf("%w after %s rows", errInterrupted, humanInt(stats.Rows))
	}
	if err != nil {
		return err
	}
	printStats(cmd.OutOrStdout(), f.to, stats)
	return nil
}

// generate writes the stream of cfg to out ("-" for stdout) with progress on stderr.
func generate(cmd *cobra.Command, cfg gen.Config, kind format.Kind, out string, codec format.Compression) (gen.Stats, error) {
	if cfg.CorruptRate > 0 && kind == format.Parquet {
		return gen.Stats{}, usagef("--corrupt-rate needs a text format (jsonl or csv): Parquet has no malformed records")
	}
	switch codec {
	case "", format.Zstd, format.Snappy, format.Uncompressed:
	default:
		return gen.Stats{}, usagef("--compression: unknown codec %q (want zstd, snappy or none)", codec)
	}
	w := cmd.OutOrStdout()
	var file *format.File
	if out == "-" {
		if kind == format.Parquet && term.IsTerminal(int(os.Stdout.Fd())) {
			return gen.Stats{}, usagef("refusing to write Parquet to a terminal; give --out FILE")
		}
	} else {
		var err error
		if file, err = format.CreateFile(out); err != nil {
			return gen.Stats{}, err
		}
		w = file
	}
	var p *progress
	if out != "-" || cfg.Speed == 0 {
		p = genProgress(cfg)
	}
	stats, err := gen.Write(cmd.Context(), cfg, w, kind, format.WriteOptions{Compression: codec}, p.genUpdate(cfg))
	if p != nil {
		p.done()
	}
	if file != nil {
		if err != nil {
			file.Abort()
			if cmd.Context().Err() != nil {
				return stats, fmt.Errorf("%w after %s rows; %s was not written", errInterrupted, humanInt(stats.Rows), out)
			}
			return stats, err
		}
		return stats, file.Close()
	}
	if err != nil && cmd.Context().Err() != nil {
		return stats, fmt.Errorf("%w after %s rows", errInterrupted, humanInt(stats.Rows))
	}
	return stats, err
}

// genProgress reports the progress of generating cfg's stream: in rows, or in seconds of
// event time when --duration bounds it.
func genProgress(cfg gen.Config) *progress {
	total, unit := float64(cfg.Rows), "rows"
	if cfg.Duration > 0 && (cfg.Rows == 0 || cfg.Speed > 0) {
		total, unit = cfg.Duration.Seconds(), "s"
	}
	return newProgress("gen", total, unit)
}

// genUpdate is the progress callback of gen.Write; on a nil progress it reports nothing.
func (p *progress) genUpdate(cfg gen.Config) func(rows int64, eventTime time.Time) {
	start := cfg.Start
	return func(rows int64, eventTime time.Time) {
		if p == nil {
			return
		}
		if start.IsZero() {
			start = eventTime
		}
		done := float64(rows)
		if p.unit == "s" {
			done = eventTime.Sub(start).Seconds()
		}
		p.update(rows, done)
	}
}

func printStats(w io.Writer, out string, s gen.Stats) {
	fmt.Fprintf(w, "wrote %s rows to %s\n", humanInt(s.Rows), out)
	fmt.Fprintf(w, "  event time %s .. %s\n", s.First.UTC().Format(time.RFC3339), s.Last.UTC().Format(time.RFC3339))
	fmt.Fprintf(w, "  fraud %s (%.2f%%), duplicates %s, late %s, corrupt %s\n",
		humanInt(s.Fraud), pct(s.Fraud, s.Rows), humanInt(s.Dups), humanInt(s.Late), humanInt(s.Corrupt))
}

func pct(n, of int64) float64 {
	if of == 0 {
		return 0
	}
	return 100 * float64(n) / float64(of)
}
