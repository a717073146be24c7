//go:build linux

package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"regexp"
	"syscall"
	"testing"

	"millrace/cluster"
	"millrace/kafka"
	"millrace/observe"
)

// TestDemoAcrossProcesses runs demo --cluster with two workers: once both have committed a
// checkpoint, the dashboard of w1 shows both at /api/cluster, and Ctrl-C stops the demo and
// its workers cleanly.
func TestDemoAcrossProcesses(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "demo", "--cluster", "--speed", "120", "--dir", dir, "--listen", "127.0.0.1:0",
		"--min-parallelism", "2", "--max-parallelism", "2")
	cmd.Env = append(os.Environ(), runMainEnv+"=1")
	out := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Signal(syscall.SIGINT)
			_ = cmd.Process.Signal(syscall.SIGINT)
			t.Logf("demo, stopped at the end of the test: %v\n%s", <-done, out.String())
		}
	})
	broker := out.waitMatch(t, regexp.MustCompile(`development broker at kafka://(\S+):.*not for production`), done)[1]
	dashboard := out.waitMatch(t, regexp.MustCompile(`\[w1\] dashboard at (http://\S+)/ `), done)[1]
	fol, err := cluster.FollowStatus(context.Background(), kafka.Conn{Brokers: []string{broker}}, "demo-cluster", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = fol.Close() }()
	for {
		changed := fol.Changed()
		ready := 0
		for _, w := range fol.Workers() {
			if w.Checkpoint != nil && len(w.Owned) > 0 {
				ready++
			}
		}
		if ready == 2 {
			break
		}
		select {
		case <-changed:
		case err := <-done:
			t.Fatalf("the demo ended (%v) before two workers committed:\n%s", err, out.String())
		}
	}
	var view observe.ClusterView
	if err := json.Unmarshal([]byte(get(t, dashboard+"/api/cluster")), &view); err != nil {
		t.Fatal(err)
	}
	if len(view.Workers) != 2 {
		t.Errorf("w1's dashboard shows %d workers, want 2: %+v", len(view.Workers), view.Workers)
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("demo --cluster after Ctrl-C: %v\n%s", err, out.String())
	}
	if !regexp.MustCompile(`(?m)^cluster up: every worker stopped$`).MatchString(out.String()) {
		t.Errorf("the demo did not say its workers stopped:\n%s", out.String())
	}
}
