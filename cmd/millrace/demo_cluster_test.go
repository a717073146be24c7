//go:build linux

package main

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"millrace/cluster"
	"millrace/gen"
	"millrace/kafka"
	"millrace/observe"
	"millrace/scale"
)

// TestDemoAcrossProcesses runs demo --cluster with two workers: once both have committed a
// checkpoint and every view of the demo's pipeline has published a part file, the
// dashboard of w1 shows both workers at /api/cluster, and Ctrl-C stops the demo and its
// workers cleanly.
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
	// The demo's sinks, one per view of examples/demo.yaml.
	outputs := []string{"velocity", "merchant_volume", "alerts", "fraud_alerts"}
	for {
		changed := fol.Changed()
		ready := 0
		for _, w := range fol.Workers() {
			if w.Checkpoint != nil && len(w.Owned) > 0 {
				ready++
			}
		}
		if ready == 2 && len(unpublished(t, dir, outputs)) == 0 {
			break
		}
		select {
		case <-changed:
		case err := <-done:
			t.Fatalf("the demo ended (%v) before two workers committed and every view published (none yet: %v):\n%s", err, unpublished(t, dir, outputs), out.String())
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

// unpublished returns the directories of outputs under dir that hold no part file yet, in
// them or in their partitions' directories.
func unpublished(t *testing.T, dir string, outputs []string) []string {
	t.Helper()
	var none []string
	for _, o := range outputs {
		found := false
		err := filepath.WalkDir(filepath.Join(dir, o), func(path string, d fs.DirEntry, err error) error {
			if errors.Is(err, fs.ErrNotExist) {
				return fs.SkipAll
			}
			if err != nil {
				return err
			}
			found = found || strings.HasPrefix(d.Name(), "part-")
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if !found {
			none = append(none, o)
		}
	}
	return none
}

// TestDemoClusterNights checks what the demo across processes promises of its nights: its
// day starts at the next 01:00, so that at --speed 120 the first surge comes a minute after
// the start and the next twelve minutes later; and with each worker sized as the demo sizes
// it, the scaling policy asks for one worker in the night before the surge and more in it.
func TestDemoClusterNights(t *testing.T) {
	now := time.Date(2026, 12, 7, 8, 45, 30, 0, time.UTC)
	cfg, err := demoGenConfig(demoClusterRate/120.0, 120, 1, now)
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2026, 12, 8, 1, 0, 0, 0, time.UTC); !cfg.Start.Equal(want) {
		t.Fatalf("the demo's day starts at %s, want %s", cfg.Start, want)
	}
	var out strings.Builder
	printDemoNights(&out, cfg, now)
	for _, want := range []string{"sized for 2000 transactions/s", "comes at\n      08:46:30 (in 1m0s)", "lasts 12m0s", "first at 08:58:30"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the demo's account of its nights lacks %q:\n%s", want, out.String())
		}
	}
	curve, err := gen.NewCurve(cfg)
	if err != nil {
		t.Fatal(err)
	}
	lim := scale.DefaultLimits()
	lim.Min, lim.Max = 1, demoPartitions
	policy := scale.Policy{Mode: scale.Reactive, Limits: lim}
	surge := cfg.Start.Add(2 * time.Hour)
	for _, c := range []struct {
		at   time.Time
		more bool
	}{{surge.Add(-time.Minute), false}, {surge.Add(time.Minute), true}} {
		rate := curve.RateAt(c.at) * cfg.Speed // records/s of the clock
		if d := policy.Decide(scale.Input{Now: c.at, Workers: 1, CapacityPerWorker: demoCapacity(cfg), Rate: rate}, nil); (d.Workers > 1) != c.more {
			t.Errorf("at %s, %.0f transactions/s of the clock: %d workers (%s); want more than one: %v", c.at.Format(time.TimeOnly), rate, d.Workers, d.Reason, c.more)
		}
	}
}
