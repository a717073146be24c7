package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"millrace/format"
	"millrace/gen"
)

// HistoryWork is one work of the history benchmark: what millrace runs (a pipeline spec)
// and, by the same name, what the peer runs in DuckDB (see bench/peers).
type HistoryWork struct {
	// Name is the work's name for both sides: decode, scan, windows or groups.
	Name string
	// Parquet says the input is the Parquet file; otherwise it is the JSONL file.
	Parquet bool
	// What describes the work, with %s standing for the input's row count.
	What string
	// Spec is millrace's pipeline; ${IN} is the input file and ${OUT} the output directory.
	Spec string
	// Approx names the digest fields that are approximate on both sides (HyperLogLog
	// sketches differ between engines): they agree within ApproxTolerance.
	Approx []string
}

// ApproxTolerance is how far apart, relative to the peer's, the approximate fields of both
// sides' digests may be.
const ApproxTolerance = 0.02

// everyColumn is the select of the decode and scan works: every column of a transaction
// aggregated into one row, so that the reader must decode each one.
const everyColumn = `
    select:
      tx_count: count(*)
      amount: sum(amount)
      ts_min: min(ts)
      ts_max: max(ts)
      tx_id: max(tx_id)
      account_id: max(account_id)
      card_id: max(card_id)
      merchant_id: max(merchant_id)
      mcc: sum(mcc)
      currency: max(currency)
      country: max(country)
      channel: max(channel)
      lat: max(lat)
      lon: min(lon)
      frauds: count_if(is_fraud)
`

// digestSpec is the spec of pipeline name that reads every column of the input into one
// digest row: the decode and scan works differ only in their input.
func digestSpec(name string) string {
	return `
name: ` + name + `
sources:
  tx: {kind: file, path: "${IN}", schema: transaction}
views:
  digest:
    from: tx` + everyColumn + `
sinks:
  out: {from: digest, kind: parquet, path: "${OUT}"}
`
}

// HistoryWorks are the works of the history benchmark, in the order they run.
func HistoryWorks() []HistoryWork {
	return []HistoryWork{
		{Name: "decode", What: "decode %s JSONL transactions, all columns, one file", Spec: digestSpec("history-decode")},
		{Name: "scan", Parquet: true, What: "scan %s rows of Parquet, all columns", Spec: digestSpec("history-scan")},
		{Name: "windows", Parquet: true, What: "per-card 1-minute windows over %s rows, Parquet in, Parquet out", Spec: `
name: history-windows
sources:
  tx: {kind: file, path: "${IN}", schema: transaction, event_time: ts, watermark: 1s}
views:
  per_card:
    from: tx
    group_by: [card_id]
    window: {tumble: 1m}
    select: {tx_count: count(*), spend: sum(amount)}
sinks:
  out: {from: per_card, kind: parquet, path: "${OUT}"}
`},
		{Name: "groups", Parquet: true, Approx: []string{"cards"},
			What: "group-by merchant and country over %s rows: approx distinct cards, 0.99 quantile", Spec: `
name: history-groups
sources:
  tx: {kind: file, path: "${IN}", schema: transaction}
views:
  per_merchant:
    from: tx
    group_by: [merchant_id, country]
    select:
      tx_count: count(*)
      volume: sum(amount)
      cards: approx_count_distinct(card_id)
      p99: quantile(amount, 0.99)
sinks:
  out: {from: per_merchant, kind: parquet, path: "${OUT}"}
`},
	}
}

// HistoryConfig says what the history benchmark runs.
type HistoryConfig struct {
	// Dir holds the inputs, the specs and the outputs. Inputs already there (named by
	// rows and seed) are used again.
	Dir string
	// JSONLRows and ParquetRows are the sizes of the two inputs.
	JSONLRows, ParquetRows int64
	// Seed is the generator's.
	Seed int64
	// Millrace is the command line that runs millrace (the binary, then any arguments
	// before `run`); Env is added to its environment.
	Millrace []string
	Env      []string
	// Parallelism is millrace's -p (0: every core).
	Parallelism int
	// Peer is the path of the peer binary built from bench/peers.
	Peer string
	// Profiles, when set, is a directory where each millrace run writes a CPU profile,
	// WORK.pprof (for go tool pprof).
	Profiles string
	// Works names the works to run (nil: all of them).
	Works []string
	// Log receives a line as each step starts; nil discards them.
	Log io.Writer
}

