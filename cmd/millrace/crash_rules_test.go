package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"millrace/reload"
)

// rulesSpec alerts on the transactions of a file by the rules of ${RULES}, exactly once
// into one JSONL file.
const rulesSpec = `
name: rules-restart
sources:
  tx: {kind: file, path: "${TX}", schema: transaction, event_time: ts, watermark: 24h}
views:
  alerts: {from: tx, rules: {file: "${RULES}"}}
sinks:
  alerts: {from: alerts, kind: jsonl, path: "${OUT}/alerts.jsonl"}
`

// The two versions of the rules file: the same predicate under another name, so that every
// alert says which version raised it.
const (
	rulesV1 = "rules:\n  - {name: big, when: amount >= 500, severity: high, reason: a big payment}\n"
	rulesV2 = "rules:\n  - {name: large, when: amount >= 500, severity: high, reason: a large payment}\n"
)

// TestRestartKeepsTheRulesVersion runs a rules pipeline as a process of its own with
// checkpoints and kills it with SIGKILL right after a checkpoint becomes durable; the rules
// file changes while it is down. The resumed run restores the version the checkpoint holds
// (and says so), loads the new file at its first checkpoint (and says so) and is killed
// right after that checkpoint; a third run finishes. Every alert the file holds is there
// exactly once, the old version's alerts come before the new one's in the input's order,
// and the new version alerted on the rows after the checkpoint that loaded it.
func TestRestartKeepsTheRulesVersion(t *testing.T) {
	if testing.Short() {
		t.Skip("kills and restarts a real process")
	}
	dir := t.TempDir()
	tx := filepath.Join(dir, "tx.jsonl")
	mustRun(t, "gen", "--rows", "150000", "--seed", "8", "--dup-rate", "0", "--out", tx)
	spec := filepath.Join(dir, "rules.yaml")
	if err := os.WriteFile(spec, []byte(rulesSpec), 0o644); err != nil {
		t.Fatal(err)
	}
	rulesFile := filepath.Join(dir, "alert-rules.yaml")
	writeRules := func(text string) {
		tmp := rulesFile + ".tmp"
		if err := os.WriteFile(tmp, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, rulesFile); err != nil {
			t.Fatal(err)
		}
	}
	writeRules(rulesV1)
	v1, v2 := reload.Version([]byte(rulesV1)), reload.Version([]byte(rulesV2))
	t.Setenv("TX", tx)
	t.Setenv("RULES", rulesFile)
	t.Setenv("OUT", filepath.Join(dir, "want"))
	mustRun(t, "run", spec, "--listen", "", "--no-checkpoint")
	want := alertIDs(t, filepath.Join(dir, "want", "alerts.jsonl"))

	ckpts := filepath.Join(dir, "checkpoints")
	if err := os.MkdirAll(ckpts, 0o755); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "got")
	// runOnce runs the pipeline; with kill it kills it right after its first checkpoint
	// becomes durable. It returns what the run said on stderr.
	runOnce := func(interval string, kill bool) string {
		t.Helper()
		cmd := exec.Command(os.Args[0], "run", spec, "--listen", "", "--checkpoint", ckpts, "--checkpoint-interval", interval)
		cmd.Env = append(os.Environ(), runMainEnv+"=1", "OUT="+out)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		var moment <-chan string
		stop := func() {}
		if kill {
			moment, stop = afterCheckpoints(t, ckpts, 1)
		}
		defer stop()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if kill || err != nil {
				t.Fatalf("the run ended before it was killed (%v):\n%s", err, stderr.String())
			}
		case <-moment:
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, os.ErrProcessDone) {
				t.Fatal(err)
			}
			if err := <-done; err == nil { // a kill ends it with a signal, not a status
				t.Fatalf("the run was killed but ended well:\n%s", stderr.String())
			}
			if finished(t, ckpts) {
				t.Fatalf("the run read all its input before it was killed:\n%s", stderr.String())
			}
		}
		return stderr.String()
	}
	runOnce("50ms", true)
	writeRules(rulesV2)
	said := runOnce("50ms", true)
	for _, line := range []string{"restored rules version from the checkpoint", "version=" + v1, "reloaded rules", "version=" + v2 + " was=" + v1} {
		if !strings.Contains(said, line) {
			t.Errorf("the resumed run did not say %q:\n%s", line, said)
		}
	}
	runOnce("1h", false)

	got := alertIDs(t, filepath.Join(out, "alerts.jsonl"))
	ids := func(as []alertID) []string {
		var s []string
		for _, a := range as {
			s = append(s, a.TxID)
		}
		slices.Sort(s)
		return s
	}
	if !slices.Equal(ids(got), ids(want)) {
		t.Fatalf("%d alerts after two kills, %d uninterrupted", len(got), len(want))
	}
	// In the input's order: the old version's alerts, then the new one's.
	line := map[string]int{}
	f, err := os.Open(tx)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for n := 0; sc.Scan(); n++ {
		var r struct {
			TxID string `json:"tx_id"`
		}
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		line[r.TxID] = n
	}
	slices.SortFunc(got, func(a, b alertID) int { return line[a.TxID] - line[b.TxID] })
	old, fresh := 0, 0
	for _, a := range got {
		switch {
		case a.Rule == "big" && a.Version == v1 && fresh == 0:
			old++
		case a.Rule == "large" && a.Version == v2:
			fresh++
		default:
			t.Fatalf("alert %+v at line %d: after %d alerts of version %s and %d of %s", a, line[a.TxID], old, v1, fresh, v2)
		}
	}
	if old == 0 || fresh == 0 {
		t.Errorf("%d alerts of version %s, %d of %s; want both", old, v1, fresh, v2)
	}
	t.Logf("%d alerts of the checkpoint's version, then %d of the new file's", old, fresh)
}

type alertID struct{ TxID, Rule, Version string }

func alertIDs(t *testing.T, path string) []alertID {
	t.Helper()
	var out []alertID
	for _, row := range sinkRows(t, path) {
		var a struct {
			TxID    string `json:"tx_id"`
			Rule    string `json:"rule"`
			Version string `json:"rules_version"`
		}
		if err := json.Unmarshal([]byte(row), &a); err != nil {
			t.Fatal(err)
		}
		out = append(out, alertID{a.TxID, a.Rule, a.Version})
	}
	return out
}
