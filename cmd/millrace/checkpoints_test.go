package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"millrace/checkpoint"
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

// runStopped runs the CLI with args as a process of its own, stops it with SIGTERM once it
// has written its first checkpoint (args name the directory with --checkpoint), and returns
// what it printed on stderr.
func runStopped(t *testing.T, args []string) string {
	t.Helper()
	cmd, stderr := startRun(t, args)
	waitFor(t, "the first checkpoint", func() bool { return hasCheckpoint(argAfter(args, "--checkpoint")) })
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("stopped run: %v\n%s", err, stderr.String())
	}
	return stderr.String()
}

// startRun starts the CLI with args as a process of its own, its stderr kept in the
// buffer returned; the process is killed at the end of the test if it still runs.
func startRun(t *testing.T, args []string) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), runMainEnv+"=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	return cmd, &stderr
}

// argAfter returns the argument that follows flag in args.
func argAfter(args []string, flag string) string {
	i := slices.Index(args, flag)
	if i < 0 || i+1 >= len(args) {
		panic("no " + flag + " in the arguments")
	}
	return args[i+1]
}

// hasCheckpoint tells whether a complete checkpoint is in dir.
func hasCheckpoint(dir string) bool {
	s, err := checkpoint.Open(checkpoint.OSFS{}, dir)
	if err != nil {
		return false
	}
	_, err = s.Latest()
	return err == nil
}

// waitFor waits until cond holds, looking every few milliseconds: for what another process
// does, such as writing a checkpoint. It gives up after two minutes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	deadline := time.Now().Add(2 * time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		<-tick.C
	}
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

// TestChangedViewsOnResume resumes a stopped run under a spec in which a view with window
// state changed and a view without state changed: the resume is refused, naming the view
// with state and --reset-view; with --reset-view it goes on, saying what each view does.
func TestChangedViewsOnResume(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the real CLI for several seconds")
	}
	dir, spec := resumeInput(t, "1000000", false)
	args := []string{"run", spec, "-p", "2", "--listen", "", "--checkpoint", filepath.Join(dir, "checkpoints"), "--checkpoint-interval", "100ms"}
	runStopped(t, args)
	writeResumeSpec(t, spec, "2s", "amount > 200")
	text, err := os.ReadFile(spec)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(spec, []byte(strings.Replace(string(text), "tumble: 1m", "tumble: 2m", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = runLogged(t, args...)
	if err == nil || !strings.Contains(err.Error(), `view "per_card" changed since checkpoint`) || !strings.Contains(err.Error(), "--reset-view per_card accepts that") {
		t.Fatalf("a changed view with state: %v", err)
	}
	logged, err := runLogged(t, append(args, "--reset-view", "per_card")...)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`view "per_card" starts with empty state (--reset-view): its windows ending after `, `step "big" changed since checkpoint`, "it held no state"} {
		if !strings.Contains(logged, want) {
			t.Errorf("the resumed run did not say %q:\n%s", want, logged)
		}
	}
}

// TestASecondInstanceIsRefused starts a run as a process of its own and, while it holds its
// state directory, a second run of the same spec: the second is refused, naming the first.
func TestASecondInstanceIsRefused(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the real CLI for several seconds")
	}
	dir, spec := resumeInput(t, "1000000", false)
	checkpoints := filepath.Join(dir, "checkpoints")
	args := []string{"run", spec, "-p", "2", "--listen", "", "--checkpoint", checkpoints, "--checkpoint-interval", "100ms"}
	first, said := startRun(t, args)
	waitFor(t, "the first checkpoint", func() bool { return hasCheckpoint(checkpoints) })
	_, err := runLogged(t, args...)
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("is held by pid %d", first.Process.Pid)) || !strings.Contains(err.Error(), "millrace run "+spec) {
		t.Errorf("the second instance: %v", err)
	}
	if err := first.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := first.Wait(); err != nil {
		t.Fatalf("the first run: %v\n%s", err, said)
	}
}

// TestADamagedCheckpointFallsBackToTheOneBefore stops a run, damages its newest checkpoint
// (a byte of a blob flipped, or the manifest gone), and resumes: the run says which
// checkpoint is damaged and why, goes on from the one before, and its output equals an
// uninterrupted run's.
func TestADamagedCheckpointFallsBackToTheOneBefore(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the real CLI for several seconds")
	}
	for _, c := range []struct {
		name   string
		damage func(t *testing.T, dir string)
		said   string
	}{
		{"a blob flipped", func(t *testing.T, dir string) {
			blob := filepath.Join(dir, "per_card.0")
			b, err := os.ReadFile(blob)
			if err != nil {
				t.Fatal(err)
			}
			b[len(b)/2] ^= 0xff
			if err := os.WriteFile(blob, b, 0o644); err != nil {
				t.Fatal(err)
			}
		}, `"per_card.0" has CRC-32C`},
		{"the manifest gone", func(t *testing.T, dir string) {
			if err := os.Remove(filepath.Join(dir, checkpoint.ManifestName)); err != nil {
				t.Fatal(err)
			}
		}, "is damaged"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir, spec := resumeInput(t, "1000000", true)
			// Part files: a single file is assembled when a run stops, which consumes the
			// chunks of the checkpoints before, so no run can go back past that.
			text, err := os.ReadFile(spec)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(spec, []byte(strings.Replace(string(text), "${OUT}/big.jsonl", "${OUT}/big", 1)), 0o644); err != nil {
				t.Fatal(err)
			}
			checkpoints := filepath.Join(dir, "checkpoints")
			args := []string{"run", spec, "-p", "2", "--listen", "", "--checkpoint", checkpoints, "--checkpoint-interval", "100ms"}
			runStopped(t, args)
			s, err := checkpoint.Open(checkpoint.OSFS{}, checkpoints)
			if err != nil {
				t.Fatal(err)
			}
			list, err := s.List()
			if err != nil || len(list) < 2 {
				t.Fatalf("checkpoints %v (%v): want two to fall back between", list, err)
			}
			newest := list[0] // newest first
			c.damage(t, filepath.Join(checkpoints, fmt.Sprintf("chk-%020d", newest.ID)))
			logged, err := runLogged(t, args...)
			if err != nil {
				t.Fatalf("%v\n%s", err, logged)
			}
			want := fmt.Sprintf("checkpoint %d is damaged", newest.ID)
			if !strings.Contains(logged, want) || !strings.Contains(logged, c.said) || !strings.Contains(logged, fmt.Sprintf("resuming from checkpoint %d", list[1].ID)) {
				t.Errorf("the resumed run did not say %q, %q and where it resumes:\n%s", want, c.said, logged)
			}
			for _, sink := range [][2]string{{"big.jsonl", "big"}, {"per_card", "per_card"}} {
				want, got := sinkRows(t, filepath.Join(dir, "want", sink[0])), sinkRows(t, filepath.Join(dir, "got", sink[1]))
				if len(want) == 0 || !slices.Equal(got, want) {
					t.Errorf("%s: %d rows after the fallback, %d uninterrupted; %s", sink[1], len(got), len(want), firstDifference(got, want))
				}
			}
		})
	}
}
