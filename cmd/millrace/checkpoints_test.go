package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"millrace/checkpoint"
	"millrace/engine"
	"millrace/scale"
	"millrace/vfs/errorfs"
)

// runLogged runs the CLI in process and returns what it printed on stderr.
func runLogged(t *testing.T, args ...string) (string, error) {
	t.Helper()
	root := newRoot()
	var out, errs bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errs)
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	return errs.String(), err
}

// resumeSpec reads TX into a filter and a windowed count, written under OUT.
const resumeSpec = `
name: resume
sources:
  tx:
    kind: file
    path: ${TX}
    schema: transaction
    event_time: ts
    watermark: %s
views:
  big:
    from: tx
    where: %s
    select: {tx_id: tx_id, amount: amount}
  per_card:
    from: tx
    group_by: [card_id]
    window: {tumble: 1m}
    select: {n: count(*)}
sinks:
  big_out: {from: big, kind: jsonl, path: "${OUT}/big.jsonl"}
  per_card_out: {from: per_card, kind: parquet, path: "${OUT}/per_card"}
`

func writeResumeSpec(t *testing.T, path, watermark, where string) {
	t.Helper()
	text := strings.Replace(strings.Replace(resumeSpec, "%s", watermark, 1), "%s", where, 1)
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// resumeInput generates rows transactions in a temporary directory, writes the resume spec
// over them and, with reference, runs it once without checkpoints into DIR/want. It returns
// the directory and the spec, with TX set for the spec and OUT set to DIR/got.
func resumeInput(t *testing.T, rows string, reference bool) (dir, spec string) {
	t.Helper()
	dir = t.TempDir()
	mustRun(t, "gen", "--rows", rows, "--disorder", "2s", "--out", filepath.Join(dir, "tx", "a.jsonl"))
	spec = filepath.Join(dir, "resume.yaml")
	writeResumeSpec(t, spec, "2s", "amount > 100")
	t.Setenv("TX", filepath.Join(dir, "tx", "*.jsonl"))
	if reference {
		t.Setenv("OUT", filepath.Join(dir, "want"))
		mustRun(t, "run", spec, "-p", "2", "--listen", "", "--no-checkpoint")
	}
	t.Setenv("OUT", filepath.Join(dir, "got"))
	return dir, spec
}

// runStopped runs the CLI with args as a process of its own, stops it with SIGTERM part way
// through (the runs of these tests take about 2 s), and returns what it printed on stderr.
func runStopped(t *testing.T, args []string) string {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), runMainEnv+"=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(700 * time.Millisecond)
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("stopped run: %v\n%s", err, stderr.String())
	}
	return stderr.String()
}

// TestStopResumeAndTheRulesOfResuming stops a real run with SIGTERM, which ends it with a
// checkpoint; checks that a resumed run refuses a changed source; resumes it to the end at
// another parallelism, equal to an uninterrupted run; and checks that the run after a
// finished one starts over.
func TestStopResumeAndTheRulesOfResuming(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the real CLI for several seconds")
	}
	dir, spec := resumeInput(t, "1000000", true)
	checkpoints := filepath.Join(dir, "checkpoints")
	args := []string{"run", spec, "-p", "2", "--listen", "", "--checkpoint", checkpoints, "--checkpoint-interval", "100ms"}
	if said := runStopped(t, args); !strings.Contains(said, "stopped at checkpoint") {
		t.Fatalf("the stopped run did not say where it stopped:\n%s", said)
	}

	changed := filepath.Join(dir, "changed.yaml")
	writeResumeSpec(t, changed, "3s", "amount > 100")
	args[1] = changed
	if _, err := runLogged(t, args...); err == nil || !strings.Contains(err.Error(), `source "tx" changed since checkpoint`) {
		t.Errorf("a changed source: %v", err)
	}

	args[1] = spec
	logged, err := runLogged(t, append(slices.Clone(args), "-p", "3")...) // the window's groups move by key
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logged, "resuming from checkpoint") || !strings.Contains(logged, "per_card (2→3)") {
		t.Errorf("the resumed run did not say so:\n%s", logged)
	}
	for _, sink := range []string{"big.jsonl", "per_card"} {
		want, got := sinkRows(t, filepath.Join(dir, "want", sink)), sinkRows(t, filepath.Join(dir, "got", sink))
		if len(want) == 0 || !slices.Equal(got, want) {
			t.Errorf("%s: %d rows after stop and resume, %d uninterrupted; %s", sink, len(got), len(want), firstDifference(got, want))
		}
	}
	entries, err := os.ReadDir(checkpoints)
	if err != nil {
		t.Fatal(err)
	}
	kept := 0
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "chk-") {
			kept++
		}
	}
	if kept == 0 || kept > 2 {
		t.Errorf("%d checkpoints kept, want 1 or 2 (--checkpoint-retain 2)", kept)
	}

	if err := os.RemoveAll(filepath.Join(dir, "got")); err != nil {
		t.Fatal(err)
	}
	logged, err = runLogged(t, args...)
	if err != nil || strings.Contains(logged, "resuming") {
		t.Errorf("the run after a finished one resumed (%v):\n%s", err, logged)
	}
}

