package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"millrace/format"
	"millrace/gen"
	"millrace/ingest"
)

// crashIngestSpec takes records over HTTP and writes each one's id and amount as JSON
// lines, in part files published at every checkpoint.
const crashIngestSpec = `
name: crash-ingest
sources:
  tx: {kind: http, schema: transaction, max_backlog: 100000}
views:
  seen: {from: tx, select: {tx_id: tx_id, amount: amount}}
sinks:
  out: {from: seen, kind: jsonl, path: "${OUT}/rows/"}
`

// TestCrashDuringIngestLosesNoAcknowledgedRecord runs a pipeline with an http source as
// a real process, while a client in the test posts batches of records and retries each
// until it gets 202. The process is SIGKILLed at least 3 times (10 with -crash.long), each
// time after a random number of batches was acknowledged, and started again. At the end
// every record the client sent (all were acknowledged in the end) is in the output
// exactly once.
func TestCrashDuringIngestLosesNoAcknowledgedRecord(t *testing.T) {
	batches, rowsPerBatch, kills := 60, 200, 3
	if *crashLong {
		batches, kills = 500, 10
	}
	dir := t.TempDir()
	spec := filepath.Join(dir, "crash-ingest.yaml")
	if err := os.WriteFile(spec, []byte(crashIngestSpec), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	addr := freeAddr(t)

	// The records: generated, unique tx_ids, in batches.
	cfg := gen.DefaultConfig()
	cfg.Rows, cfg.Seed = int64(batches*rowsPerBatch), 11
	var all bytes.Buffer
	if _, err := gen.Write(context.Background(), cfg, &all, format.JSONL, format.WriteOptions{}, nil); err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(strings.TrimSuffix(all.String(), "\n"), "\n")
	var want []string
	for _, l := range lines {
		want = append(want, txID(t, l))
	}
	slices.Sort(want)

	// The client posts every batch until it is acknowledged, and says so on acked.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	acked := make(chan int, batches)
	sent := make(chan struct{}, 1)
	posted := make(chan error, 1)
	go func() {
		c := &ingest.Client{MaxWait: 100 * time.Millisecond, HTTP: &http.Client{Transport: sentSignal{sent: sent}}}
		for b := range batches {
			body := strings.Join(lines[b*rowsPerBatch:(b+1)*rowsPerBatch], "")
			if _, err := c.Post(ctx, "http://"+addr+"/ingest/tx", []byte(body), fmt.Sprintf("batch-%d", b)); err != nil {
				posted <- err
				return
			}
			acked <- b
		}
		posted <- nil
	}()

	rng := rand.New(rand.NewPCG(5, uint64(batches)))
	clientDone := false
	for attempt := 0; ; attempt++ {
		p := runIngestChild(t, spec, dir, out, addr, attempt)
		if attempt < kills {
			// Kill after a few more batches were acknowledged (or once the client is done),
			// every other time just after the next body was sent, while the server works on it.
			for n := 1 + rng.IntN(6); n > 0 && !clientDone; n-- {
				select {
				case <-acked:
				case err := <-posted:
					if err != nil {
						t.Fatal(err)
					}
					clientDone = true
				}
			}
			if attempt%2 == 1 && !clientDone {
				select {
				case <-sent:
				default:
				}
				<-sent
				// A random moment of the server's work on it: before, while or after it
				// stores the records, before it answers.
				<-time.After(time.Duration(rng.IntN(40_000)) * time.Microsecond)
			}
			p.kill(t)
			t.Logf("killed attempt %d", attempt)
			continue
		}
		// The last attempt runs until the client is done and the output holds every
		// record, then stops gracefully.
		if !clientDone {
			if err := <-posted; err != nil {
				t.Fatal(err)
			}
		}
		waitForRows(t, filepath.Join(out, "rows"), len(want))
		p.stop(t)
		got := waitForRows(t, filepath.Join(out, "rows"), 0) // and whatever the last checkpoint published
		if !slices.Equal(got, want) {
			t.Fatalf("%d records in the output, %d sent; first difference: %s", len(got), len(want), firstDifference(got, want))
		}
		break
	}
}

// txID is the tx_id of a JSON line.
func txID(t *testing.T, line string) string {
	t.Helper()
	var r struct {
		TxID string `json:"tx_id"`
	}
	if err := json.Unmarshal([]byte(line), &r); err != nil {
		t.Fatalf("%q: %v", line, err)
	}
	return r.TxID
}

// sentSignal is an http.RoundTripper that says on sent (when nobody is waiting, not at
// all) each time a request's body has been written out whole.
type sentSignal struct{ sent chan struct{} }

func (s sentSignal) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		req.Body = &signalAtEOF{ReadCloser: req.Body, sent: s.sent}
	}
	return http.DefaultTransport.RoundTrip(req)
}

