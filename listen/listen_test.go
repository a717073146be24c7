package listen

import (
	"bufio"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine they started outlives them.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// hello answers "hello" to any request, after reading its body: a body over the limit is
// answered 413.
var hello = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	if _, err := io.Copy(io.Discard, r.Body); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			http.Error(w, err.Error(), http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	fmt.Fprint(w, "hello")
})

// serve starts a server for the test and closes it when the test ends.
func serve(t *testing.T, cfg Config, h http.Handler) *Server {
	t.Helper()
	s, err := Serve(cfg, h)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}

// tokenFile writes tok to a file and returns its path.
func tokenFile(t *testing.T, tok string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(path, []byte(tok+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// get sends req with client and returns the status and body.
func get(t *testing.T, client *http.Client, req *http.Request) (int, string) {
	t.Helper()
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }() // closing a test connection has nothing to report
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

func newRequest(t *testing.T, method, url string, body io.Reader) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

func TestNonLoopbackNeedsTokenOrTLS(t *testing.T) {
	pki := newTestPKI(t)
	for _, addr := range []string{"0.0.0.0:0", "[::]:0", ":0"} {
		if _, err := Serve(Config{Addr: addr}, hello); !errors.Is(err, ErrExposed) {
			t.Errorf("%s without token or TLS: got %v, want ErrExposed", addr, err)
		}
		for name, cfg := range map[string]Config{
			"token":    {Addr: addr, TokenFile: tokenFile(t, "s3cret")},
			"TLS":      {Addr: addr, TLSCert: pki.certFile, TLSKey: pki.keyFile},
			"insecure": {Addr: addr, Insecure: true},
		} {
			s, err := Serve(cfg, hello)
			if err != nil {
				t.Errorf("%s with %s: %v", addr, name, err)
				continue
			}
			if err := s.Close(); err != nil {
				t.Error(err)
			}
		}
	}
	for _, addr := range []string{"127.0.0.1:0", "localhost:0", "[::1]:0"} {
		if !isLoopback(strings.Trim(addr[:strings.LastIndex(addr, ":")], "[]")) {
			t.Errorf("%s is loopback", addr)
		}
	}
	if _, err := Serve(Config{Addr: "127.0.0.1:0", TLSCert: pki.certFile}, hello); err == nil {
		t.Error("a certificate without its key was accepted")
	}
	if _, err := Serve(Config{Addr: "127.0.0.1:0", TokenFile: tokenFile(t, " ")}, hello); err == nil {
		t.Error("an empty token was accepted")
	}
}

func TestTokenGuardsEveryRequest(t *testing.T) {
	const tok = "correct-horse-battery"
	s := serve(t, Config{Addr: "127.0.0.1:0", TokenFile: tokenFile(t, tok)}, hello)
	client := &http.Client{}
	for _, auth := range []string{"", "Bearer wrong", "Basic " + tok, "Bearer " + tok + "x"} {
		req := newRequest(t, "GET", s.URL()+"/api/x", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		code, body := get(t, client, req)
		if code != http.StatusUnauthorized {
			t.Errorf("Authorization %q: status %d, want 401", auth, code)
		}
		if strings.Contains(body, tok) {
			t.Errorf("the 401 answer shows the token: %q", body)
		}
	}
	req := newRequest(t, "GET", s.URL()+"/api/x", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	if code, body := get(t, client, req); code != http.StatusOK || body != "hello" {
		t.Errorf("with the token: %d %q", code, body)
	}

	// A browser opens the page once with ?token=: it gets a cookie and the address without it.
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	browser := &http.Client{Jar: jar}
	var redirected string
	browser.CheckRedirect = func(r *http.Request, _ []*http.Request) error { redirected = r.URL.String(); return nil }
	if code, _ := get(t, browser, newRequest(t, "GET", s.URL()+"/?token=wrong", nil)); code != http.StatusUnauthorized {
		t.Errorf("a wrong ?token=: status %d", code)
	}
	resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Get(s.URL() + "/?token=" + tok + "&view=x")
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close() // closing a test answer has nothing to report
	cookie := resp.Header.Get("Set-Cookie")
	for _, want := range []string{"HttpOnly", "SameSite=Strict", "Path=/"} {
		if !strings.Contains(cookie, want) {
			t.Errorf("cookie %q lacks %s", cookie, want)
		}
	}
	if loc := resp.Header.Get("Location"); loc != "/?view=x" {
		t.Errorf("redirected to %q, want the page without the token", loc)
	}
	if code, body := get(t, browser, newRequest(t, "GET", s.URL()+"/?token="+tok, nil)); code != http.StatusOK || body != "hello" {
		t.Errorf("browser after ?token=: %d %q", code, body)
	}
	if strings.Contains(redirected, tok) {
		t.Errorf("redirected to %q, which shows the token", redirected)
	}
	if code, _ := get(t, browser, newRequest(t, "GET", s.URL()+"/api/stream", nil)); code != http.StatusOK {
		t.Errorf("browser with the cookie: %d", code)
	}
}

func TestHostHeaderMustNameTheServer(t *testing.T) {
	s := serve(t, Config{Addr: "127.0.0.1:0", Hosts: []string{"millrace.internal"}}, hello)
	_, port, err := net.SplitHostPort(s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	for host, want := range map[string]int{
		"127.0.0.1:" + port:         http.StatusOK,
		"localhost:" + port:         http.StatusOK,
		"LOCALHOST":                 http.StatusOK,
		"[::1]:" + port:             http.StatusOK,
		"millrace.internal:" + port: http.StatusOK,
		"attacker.example:" + port:  http.StatusMisdirectedRequest,
		"attacker.example":          http.StatusMisdirectedRequest,
		"10.1.2.3:" + port:          http.StatusMisdirectedRequest,
	} {
		req := newRequest(t, "GET", s.URL()+"/", nil)
		req.Host = host
		if code, _ := get(t, http.DefaultClient, req); code != want {
			t.Errorf("Host %q: status %d, want %d", host, code, want)
		}
	}
	// Bound to every interface, any IP literal names the machine, but a name must be listed.
	wild, err := allowedHosts("0.0.0.0", nil)
	if err != nil {
		t.Fatal(err)
	}
	for host, want := range map[string]bool{"10.1.2.3:80": true, "[fe80::1]:80": true, "localhost": true, "attacker.example": false} {
		if wild.allows(host) != want {
			t.Errorf("bound to 0.0.0.0, Host %q allowed = %v", host, !want)
		}
	}
}

func TestTLSAndMutualTLS(t *testing.T) {
	pki := newTestPKI(t)
	s := serve(t, Config{Addr: "127.0.0.1:0", TLSCert: pki.certFile, TLSKey: pki.keyFile}, hello)
	if !strings.HasPrefix(s.URL(), "https://") {
		t.Fatalf("URL %s", s.URL())
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pki.pool}}}
	defer client.CloseIdleConnections()
	if code, body := get(t, client, newRequest(t, "GET", s.URL()+"/", nil)); code != http.StatusOK || body != "hello" {
		t.Errorf("over TLS: %d %q", code, body)
	}
	if resp, err := http.Get(s.URL() + "/"); err == nil { // the system roots do not know the test CA
		_ = resp.Body.Close() // closing a test answer has nothing to report
		t.Error("a client that does not trust the certificate got through")
	}

	m := serve(t, Config{Addr: "127.0.0.1:0", TLSCert: pki.certFile, TLSKey: pki.keyFile, TLSClientCA: pki.caFile}, hello)
	if resp, err := client.Get(m.URL() + "/"); err == nil {
		_ = resp.Body.Close() // closing a test answer has nothing to report
		t.Error("mutual TLS let a client without a certificate in")
	}
	withCert := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pki.pool, Certificates: []tls.Certificate{pki.client}}}}
	defer withCert.CloseIdleConnections()
	if code, body := get(t, withCert, newRequest(t, "GET", m.URL()+"/", nil)); code != http.StatusOK || body != "hello" {
		t.Errorf("mutual TLS with a client certificate: %d %q", code, body)
	}
}

// waitClosed reads from c until the server closes it and fails the test if that takes
// longer than limit (a bound far above the timeout under test, so that only a server that
// never closes fails).
func waitClosed(t *testing.T, c net.Conn, limit time.Duration) {
	t.Helper()
	if err := c.SetReadDeadline(time.Now().Add(limit)); err != nil {
		t.Fatal(err)
	}
	_, err := io.Copy(io.Discard, c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("the server kept the connection open for %s", limit)
	}
}

func TestIdleAndSlowConnectionsAreClosed(t *testing.T) {
	s := serve(t, Config{Addr: "127.0.0.1:0", IdleTimeout: 100 * time.Millisecond, ReadHeaderTimeout: 100 * time.Millisecond}, hello)

	idle, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = idle.Close() }() // closing a test connection has nothing to report
	if _, err := fmt.Fprintf(idle, "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(idle), nil)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close() // closing a test answer has nothing to report
	if resp.StatusCode != http.StatusOK || resp.Close {
		t.Fatalf("status %d, close %v: want a kept-alive connection", resp.StatusCode, resp.Close)
	}
	waitClosed(t, idle, 20*time.Second)

	slow, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = slow.Close() }()                                                   // closing a test connection has nothing to report
	if _, err := fmt.Fprintf(slow, "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n"); err != nil { // and never the blank line
		t.Fatal(err)
	}
	waitClosed(t, slow, 20*time.Second)
}

