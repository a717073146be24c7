package observe

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"millrace/engine"
	"millrace/listen"
)

// probe GETs path from the server at addr without a token and returns the status and body.
func probe(t *testing.T, addr, path string) (int, string) {
	t.Helper()
	resp, err := http.Get("http://" + addr + path)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }() // closing a test answer has nothing to report
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

func TestHealthProbesNeedNoTokenAndFollowTheRun(t *testing.T) {
	const token = "7f3e-probe-token"
	file := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(file, []byte(token), 0o600); err != nil {
		t.Fatal(err)
	}
	p := testPlan(t)
	mon := &engine.Monitor{}
	srv, err := Listen(listen.Config{Addr: "127.0.0.1:0", TokenFile: file}, p, mon)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := srv.Close(); err != nil {
			t.Error(err)
		}
	}()
	if code, body := probe(t, srv.Addr(), LivePath); code != http.StatusOK || body != "ok\n" {
		t.Errorf("%s before the run: %d %q, want 200", LivePath, code, body)
	}
	if code, body := probe(t, srv.Addr(), ReadyPath); code != http.StatusServiceUnavailable || body != "starting\n" {
		t.Errorf("%s before the run: %d %q, want 503", ReadyPath, code, body)
	}
	// The other routes still want the token.
	for _, path := range []string{"/", "/metrics", "/api/topology"} {
		if code, _ := probe(t, srv.Addr(), path); code != http.StatusUnauthorized {
			t.Errorf("%s without the token: %d, want 401", path, code)
		}
	}

	opts := engine.DefaultOptions()
	opts.Monitor = mon
	if _, err := engine.Run(context.Background(), p.Graph, opts); err != nil {
		t.Fatal(err)
	}
	// A run that has ended still counts: a worker between two runs (a rebalance) is ready.
	for _, path := range []string{LivePath, ReadyPath} {
		code, body := probe(t, srv.Addr(), path)
		if code != http.StatusOK || body != "ok\n" {
			t.Errorf("%s after the run started: %d %q, want 200", path, code, body)
		}
		if strings.Contains(body, token) || strings.Contains(body, p.Spec.Name) {
			t.Errorf("%s reveals more than its state: %q", path, body)
		}
	}
}