// TestAChangedViewStartsAfresh resumes a stopped run under a spec whose view changed: the
// view loses its state and says so, the others keep theirs.
func TestAChangedViewStartsAfresh(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the real CLI for several seconds")
	}
	dir, spec := resumeInput(t, "1000000", false)
	args := []string{"run", spec, "-p", "2", "--listen", "", "--checkpoint", filepath.Join(dir, "checkpoints"), "--checkpoint-interval", "100ms"}
	runStopped(t, args)
	writeResumeSpec(t, spec, "2s", "amount > 200")
	logged, err := runLogged(t, args...)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logged, `step "big" changed since checkpoint`) || strings.Contains(logged, `"per_card" changed`) {
		t.Errorf("resumed run said:\n%s", logged)
	}
}

// TestAFailedCheckpointIsReportedAndTheLastOneStays fills the disk while a checkpoint is
// written: the run is told, the checkpoint before stays the one to resume from, and the next
// checkpoint, with room again, succeeds.
func TestAFailedCheckpointIsReportedAndTheLastOneStays(t *testing.T) {
	dir := t.TempDir()
	spec := filepath.Join(dir, "resume.yaml")
	writeResumeSpec(t, spec, "2s", "amount > 100")
	if err := os.WriteFile(filepath.Join(dir, "tx.jsonl"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TX", filepath.Join(dir, "tx.jsonl"))
	t.Setenv("OUT", dir)
	p, err := buildPlan(newRoot(), spec, 2, 2)
	if err != nil {
		t.Fatal(err)
	}
	fsys := errorfs.Wrap(checkpoint.OSFS{}, nil)
	var log bytes.Buffer
	c, err := openCheckpoints(fsys, filepath.Join(dir, "checkpoints"), p, 2, &log)
	if err != nil {
		t.Fatal(err)
	}
	snap := func(id uint64) *engine.Snapshot {
		return &engine.Snapshot{ID: id, Taken: time.Now(), Parts: map[string][][]byte{"tx": {[]byte(`{"at":` + strconv.FormatUint(id, 10) + `}`)}}}
	}
	if err := c.complete(snap(1)); err != nil {
		t.Fatal(err)
	}
	fsys.SetInjector(errorfs.FromIndex(0, errorfs.Mutating).WithError(syscall.ENOSPC))
	if err := c.complete(snap(2)); err == nil || !strings.Contains(log.String(), "checkpoint 2 failed, the next one tries again") {
		t.Fatalf("a full disk: %v; said %q", err, log.String())
	}
	fsys.SetInjector(nil)
	resumed, err := c.resume(false)
	if err != nil || resumed == nil || resumed.ID != 1 || string(resumed.Parts["tx"][0]) != `{"at":1}` {
		t.Fatalf("resumed from %+v, %v", resumed, err)
	}
	if err := c.complete(snap(3)); err != nil {
		t.Fatalf("the next checkpoint: %v", err)
	}
}

// TestTheAdvisorsHistoryOutlivesTheRun keeps the scaling advisor's forecast history in a
// checkpoint and gives it to the advisor of the next run.
func TestTheAdvisorsHistoryOutlivesTheRun(t *testing.T) {
	dir := t.TempDir()
	spec := filepath.Join(dir, "resume.yaml")
	writeResumeSpec(t, spec, "2s", "amount > 100")
	if err := os.WriteFile(filepath.Join(dir, "tx.jsonl"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TX", filepath.Join(dir, "tx.jsonl"))
	t.Setenv("OUT", dir)
	p, err := buildPlan(newRoot(), spec, 2, 2)
	if err != nil {
		t.Fatal(err)
	}
	newAdvisor := func() *scale.Advisor {
		a, err := scale.NewAdvisor(scale.AdvisorConfig{Sources: p.Sources, Step: time.Second, Policy: scale.Policy{Limits: scale.DefaultLimits()}})
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	before := newAdvisor()
	start := time.Date(2026, 11, 23, 3, 0, 0, 0, time.UTC)
	for s := range 30 {
		before.Observe(start.Add(time.Duration(s)*time.Second), &engine.Stats{Elapsed: time.Duration(s) * time.Second,
			Nodes: []engine.NodeReport{{Name: "tx", Parallelism: 1, Read: int64(1000 * s)}}})
	}
	var log bytes.Buffer
	c, err := openCheckpoints(checkpoint.OSFS{}, filepath.Join(dir, "checkpoints"), p, 2, &log)
	if err != nil {
		t.Fatal(err)
	}
	c.advisor = before
	if err := c.complete(&engine.Snapshot{ID: 1, Taken: start, Parts: map[string][][]byte{"tx": {[]byte(`{}`)}}}); err != nil {
		t.Fatal(err)
	}
	after := newAdvisor()
	c.advisor = after
	if _, err := c.resume(false); err != nil {
		t.Fatal(err)
	}
	want, err := before.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	got, err := after.MarshalJSON()
	if err != nil || !bytes.Equal(got, want) {
		t.Errorf("the next run's advisor holds %s, want %s (%v)", got, want, err)
	}
}
