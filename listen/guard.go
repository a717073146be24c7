package listen

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
)

// tokenCookie is the cookie a browser keeps the token in after opening a page with ?token=.
const tokenCookie = "millrace_token"

// guard checks every request before the handler sees it: the Host header, then the token,
// and it caps the request body.
type guard struct {
	hosts   hostSet
	token   []byte          // nil: no token needed
	open    map[string]bool // paths a GET or HEAD reaches without the token
	tls     bool
	maxBody int64
	next    http.Handler
}

func (g *guard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !g.hosts.allows(r.Host) {
		http.Error(w, fmt.Sprintf("host %q is not a name of this server", r.Host), http.StatusMisdirectedRequest)
		return
	}
	if g.token != nil && !g.opens(r) {
		if q := r.URL.Query(); q.Has("token") && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
			g.login(w, r, q.Get("token"))
			return
		}
		if !g.authorized(r) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="millrace"`)
			http.Error(w, "missing or wrong token: send Authorization: Bearer <token>, or open the page once with ?token=<token>", http.StatusUnauthorized)
			return
		}
	}
	r.Body = http.MaxBytesReader(w, r.Body, g.maxBody)
	g.next.ServeHTTP(w, r)
}

// opens reports whether r reads one of the paths that need no token.
func (g *guard) opens(r *http.Request) bool {
	return (r.Method == http.MethodGet || r.Method == http.MethodHead) && g.open[r.URL.Path]
}

// login answers a GET carrying ?token=: a right token becomes an HttpOnly,
// SameSite=Strict cookie and the browser is sent to the same address without the token,
// so it stays out of the address bar, the history and Referer headers.
func (g *guard) login(w http.ResponseWriter, r *http.Request, tok string) {
	if !g.matches(tok) {
		http.Error(w, "wrong token", http.StatusUnauthorized)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: tokenCookie, Value: tok, Path: "/", HttpOnly: true, Secure: g.tls, SameSite: http.SameSiteStrictMode})
	u := *r.URL
	q := u.Query()
	q.Del("token")
	u.RawQuery = q.Encode()
	u.Scheme, u.Host = "", ""
	http.Redirect(w, r, u.RequestURI(), http.StatusSeeOther)
}

// authorized reports whether r carries the token, as a bearer token or in the cookie.
func (g *guard) authorized(r *http.Request) bool {
	if auth := r.Header.Get("Authorization"); auth != "" {
		scheme, tok, ok := strings.Cut(auth, " ")
		return ok && strings.EqualFold(scheme, "Bearer") && g.matches(strings.TrimSpace(tok))
	}
	if c, err := r.Cookie(tokenCookie); err == nil {
		return g.matches(c.Value)
	}
	return false
}

// matches compares tok with the token in constant time; hashing both first keeps the
// comparison from revealing the token's length.
func (g *guard) matches(tok string) bool {
	a, b := sha256.Sum256([]byte(tok)), sha256.Sum256(g.token)
	return subtle.ConstantTimeCompare(a[:], b[:]) == 1
}

// hostSet is what the Host header of a request may name.
type hostSet struct {
	names  map[string]bool
	anyIP  bool // bound to every interface: any IP literal names this machine
	noHost bool // an HTTP/1.0 request without Host
}

// allows reports whether host (with or without a port) names this server.
func (h hostSet) allows(host string) bool {
	if host == "" {
		return h.noHost
	}
	name := host
	if n, _, err := net.SplitHostPort(host); err == nil {
		name = n
	}
	name = strings.ToLower(strings.Trim(name, "[]"))
	if h.names[name] {
		return true
	}
	return h.anyIP && net.ParseIP(name) != nil
}

// allowedHosts is the set of Host names for a listener bound to host, plus extra. A Host
// header that is an IP literal cannot be pointed at another machine by DNS, so binding every
// interface accepts any; names must be listed (the machine's own host name is).
func allowedHosts(host string, extra []string) (hostSet, error) {
	h := hostSet{names: map[string]bool{}, noHost: true}
	add := func(n string) { h.names[strings.ToLower(strings.Trim(n, "[]"))] = true }
	for _, n := range extra {
		add(n)
	}
	switch {
	case isLoopback(host):
		for _, n := range []string{"localhost", "127.0.0.1", "::1"} {
			add(n)
		}
		add(host)
	case isWildcard(host):
		h.anyIP = true
		add("localhost")
		name, err := os.Hostname()
		if err != nil {
			return hostSet{}, fmt.Errorf("listen: host name: %w", err)
		}
		add(name)
	default:
		add(host)
	}
	return h, nil
}

// isWildcard reports whether host binds every interface.
func isWildcard(host string) bool {
	if host == "" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsUnspecified()
}

// isLoopback reports whether host binds only the loopback interface.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
