package listen

import (
	"net/http"
	"testing"
)

func TestOpenPathsNeedNoToken(t *testing.T) {
	const tok = "correct-horse-battery"
	s := serve(t, Config{Addr: "127.0.0.1:0", TokenFile: tokenFile(t, tok), Open: []string{"/healthz"}}, hello)
	client := &http.Client{}
	for _, method := range []string{"GET", "HEAD"} {
		if code, _ := get(t, client, newRequest(t, method, s.URL()+"/healthz", nil)); code != http.StatusOK {
			t.Errorf("%s /healthz without the token: status %d, want 200", method, code)
		}
	}
	// Only reads of exactly the open paths pass; the rest still need the token.
	for _, c := range []struct{ method, path string }{
		{"POST", "/healthz"}, {"GET", "/healthz/"}, {"GET", "/healthzx"}, {"GET", "/"}, {"GET", "/metrics"},
	} {
		if code, _ := get(t, client, newRequest(t, c.method, s.URL()+c.path, nil)); code != http.StatusUnauthorized {
			t.Errorf("%s %s without the token: status %d, want 401", c.method, c.path, code)
		}
	}
	// The Host header is checked on open paths too.
	req := newRequest(t, "GET", s.URL()+"/healthz", nil)
	req.Host = "attacker.example"
	if code, _ := get(t, client, req); code != http.StatusMisdirectedRequest {
		t.Errorf("/healthz with a foreign Host: status %d, want 421", code)
	}
}