// signalAtEOF signals once its reader is read to the end.
type signalAtEOF struct {
	io.ReadCloser
	sent chan struct{}
	once sync.Once
}

func (r *signalAtEOF) Read(p []byte) (int, error) {
	n, err := r.ReadCloser.Read(p)
	if err == io.EOF {
		r.once.Do(func() {
			select {
			case r.sent <- struct{}{}:
			default:
			}
		})
	}
	return n, err
}

// ingestChild is one run of the pipeline as a process of its own.
type ingestChild struct {
	cmd  *exec.Cmd
	done chan error
	said *strings.Builder
	mu   *sync.Mutex
}

// runIngestChild starts the pipeline and returns once it takes records.
func runIngestChild(t *testing.T, spec, dir, out, addr string, attempt int) *ingestChild {
	t.Helper()
	args := []string{"run", spec, "-p", fmt.Sprint(1 + attempt%2), "--listen", "", "--ingest-listen", addr,
		"--checkpoint", filepath.Join(dir, "checkpoints"), "--checkpoint-interval", "100ms"}
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), runMainEnv+"=1", "OUT="+out)
	errPipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &ingestChild{cmd: cmd, done: make(chan error, 1), said: &strings.Builder{}, mu: &sync.Mutex{}}
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(errPipe)
		signalled := false
		for sc.Scan() {
			c.mu.Lock()
			c.said.WriteString(sc.Text() + "\n")
			c.mu.Unlock()
			if !signalled && strings.Contains(sc.Text(), "takes records at POST") {
				close(ready)
				signalled = true
			}
		}
		if !signalled {
			close(ready)
		}
		c.done <- cmd.Wait()
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill() // the test stopped early: leave no child behind
		}
	})
	<-ready
	return c
}

// kill SIGKILLs the process and waits for it.
func (c *ingestChild) kill(t *testing.T) {
	t.Helper()
	if err := c.cmd.Process.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, os.ErrProcessDone) {
		t.Fatal(err)
	}
	if err := <-c.done; err == nil {
		t.Log("the run ended before its kill")
	}
}

// stop asks the process to stop (SIGTERM: a last checkpoint) and fails the test unless it
// exits cleanly.
func (c *ingestChild) stop(t *testing.T) {
	t.Helper()
	if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := <-c.done; err != nil {
		c.mu.Lock()
		defer c.mu.Unlock()
		t.Fatalf("the last run: %v\n%s", err, c.said.String())
	}
}

// waitForRows waits until the sink's published files hold at least n rows (or two minutes
// passed) and returns their sorted tx_ids.
func waitForRows(t *testing.T, dir string, n int) []string {
	t.Helper()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for deadline := time.Now().Add(2 * time.Minute); ; <-tick.C {
		var rows []string
		if _, err := os.Stat(dir); err == nil {
			rows = sinkRows(t, dir)
		}
		if len(rows) >= n || time.Now().After(deadline) {
			ids := make([]string, len(rows))
			for i, r := range rows {
				ids[i] = txID(t, r)
			}
			slices.Sort(ids)
			return ids
		}
	}
}

// TestSecondRunOfAnIngestPipelineIsRefused starts a run taking posted records and a second
// one on the same checkpoint directory: the second is refused, naming the first, before it
// touches the store.
func TestSecondRunOfAnIngestPipelineIsRefused(t *testing.T) {
	dir := t.TempDir()
	spec := filepath.Join(dir, "crash-ingest.yaml")
	if err := os.WriteFile(spec, []byte(crashIngestSpec), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("OUT", filepath.Join(dir, "out"))
	first := runIngestChild(t, spec, dir, filepath.Join(dir, "out"), freeAddr(t), 0)
	_, err := run(t, "run", spec, "--listen", "", "--ingest-listen", freeAddr(t), "--checkpoint", filepath.Join(dir, "checkpoints"))
	if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "checkpoints", "ingest")+" is held by pid") {
		t.Errorf("a second run: %v", err)
	}
	first.kill(t) // it may still be planning, which a stop interrupts with an error
}
