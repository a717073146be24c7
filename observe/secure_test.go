package observe

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"millrace/listen"
)

// routes are every route the server has, with what the answer starts with.
var routes = []struct{ path, want string }{
	{"/", "<!doctype html>"},
	{"/app.js", ""},
	{"/metrics", "# HELP"},
	{"/api/topology", "{"},
	{"/api/ledger", "{"},
	{"/api/dead-letters", "["},
	{"/api/scale", "{"},
	{"/api/stream", "event: history"},
}

// fetch GETs path from run's server with the token (if not empty) and returns the status
// and the answer's first line (a stream is read only that far).
func fetch(t *testing.T, run liveRun, path, token string) (int, string) {
	t.Helper()
	req, err := http.NewRequest("GET", run.url(path), nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }() // a stream is cut off here; nothing to report
	line, err := bufio.NewReader(resp.Body).ReadString('\n')
	if err != nil && err != io.EOF {
		t.Fatalf("%s: %v", path, err)
	}
	return resp.StatusCode, line
}

func TestTokenGuardsEveryRoute(t *testing.T) {
	const token = "5b1c-dashboard-token"
	file := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(file, []byte(token), 0o600); err != nil {
		t.Fatal(err)
	}
	run := startAdvisedRun(t, listen.Config{Addr: "127.0.0.1:0", TokenFile: file})
	waitForRows(t, run.mon, "velocity", 1000)
	for _, r := range routes {
		if code, line := fetch(t, run, r.path, ""); code != http.StatusUnauthorized || strings.Contains(line, token) {
			t.Errorf("%s without the token: %d %q, want 401", r.path, code, line)
		}
		if code, _ := fetch(t, run, r.path, "wrong"); code != http.StatusUnauthorized {
			t.Errorf("%s with a wrong token: %d, want 401", r.path, code)
		}
	}
	// The advisor's first advice comes one step into the run.
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for deadline := time.Now().Add(time.Minute); ; <-tick.C {
		if code, _ := fetch(t, run, "/api/scale", token); code == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no advice in a minute")
		}
	}
	for _, r := range routes {
		code, line := fetch(t, run, r.path, token)
		if code != http.StatusOK || !strings.HasPrefix(line, r.want) {
			t.Errorf("%s with the token: %d %q, want 200 and %q", r.path, code, line, r.want)
		}
	}
}

func TestConnectionCapHoldsWhileThePipelineRuns(t *testing.T) {
	run := startLiveRun(t, listen.Config{Addr: "127.0.0.1:0", MaxConns: 2})
	var held []net.Conn
	for range 2 {
		c, err := net.Dial("tcp", run.srv.Addr())
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = c.Close() }() // closing a test connection has nothing to report
		fmt.Fprintf(c, "GET /api/ledger HTTP/1.1\r\nHost: localhost\r\n\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close() // kept alive: the connection stays open
		held = append(held, c)
	}
	third, err := net.Dial("tcp", run.srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = third.Close() }() // closing a test connection has nothing to report
	fmt.Fprintf(third, "GET /api/ledger HTTP/1.1\r\nHost: localhost\r\n\r\n")
	// While the cap is full the pipeline goes on: its view takes 20 000 more rows...
	var before int64
	if st := run.mon.Snapshot(); st != nil {
		if n, ok := st.Node("big"); ok {
			before = n.RowsIn
		}
	}
	waitForRows(t, run.mon, "big", before+20_000)
	// ...and the third connection has had no answer.
	if err := third.SetReadDeadline(time.Now().Add(100 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(third)
	if _, err := r.Peek(1); err == nil {
		t.Fatal("a third connection was served past a cap of two")
	}
	if err := held[0].Close(); err != nil {
		t.Fatal(err)
	}
	if err := third.SetReadDeadline(time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("third connection once one closed: %d", resp.StatusCode)
	}
}
