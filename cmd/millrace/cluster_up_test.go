//go:build linux

package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// upProc is a `millrace cluster up` process of a test, its output kept.
type upProc struct {
	cmd  *exec.Cmd
	out  *lockedBuffer
	done chan error
}

// lockedBuffer is an io.Writer read while a process writes to it.
type lockedBuffer struct {
	mu      sync.Mutex
	b       strings.Builder
	changed chan struct{} // closed at the next write, then replaced
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.changed != nil {
		close(l.changed)
		l.changed = nil
	}
	return l.b.Write(p)
}

// waitMatch waits until the output matches re and returns the submatches, or fails the test
// when the process ends before.
func (l *lockedBuffer) waitMatch(t *testing.T, re *regexp.Regexp, done <-chan error) []string {
	t.Helper()
	late := nearDeadline(t)
	for {
		l.mu.Lock()
		m := re.FindStringSubmatch(l.b.String())
		if m == nil && l.changed == nil {
			l.changed = make(chan struct{})
		}
		ch := l.changed
		l.mu.Unlock()
		if m != nil {
			return m
		}
		select {
		case <-ch:
		case err := <-done:
			t.Fatalf("the process ended (%v) before its output matched %s:\n%s", err, re, l.String())
		case <-late:
			failStuck(t, "the output never matched %s before the test's deadline:\n%s", re, l.String())
		}
	}
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startUp starts `millrace cluster up` with args.
func startUp(t *testing.T, args ...string) *upProc {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"cluster", "up"}, args...)...)
	cmd.Env = append(os.Environ(), runMainEnv+"=1")
	u := &upProc{cmd: cmd, out: &lockedBuffer{}, done: make(chan error, 1)}
	cmd.Stdout, cmd.Stderr = u.out, u.out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { u.done <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Signal(syscall.SIGINT)
			_ = cmd.Process.Signal(syscall.SIGINT) // the second kills the workers
			t.Logf("cluster up, stopped at the end of the test: %v\n%s", <-u.done, u.out.String())
		}
	})
	return u
}

// interrupt stops cluster up as Ctrl-C does and checks that it and its workers stopped
// cleanly.
func (u *upProc) interrupt(t *testing.T) string {
	t.Helper()
	if err := u.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	err := <-u.done
	out := u.out.String()
	if err != nil {
		t.Fatalf("cluster up after Ctrl-C: %v\n%s", err, out)
	}
	if !strings.Contains(out, "cluster up: every worker stopped") {
		t.Errorf("cluster up did not say that its workers stopped:\n%s", out)
	}
	return out
}

// TestClusterUpRunsWorkers runs two workers with cluster up: they share the partitions, and
// what they commit equals what one process makes; Ctrl-C stops them gracefully, each
// leaving the group, and their lines carry their ids.
func TestClusterUpRunsWorkers(t *testing.T) {
	f := newClusterFixture(t, 20_000, 4)
	f.produce(t, 1)
	f.expect(t)
	u := startUp(t, f.spec, "--brokers", f.brokers[0], "--workers", "2", "--listen", "",
		"--state", "file://"+filepath.Join(f.dir, "state"), "--", "--checkpoint-interval", "100ms")
	f.waitCommitted(t, "got-velocity", len(f.wantVelocity))
	f.waitCommitted(t, "got-large", len(f.wantLarge))
	f.waitStatus(t, "w1", "w2")
	out := u.interrupt(t)
	f.check(t)
	for _, w := range []string{"w1", "w2"} {
		if !regexp.MustCompile(`(?m)^\[` + w + `\] .*msg=joining`).MatchString(out) {
			t.Errorf("no line of worker %s says it joins:\n%s", w, out)
		}
	}
	var pauses []string
	for _, m := range regexp.MustCompile(`\[(w\d)\] .*msg=running pause=(\S+)`).FindAllStringSubmatch(out, -1) {
		pauses = append(pauses, m[1]+" "+m[2])
	}
	t.Logf("the workers' pauses, from losing or gaining partitions to running again: %s", strings.Join(pauses, ", "))
	if !strings.Contains(out, "cluster up: started w1, w2, 2 workers: at least 2 workers (--min)") {
		t.Errorf("cluster up did not say it started two workers:\n%s", out)
	}
}