func TestConnectionCapHolds(t *testing.T) {
	s := serve(t, Config{Addr: "127.0.0.1:0", MaxConns: 2}, hello)
	// Two kept-alive connections fill the cap.
	var held []net.Conn
	for range 2 {
		c, err := net.Dial("tcp", s.Addr())
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = c.Close() }() // closing a test connection has nothing to report
		if _, err := fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close() // closing a test answer has nothing to report
		held = append(held, c)
	}
	third, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = third.Close() }() // closing a test connection has nothing to report
	if _, err := fmt.Fprintf(third, "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	// The third is not answered while the two are open...
	if err := third.SetReadDeadline(time.Now().Add(200 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(third)
	if _, err := r.Peek(1); err == nil {
		t.Fatal("a third connection was served past a cap of two")
	}
	// ...and is once one of them closes.
	if err := held[0].Close(); err != nil {
		t.Fatal(err)
	}
	if err := third.SetReadDeadline(time.Now().Add(20 * time.Second)); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close() // closing a test answer has nothing to report
	if resp.StatusCode != http.StatusOK {
		t.Errorf("third connection: status %d", resp.StatusCode)
	}
	if peak := s.ln.peak.Load(); peak > 2 {
		t.Errorf("%d connections were open at once, past the cap of 2", peak)
	}
}

func TestBodyLimit(t *testing.T) {
	s := serve(t, Config{Addr: "127.0.0.1:0", MaxBody: 1000}, hello)
	if code, _ := get(t, http.DefaultClient, newRequest(t, "POST", s.URL()+"/", strings.NewReader(strings.Repeat("x", 1000)))); code != http.StatusOK {
		t.Errorf("a body at the limit: %d", code)
	}
	if code, _ := get(t, http.DefaultClient, newRequest(t, "POST", s.URL()+"/", strings.NewReader(strings.Repeat("x", 1001)))); code != http.StatusRequestEntityTooLarge {
		t.Errorf("a body past the limit: %d, want 413", code)
	}
}

func TestStreamsOutliveTheWriteTimeoutAndAreCapped(t *testing.T) {
	plainFailed, resume := make(chan struct{}), make(chan struct{})
	mux := http.NewServeMux()
	// /plain writes until its write deadline stops it.
	mux.HandleFunc("/plain", func(w http.ResponseWriter, _ *http.Request) {
		defer close(plainFailed)
		rc := http.NewResponseController(w)
		for {
			if _, err := w.Write(make([]byte, 1024)); err != nil {
				return
			}
			if err := rc.Flush(); err != nil {
				return
			}
		}
	})
	// /stream writes one event, waits for the test, and writes another.
	mux.Handle("/stream", Streams(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		fmt.Fprint(w, "data: one\n\n")
		if err := rc.Flush(); err != nil {
			return
		}
		select {
		case <-resume:
		case <-r.Context().Done():
			return
		}
		fmt.Fprint(w, "data: two\n\n")
	})))
	s := serve(t, Config{Addr: "127.0.0.1:0", WriteTimeout: 50 * time.Millisecond, MaxStreams: 1}, mux)

	resp, err := http.Get(s.URL() + "/stream")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }() // closing a test connection has nothing to report
	events := bufio.NewReader(resp.Body)
	if line, err := events.ReadString('\n'); err != nil || line != "data: one\n" {
		t.Fatalf("first event: %q, %v", line, err)
	}
	// A second stream is over the cap of one.
	if code, _ := get(t, http.DefaultClient, newRequest(t, "GET", s.URL()+"/stream", nil)); code != http.StatusServiceUnavailable {
		t.Errorf("second stream: status %d, want 503", code)
	}
	// A plain answer started after the stream runs into the write timeout...
	plain, err := http.Get(s.URL() + "/plain")
	if err == nil {
		_, err = io.Copy(io.Discard, plain.Body)
		_ = plain.Body.Close() // closing a test answer has nothing to report
	}
	<-plainFailed
	if err == nil {
		t.Error("a plain answer outlived the write timeout")
	}
	// ...while the stream, older than it, still writes.
	close(resume)
	rest, err := io.ReadAll(events)
	if err != nil || string(rest) != "\ndata: two\n\n" {
		t.Errorf("stream after the write timeout: %q, %v", rest, err)
	}
}
