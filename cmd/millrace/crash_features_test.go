package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// featuresSpec adds card features, then merchant features over them, to generated
// transactions delivered out of order, into one JSONL file.
const featuresSpec = `
name: features-crash
sources:
  tx: {kind: file, path: "${TX}", schema: transaction, event_time: ts, watermark: 3s}
views:
  card:
    from: tx
    over: {key: card_id, range: 10m, ttl: 1h}
    select:
      n_10m: count(*)
      spend_10m: sum(amount)
      big_10m: count_if(amount > 500)
      amount_z: zscore(amount)
      new_merchant: first_seen(merchant_id)
      secs_since_prev: seconds_since_prev()
      kmh: kmh_from_prev(lat, lon)
  merchant:
    from: card
    over: {key: merchant_id, range: 1h}
    select: {cards_1h: count_distinct(card_id), merchant_n_1h: count(*)}
sinks:
  features: {from: merchant, kind: jsonl, path: "${OUT}/features.jsonl"}
`

// TestFeaturesCrashAndResume runs the CLI over the features spec, kills it with SIGKILL
// right after its first or second checkpoint becomes durable, and runs it again at another
// parallelism, until it completes: the features file holds exactly what an uninterrupted
// run writes, so the keys' state and the rows held for the watermark come back from every
// checkpoint, moved by key group.
func TestFeaturesCrashAndResume(t *testing.T) {
	if testing.Short() {
		t.Skip("kills and restarts a real process several times")
	}
	const kills = 4
	dir := t.TempDir()
	mustRun(t, "gen", "--rows", "60000", "--seed", "21", "--accounts", "2000", "--merchants", "500", "--disorder", "2s",
		"--dup-rate", "0.01", "--out", filepath.Join(dir, "tx.jsonl"))
	spec := filepath.Join(dir, "features.yaml")
	if err := os.WriteFile(spec, []byte(featuresSpec), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TX", filepath.Join(dir, "tx.jsonl"))
	t.Setenv("OUT", filepath.Join(dir, "want"))
	mustRun(t, "run", spec, "-p", "2", "--listen", "", "--no-checkpoint")

	ckpts := filepath.Join(dir, "checkpoints")
	if err := os.MkdirAll(ckpts, 0o755); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "got")
	killed := 0
	for attempt := 0; ; attempt++ {
		if attempt > 4*kills+10 {
			t.Fatalf("the run did not complete after %d attempts", attempt)
		}
		p := strconv.Itoa(1 + attempt%4)
		cmd := exec.Command(os.Args[0], "run", spec, "-p", p, "--listen", "", "--checkpoint", ckpts, "--checkpoint-interval", "50ms")
		cmd.Env = append(os.Environ(), runMainEnv+"=1", "OUT="+out)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		var moment <-chan string
		stop := func() {}
		if killed < kills {
			moment, stop = afterCheckpoints(t, ckpts, 1+attempt%2)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		var err error
		select {
		case err = <-done:
		case why := <-moment:
			if kerr := cmd.Process.Signal(syscall.SIGKILL); kerr != nil && !errors.Is(kerr, os.ErrProcessDone) {
				t.Fatal(kerr)
			}
			if err = <-done; err != nil {
				killed++
				t.Logf("attempt %d at -p %s killed %s", attempt, p, why)
			}
		}
		stop()
		if err != nil && finished(t, ckpts) {
			t.Logf("attempt %d was killed after it finished", attempt)
			break
		}
		if err != nil {
			var exit *exec.ExitError
			if errors.As(err, &exit) && exit.Sys().(syscall.WaitStatus).Signaled() {
				continue
			}
			t.Fatalf("attempt %d: %v\n%s", attempt, err, stderr.String())
		}
		t.Logf("completed after %d kills and %d attempts", killed, attempt+1)
		break
	}
	// A late attempt, resuming near the end, may finish before its checkpoints come; the
	// first reads everything, so it is killed.
	if killed == 0 {
		t.Fatalf("the run completed without a kill; want %d", kills)
	}
	want := sinkRows(t, filepath.Join(dir, "want", "features.jsonl"))
	got := sinkRows(t, filepath.Join(out, "features.jsonl"))
	if len(want) != 60000 {
		t.Fatalf("the uninterrupted run wrote %d rows, want one per transaction", len(want))
	}
	if !slices.Equal(got, want) {
		t.Fatalf("%d rows after %d kills, %d uninterrupted; first difference: %s", len(got), killed, len(want), firstDifference(got, want))
	}
}
