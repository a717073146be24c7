package main

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestDemoListenerNeedsItsToken runs the demo as a process of its own with a token file:
// the dashboard, the API and the metrics answer 401 without the token and 200 with it, and
// nothing it prints shows the token. A non-loopback address without token or TLS is refused
// with what to add.
func TestDemoListenerNeedsItsToken(t *testing.T) {
	dir := t.TempDir()
	const token = "7d0f-demo-listener-token"
	tokenFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout strings.Builder
	c := startChild(t, &stdout, "demo", "--dir", filepath.Join(dir, "demo"), "--speed", "60", "--rate", "500",
		"--listen", "127.0.0.1:0", "--listen-token-file", tokenFile)
	c.waitFor(t, "dashboard at ")
	line := c.said[len(c.said)-1]
	base := strings.TrimSuffix(strings.Fields(line[strings.Index(line, "dashboard at "):])[2], "/")
	get := func(path, auth string) int {
		req, err := http.NewRequest("GET", base+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = resp.Body.Close() }() // closing a test connection has nothing to report
		if _, err := io.Copy(io.Discard, resp.Body); err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode
	}
	for _, path := range []string{"/", "/metrics", "/api/dead-letters"} {
		if code := get(path, ""); code != http.StatusUnauthorized {
			t.Errorf("%s without the token: %d, want 401", path, code)
		}
		if code := get(path, "Bearer "+token); code != http.StatusOK {
			t.Errorf("%s with the token: %d, want 200", path, code)
		}
	}
	if err := c.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	status, said := c.exit(t)
	if status != 0 {
		t.Errorf("demo exited with %d:\n%s", status, said)
	}
	if strings.Contains(said+stdout.String(), token) {
		t.Errorf("the demo printed its token")
	}

	refused := startChild(t, io.Discard, "demo", "--dir", filepath.Join(dir, "open"), "--listen", "0.0.0.0:0")
	status, said = refused.exit(t)
	if status != 2 || !strings.Contains(said, "--listen-token-file") || !strings.Contains(said, "--insecure-listen") {
		t.Errorf("demo on 0.0.0.0 without token or TLS: status %d:\n%s", status, said)
	}
}