// Side is one engine's figures for a work.
type Side struct {
	Elapsed time.Duration `json:"-"`
	// Seconds is Elapsed, for JSON.
	Seconds float64 `json:"seconds"`
	// CPUSeconds is the processor time the process used, user and system, from the OS: on
	// a machine that other work shares, the measure of the process's own work that its
	// wall time is not.
	CPUSeconds float64 `json:"cpu_seconds"`
	// PeakRSS is the most resident memory the process held, in bytes, from the OS.
	PeakRSS int64 `json:"peak_rss_bytes"`
	// Digest is the checksum of the side's output (see bench/peers: digest).
	Digest map[string]string `json:"digest"`
}

// HistoryResult is one row of the history benchmark's table.
type HistoryResult struct {
	Work     string `json:"work"`
	What     string `json:"what"`
	Millrace Side   `json:"millrace"`
	DuckDB   Side   `json:"duckdb"`
	// Differ lists the digest fields on which the sides disagree; empty when they did the
	// same work.
	Differ []string `json:"differ,omitempty"`
}

// TimeRatio is millrace's time over DuckDB's.
func (r HistoryResult) TimeRatio() float64 { return r.Millrace.Seconds / r.DuckDB.Seconds }

// CPURatio is millrace's processor time over DuckDB's.
func (r HistoryResult) CPURatio() float64 { return r.Millrace.CPUSeconds / r.DuckDB.CPUSeconds }

// MemoryRatio is millrace's peak memory over DuckDB's.
func (r HistoryResult) MemoryRatio() float64 {
	return float64(r.Millrace.PeakRSS) / float64(r.DuckDB.PeakRSS)
}

// History generates the inputs (not timed), then runs every work with millrace and with the
// peer, each in a process of its own so that its time and peak memory are its own, and
// digests both outputs. A work whose digests differ is reported in its result's Differ and
// makes the error returned, after every work has run.
func History(ctx context.Context, cfg HistoryConfig) ([]HistoryResult, error) {
	if len(cfg.Millrace) == 0 || cfg.Peer == "" {
		return nil, errors.New("bench history: needs the millrace command and the peer's path")
	}
	logf := func(format string, args ...any) {
		if cfg.Log != nil {
			fmt.Fprintf(cfg.Log, format+"\n", args...)
		}
	}
	works, err := pickWorks(cfg.Works)
	if err != nil {
		return nil, err
	}
	jsonl := filepath.Join(cfg.Dir, "in", fmt.Sprintf("tx-%d-seed%d.jsonl", cfg.JSONLRows, cfg.Seed))
	parquet := filepath.Join(cfg.Dir, "in", fmt.Sprintf("tx-%d-seed%d.parquet", cfg.ParquetRows, cfg.Seed))
	for _, in := range []struct {
		path string
		rows int64
		kind format.Kind
	}{{jsonl, cfg.JSONLRows, format.JSONL}, {parquet, cfg.ParquetRows, format.Parquet}} {
		if _, err := os.Stat(in.path); err == nil {
			logf("input %s is there already", in.path)
			continue
		}
		logf("generating %d rows into %s", in.rows, in.path)
		if err := generate(ctx, in.path, in.rows, cfg.Seed, in.kind); err != nil {
			return nil, err
		}
	}
	var results []HistoryResult
	var failed []string
	for _, w := range works {
		in, rows := jsonl, cfg.JSONLRows
		if w.Parquet {
			in, rows = parquet, cfg.ParquetRows
		}
		r, err := runWork(ctx, cfg, w, in, logf)
		if err != nil {
			return results, err
		}
		r.What = fmt.Sprintf(w.What, grouped(rows))
		if len(r.Differ) > 0 {
			failed = append(failed, fmt.Sprintf("%s (%s)", w.Name, strings.Join(r.Differ, "; ")))
		}
		results = append(results, r)
	}
	if len(failed) > 0 {
		return results, fmt.Errorf("bench history: millrace and DuckDB disagree on %s", strings.Join(failed, ", "))
	}
	return results, nil
}

