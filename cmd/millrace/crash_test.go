package main

import (
	"context"
	"errors"
	"flag"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"millrace/format"
)

// The crash test's child processes are this test binary running main.
const runMainEnv = "MILLRACE_TEST_RUN_MAIN"

var crashLong = flag.Bool("crash.long", false, "crash test: a larger input and more kills")

func TestMain(m *testing.M) {
	if os.Getenv(runMainEnv) == "1" {
		main()
		os.Exit(0)
	}
	flag.Parse()
	os.Exit(m.Run())
}

// crashSpec reads the generated files under TX into windowed views, a filter, dead letters
// and late rows, written as Parquet part files, JSONL and CSV under OUT.
const crashSpec = `
name: crash
sources:
  tx:
    kind: file
    path: ${TX}
    schema: transaction
    event_time: ts
    watermark: 2s
    checks: [amount > 0]
views:
  velocity:
    from: tx
    group_by: [card_id]
    window: {hop: 10m, every: 1m}
    select: {tx_count: count(*), spend: sum(amount), merchants: approx_count_distinct(merchant_id)}
    having: tx_count >= 3
  volume:
    from: tx
    group_by: [country]
    window: {tumble: 1m}
    select:
      tx_count: count(*)
      volume: sum(amount)
      p99: quantile(amount, 0.99)
  large:
    from: tx
    where: amount >= 1000
    select: {tx_id: tx_id, card_id: card_id, amount: amount}
sinks:
  velocity_lake: {from: velocity, kind: parquet, path: "${OUT}/velocity", partition_by: [date(window_end)]}
  volume_lake:   {from: volume, kind: csv, path: "${OUT}/volume"}
  alerts:        {from: large, kind: jsonl, path: "${OUT}/large.jsonl"}
  dead:          {from: tx.dead_letters, kind: jsonl, path: "${OUT}/dead.jsonl"}
  late:          {from: tx.late, kind: parquet, path: "${OUT}/late.parquet"}
`

// TestCrashAndResumeIsExactlyOnce runs the real CLI over generated files, kills it with
// SIGKILL at random moments, runs it again, each time at another parallelism, until it
// completes, and checks that every sink holds exactly what an uninterrupted run writes:
// nothing lost, nothing twice.
func TestCrashAndResumeIsExactlyOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("kills and restarts a real process for several seconds")
	}
	files, rows, kills := 2, 200_000, 8
	if *crashLong {
		files, rows, kills = 4, 1_000_000, 25
	}
	dir := t.TempDir()
	for i := range files {
		mustRun(t, "gen", "--rows", strconv.Itoa(rows), "--seed", strconv.Itoa(i+1), "--disorder", "2s", "--late-rate", "0.002",
			"--corrupt-rate", "0.001", "--out", filepath.Join(dir, "tx", "part-"+strconv.Itoa(i)+".jsonl"))
	}
	spec := filepath.Join(dir, "crash.yaml")
	if err := os.WriteFile(spec, []byte(crashSpec), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TX", filepath.Join(dir, "tx", "*.jsonl"))

	t.Setenv("OUT", filepath.Join(dir, "want"))
	mustRun(t, "run", spec, "-p", "2", "--listen", "", "--no-checkpoint")

	rng := rand.New(rand.NewPCG(7, uint64(rows)))
	out := filepath.Join(dir, "got")
	killed := 0
	for attempt := 0; ; attempt++ {
		if attempt > 4*kills+20 {
			t.Fatalf("the run did not complete after %d attempts", attempt)
		}
		// Each attempt resumes at another parallelism: the state moves by key group.
		p := strconv.Itoa(1 + attempt%3)
		args := []string{"run", spec, "-p", p, "--listen", "", "--checkpoint", filepath.Join(dir, "checkpoints"), "--checkpoint-interval", "150ms"}
		cmd := exec.Command(os.Args[0], args...)
		cmd.Env = append(os.Environ(), runMainEnv+"=1", "OUT="+out)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		var err error
		if killed < kills {
			// Kill somewhere in the first seconds: before the first checkpoint, during one,
			// between them, or while sinks publish.
			select {
			case err = <-done:
			case <-time.After(time.Duration(50+rng.IntN(2500)) * time.Millisecond):
				if kerr := cmd.Process.Signal(syscall.SIGKILL); kerr != nil && !errors.Is(kerr, os.ErrProcessDone) {
					t.Fatal(kerr)
				}
				if werr := <-done; werr == nil {
					t.Logf("attempt %d ended before its kill", attempt)
				}
				killed++
				t.Logf("killed attempt %d; it said: %s", attempt, strings.TrimSpace(firstLine(stderr.String())))
				continue
			}
		} else {
			err = <-done
		}
		if err != nil {
			t.Fatalf("attempt %d: %v\n%s", attempt, err, stderr.String())
		}
		t.Logf("completed after %d kills and %d attempts; it said: %s", killed, attempt+1, firstLine(stderr.String()))
		break
	}
	for _, sink := range []string{"velocity", "volume", "large.jsonl", "dead.jsonl", "late.parquet"} {
		want := sinkRows(t, filepath.Join(dir, "want", sink))
		got := sinkRows(t, filepath.Join(out, sink))
		if len(want) == 0 {
			t.Errorf("%s: the uninterrupted run wrote nothing", sink)
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: %d rows after crashes, %d uninterrupted; first difference: %s", sink, len(got), len(want), firstDifference(got, want))
		}
	}
}

// sinkRows reads every visible file of a sink (a file, or a directory of part files) and
// returns its rows as sorted JSON lines. Hidden files (pending, not yet published) are not
// what a reader sees, so they are not read.
func sinkRows(t *testing.T, path string) []string {
	t.Helper()
	var rows []string
	err := filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if strings.HasPrefix(d.Name(), ".") && p != path {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			return nil
		}
		got, err := fileRows(p)
		rows = append(rows, got...)
		return err
	})
	if err != nil {
		t.Fatalf("read sink %s: %v", path, err)
	}
	slices.Sort(rows)
	return rows
}

// fileRows reads a file's rows as lines: a text file's own lines (a CSV file's but its
// header), a Parquet file's rows encoded as JSON.
func fileRows(path string) ([]string, error) {
	if filepath.Ext(path) != ".parquet" {
		body, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		lines := strings.Split(strings.TrimSuffix(string(body), "\n"), "\n")
		if filepath.Ext(path) == ".csv" {
			lines = lines[1:]
		}
		return lines, nil
	}
	pf, err := file.OpenParquetFile(path, false)
	if err != nil {
		return nil, err
	}
	defer func() { _ = pf.Close() }() // read only
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: 1 << 16}, memory.DefaultAllocator)
	if err != nil {
		return nil, err
	}
	tbl, err := fr.ReadTable(context.Background())
	if err != nil {
		return nil, err
	}
	defer tbl.Release()
	enc, err := format.NewRowEncoder(format.JSONL, tbl.Schema())
	if err != nil {
		return nil, err
	}
	var rows []string
	tr := array.NewTableReader(tbl, 1<<16)
	defer tr.Release()
	for tr.Next() {
		rec := tr.RecordBatch()
		for i := range int(rec.NumRows()) {
			rows = append(rows, strings.TrimSuffix(string(enc.AppendRow(nil, rec, i)), "\n"))
		}
	}
	return rows, tr.Err()
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

func firstDifference(got, want []string) string {
	for i := range min(len(got), len(want)) {
		if got[i] != want[i] {
			return "got " + got[i] + " want " + want[i]
		}
	}
	return "one is a prefix of the other"
}
