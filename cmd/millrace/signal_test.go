package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// child is the CLI running in a process of its own, its stderr read line by line.
type child struct {
	cmd    *exec.Cmd
	stderr *bufio.Scanner
	said   []string // the stderr lines read so far
}

func startChild(t *testing.T, stdout io.Writer, args ...string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), runMainEnv+"=1")
	cmd.Stdout = stdout
	errPipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil { // the test stopped early: leave no child behind
			_ = cmd.Process.Kill() // it may have ended by itself meanwhile
			_ = cmd.Wait()         // its status no longer matters
		}
	})
	return &child{cmd: cmd, stderr: bufio.NewScanner(errPipe)}
}

// waitFor reads stderr until a line holds want.
func (c *child) waitFor(t *testing.T, want string) {
	t.Helper()
	for c.stderr.Scan() {
		c.said = append(c.said, c.stderr.Text())
		if strings.Contains(c.stderr.Text(), want) {
			return
		}
	}
	t.Fatalf("stderr ended without %q:\n%s", want, strings.Join(c.said, "\n"))
}

// exit reads the rest of stderr, waits for the process and returns its exit status and all
// it said on stderr.
func (c *child) exit(t *testing.T) (int, string) {
	t.Helper()
	for c.stderr.Scan() {
		c.said = append(c.said, c.stderr.Text())
	}
	err := c.cmd.Wait()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatal(err)
	}
	return c.cmd.ProcessState.ExitCode(), strings.Join(c.said, "\n")
}

// fifo makes a named pipe, so that a test knows when the child opened it and decides when
// the child reads what.
func fifo(t *testing.T, path string) string {
	t.Helper()
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Skipf("no named pipes here: %v", err)
	}
	return path
}

// TestPlanStopsOnTheFirstSignal interrupts `plan` of a spec of 20 000 views: it ends with
// "interrupted", status 130 and no plan, instead of planning to the end.
func TestPlanStopsOnTheFirstSignal(t *testing.T) {
	dir := t.TempDir()
	tx := filepath.Join(dir, "tx.jsonl")
	mustRun(t, "gen", "--rows", "10", "--out", tx)
	var text strings.Builder
	fmt.Fprintf(&text, "name: big\nsources:\n  tx: {kind: file, path: %s, schema: transaction, event_time: ts}\nviews:\n", tx)
	for i := range 20_000 {
		fmt.Fprintf(&text, "  v%d: {from: tx, where: amount > %d, select: {tx_id: tx_id, amount: amount}}\n", i, i)
	}
	fmt.Fprintf(&text, "sinks:\n  out: {from: v0, kind: jsonl, path: %s}\n", filepath.Join(dir, "out.jsonl"))

	spec := fifo(t, filepath.Join(dir, "big.yaml"))
	var stdout strings.Builder
	c := startChild(t, &stdout, "plan", spec)
	w, err := os.OpenFile(spec, os.O_WRONLY, 0) // returns once the child opened the spec
	if err != nil {
		t.Fatal(err)
	}
	if err := c.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	c.waitFor(t, "stopping")
	if _, err := io.WriteString(w, text.String()); err != nil { // read all, then interrupted
		t.Fatal(err)
	}
	w.Close()
	code, said := c.exit(t)
	if code != 128+int(syscall.SIGINT) || !strings.Contains(said, "millrace: interrupted while planning "+spec) {
		t.Errorf("exit status %d, stderr:\n%s", code, said)
	}
	if stdout.Len() > 0 {
		t.Errorf("an interrupted plan printed:\n%.300s", stdout.String())
	}
}

// TestInspectStopsOnTheFirstSignal interrupts `inspect` in the middle of its input: it ends
// with "interrupted", the records read so far and status 130, without a summary.
func TestInspectStopsOnTheFirstSignal(t *testing.T) {
	dir := t.TempDir()
	rows := mustRun(t, "gen", "--rows", "20000", "--seed", "3")
	half := strings.Index(rows[len(rows)/2:], "\n") + len(rows)/2 + 1
	input := fifo(t, filepath.Join(dir, "tx.jsonl"))
	var stdout strings.Builder
	c := startChild(t, &stdout, "inspect", "--schema", "transaction", "--head", "0", input)
	w, err := os.OpenFile(input, os.O_WRONLY, 0) // returns once the child opened the input
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(w, rows[:half]); err != nil {
		t.Fatal(err)
	}
	if err := c.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	c.waitFor(t, "stopping")
	// The child stops after the batch it is reading, so the rest may find no reader.
	if _, err := io.WriteString(w, rows[half:]); err != nil && !errors.Is(err, syscall.EPIPE) {
		t.Fatal(err)
	}
	w.Close()
	code, said := c.exit(t)
	if code != 128+int(syscall.SIGINT) || !strings.Contains(said, "millrace: interrupted after ") || !strings.Contains(said, "reading "+input) {
		t.Errorf("exit status %d, stderr:\n%s", code, said)
	}
	if strings.Contains(stdout.String(), "records:") {
		t.Errorf("an interrupted inspect printed its summary:\n%s", stdout.String())
	}
}

// TestGenStopsOnTheFirstSignal stops `gen` writing to a pipe with SIGTERM once rows flow: it
// ends with "interrupted after N rows" and status 143.
func TestGenStopsOnTheFirstSignal(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	c := startChild(t, w, "gen", "--rows", "1000000000")
	w.Close()
	out := bufio.NewReader(r)
	if _, err := out.ReadString('\n'); err != nil { // the first row
		t.Fatal(err)
	}
	if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	c.waitFor(t, "stopping")
	if _, err := io.Copy(io.Discard, out); err != nil {
		t.Fatal(err)
	}
	r.Close()
	code, said := c.exit(t)
	if code != 128+int(syscall.SIGTERM) || !strings.Contains(said, "millrace: interrupted after ") {
		t.Errorf("exit status %d, stderr:\n%s", code, said)
	}
}