// pickWorks returns the works named, in the benchmark's order; all of them for none.
func pickWorks(names []string) ([]HistoryWork, error) {
	all := HistoryWorks()
	if len(names) == 0 {
		return all, nil
	}
	var out []HistoryWork
	known := make([]string, len(all))
	for i, w := range all {
		known[i] = w.Name
	}
	for _, n := range names {
		found := false
		for _, w := range all {
			if w.Name == n {
				out, found = append(out, w), true
			}
		}
		if !found {
			return nil, fmt.Errorf("bench history: no work %q (works: %s)", n, strings.Join(known, ", "))
		}
	}
	return out, nil
}

// generate writes rows transactions of seed to path in kind, atomically: a file there is
// complete.
func generate(ctx context.Context, path string, rows, seed int64, kind format.Kind) error {
	cfg := gen.DefaultConfig()
	cfg.Rows, cfg.Seed = rows, seed
	f, err := format.CreateFile(path)
	if err != nil {
		return err
	}
	if _, err := gen.Write(ctx, cfg, f, kind, format.WriteOptions{}, nil); err != nil {
		f.Abort()
		return fmt.Errorf("generate %s: %w", path, err)
	}
	return f.Close()
}

// runWork runs one work on both sides and digests both outputs.
func runWork(ctx context.Context, cfg HistoryConfig, w HistoryWork, in string, logf func(string, ...any)) (HistoryResult, error) {
	r := HistoryResult{Work: w.Name}
	out := filepath.Join(cfg.Dir, "out", w.Name)
	mine, theirs := filepath.Join(out, "millrace"), filepath.Join(out, "duckdb.parquet")
	if err := os.RemoveAll(out); err != nil {
		return r, fmt.Errorf("bench history: clear %s: %w", out, err)
	}
	specPath := filepath.Join(cfg.Dir, "specs", w.Name+".yaml")
	text := strings.NewReplacer("${IN}", in, "${OUT}", mine).Replace(w.Spec)
	if err := os.MkdirAll(filepath.Dir(specPath), 0o755); err != nil {
		return r, err
	}
	if err := os.WriteFile(specPath, []byte(text), 0o644); err != nil {
		return r, err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return r, err
	}

	args := append(append([]string{}, cfg.Millrace[1:]...), "run", specPath, "--no-checkpoint", "--listen", "")
	if cfg.Parallelism > 0 {
		args = append(args, "-p", strconv.Itoa(cfg.Parallelism))
	}
	if cfg.Profiles != "" {
		if err := os.MkdirAll(cfg.Profiles, 0o755); err != nil {
			return r, err
		}
		args = append(args, "--cpuprofile", filepath.Join(cfg.Profiles, w.Name+".pprof"))
	}
	logf("%s: millrace %s", w.Name, strings.Join(args[len(cfg.Millrace)-1:], " "))
	var err error
	if r.Millrace, _, err = measure(ctx, cfg.Millrace[0], args, cfg.Env); err != nil {
		return r, fmt.Errorf("bench history: %s: millrace: %w", w.Name, err)
	}
	peerArgs := []string{"run", "--work", w.Name, "--in", in, "--out", theirs}
	logf("%s: %s %s", w.Name, cfg.Peer, strings.Join(peerArgs, " "))
	if r.DuckDB, _, err = measure(ctx, cfg.Peer, peerArgs, nil); err != nil {
		return r, fmt.Errorf("bench history: %s: DuckDB: %w", w.Name, err)
	}

	// The digests are not timed: each reads one side's output in a process of its own.
	for _, d := range []struct {
		side *Side
		glob string
	}{{&r.Millrace, filepath.Join(mine, "*.parquet")}, {&r.DuckDB, theirs}} {
		_, stdout, err := measure(ctx, cfg.Peer, []string{"digest", "--work", w.Name, "--parquet", d.glob}, nil)
		if err != nil {
			return r, fmt.Errorf("bench history: %s: digest of %s: %w", w.Name, d.glob, err)
		}
		if err := json.Unmarshal(stdout, &d.side.Digest); err != nil {
			return r, fmt.Errorf("bench history: %s: digest of %s: %w (printed %q)", w.Name, d.glob, err, stdout)
		}
	}
	r.Differ = CompareDigests(r.Millrace.Digest, r.DuckDB.Digest, w.Approx)
	return r, nil
}

// grouped writes n with its digits in groups of three: 10,000,000.
func grouped(n int64) string {
	s := strconv.FormatInt(n, 10)
	for i := len(s) - 3; i > 0 && s[i-1] != '-'; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// lastLines keeps the last n lines of s.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
