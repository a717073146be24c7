package job

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"millrace/checkpoint"
	"millrace/engine"
	"millrace/plan"
	"millrace/scale"
	"millrace/spec"
	"millrace/vfs/errorfs"
)

// testSpec reads a file into a filter and a windowed count.
const testSpec = `
name: resume
sources:
  tx:
    kind: file
    path: ${TX}
    schema: transaction
    event_time: ts
    watermark: 2s
views:
  big:
    from: tx
    where: amount > 100
    select: {tx_id: tx_id, amount: amount}
  per_card:
    from: tx
    group_by: [card_id]
    window: %s
    select: {n: count(*)}
sinks:
  big_out: {from: big, kind: jsonl, path: "${OUT}/big.jsonl"}
  per_card_out: {from: per_card, kind: parquet, path: "${OUT}/per_card"}
`

// testPlan plans the test spec at parallelism 2 with the window given, over an empty
// input in a temporary directory.
func testPlan(t *testing.T, dir, window string) *plan.Plan {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, "tx.jsonl"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{"TX": filepath.Join(dir, "tx.jsonl"), "OUT": dir}
	s, err := spec.Parse([]byte(strings.Replace(testSpec, "%s", window, 1)), "resume.yaml", func(k string) (string, bool) { v, ok := vars[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	p, err := plan.Build(s, plan.Options{Parallelism: 2})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestAFailedCheckpointIsReportedAndTheLastOneStays fills the disk while a checkpoint is
// written: the run is told, the checkpoint before stays the one to resume from, and the next
// checkpoint, with room again, succeeds.
func TestAFailedCheckpointIsReportedAndTheLastOneStays(t *testing.T) {
	dir := t.TempDir()
	p := testPlan(t, dir, "{tumble: 1m}")
	fsys := errorfs.Wrap(checkpoint.OSFS{}, nil)
	var log bytes.Buffer
	c, err := openCheckpointsOn(fsys, filepath.Join(dir, "checkpoints"), 2, &log)
	if err != nil {
		t.Fatal(err)
	}
	c.plan = p
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
	resumed, err := c.resume(p, false, false, nil)
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
	p := testPlan(t, dir, "{tumble: 1m}")
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
	c, err := openCheckpoints(filepath.Join(dir, "checkpoints"), 2, &log)
	if err != nil {
		t.Fatal(err)
	}
	c.plan, c.advisor = p, before
	if err := c.complete(&engine.Snapshot{ID: 1, Taken: start, Parts: map[string][][]byte{"tx": {[]byte(`{}`)}}}); err != nil {
		t.Fatal(err)
	}
	after := newAdvisor()
	c.advisor = after
	if _, err := c.resume(p, false, false, nil); err != nil {
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

// TestASecondRunOfAStateDirectoryIsRefused takes a state directory's lock twice: the
// second is refused with the first holder's description, and gets it once the first let
// go. (Two processes: cmd/millrace's TestASecondInstanceIsRefused.)
func TestASecondRunOfAStateDirectoryIsRefused(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	first, err := LockDir(dir, "millrace run a.yaml")
	if err != nil {
		t.Fatal(err)
	}
	_, err = LockDir(dir, "millrace run b.yaml")
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "pid "+strconv.Itoa(os.Getpid())) || !strings.Contains(err.Error(), "millrace run a.yaml") {
		t.Fatalf("the second lock: %v", err)
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	second, err := LockDir(dir, "millrace run b.yaml")
	if err != nil {
		t.Fatalf("after the first let go: %v", err)
	}
	if err := second.Close(); err != nil {
		t.Fatal(err)
	}
}
