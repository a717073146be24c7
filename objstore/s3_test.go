package objstore

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"millrace/objstore/objstoretest"
)

// flaky answers 503 to the requests that fail chooses, in front of a real server.
type flaky struct {
	mu       sync.Mutex
	fail     func(r *http.Request) bool
	failed   int
	requests []string // "METHOD path?query" of every request, in order
}

func (f *flaky) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.requests = append(f.requests, r.Method+" "+r.URL.RequestURI())
		fail := f.fail != nil && f.fail(r)
		if fail {
			f.failed++
		}
		f.mu.Unlock()
		if fail {
			http.Error(w, "try again", http.StatusServiceUnavailable)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// failFirst fails the next n requests that match.
func (f *flaky) failFirst(n int, match func(r *http.Request) bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failed = 0
	f.requests = nil
	f.fail = func(r *http.Request) bool { return f.failed < n && match(r) }
}

func (f *flaky) count(match func(string) bool) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, r := range f.requests {
		if match(r) {
			n++
		}
	}
	return n
}

func every(*http.Request) bool { return true }

// retries records what OnRetry is told.
type retries struct {
	mu     sync.Mutex
	events []string
}

func (r *retries) on(op, key string, failures int, err error) {
	r.mu.Lock()
	r.events = append(r.events, fmt.Sprintf("%s %s %d", op, key, failures))
	r.mu.Unlock()
}

func (r *retries) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	e := r.events
	r.events = nil
	return e
}

func openFlaky(t *testing.T, retry Retry) (*s3Store, *flaky) {
	t.Helper()
	f := &flaky{}
	url := objstoretest.S3Handler(t, f.wrap)
	s3 := open(t, url, Options{Retry: retry}).(*s3Store)
	s3.pageSize = 7
	return s3, f
}

// Every operation outlives a few 503 answers, and is retried as often as the server
// failed it.
func TestS3RetriesTransientFailures(t *testing.T) {
	var seen retries
	s, f := openFlaky(t, Retry{Backoff: noWait, OnRetry: seen.on})
	ctx := t.Context()

	f.failFirst(3, every)
	if err := s.Put(ctx, "state/a", []byte("hello")); err != nil {
		t.Fatal(err)
	}
	if got := seen.take(); !slices.Equal(got, []string{"put state/a 1", "put state/a 2", "put state/a 3"}) {
		t.Fatalf("retries of put: %v", got)
	}
	f.failFirst(2, every)
	if got, err := s.Get(ctx, "state/a"); err != nil || string(got) != "hello" {
		t.Fatalf("get: %q, %v", got, err)
	}
	f.failFirst(1, every)
	if got, err := s.GetRange(ctx, "state/a", 1, 3); err != nil || string(got) != "ell" {
		t.Fatalf("get range: %q, %v", got, err)
	}
	f.failFirst(2, every)
	if err := s.Create(ctx, "state/b", []byte("new")); err != nil {
		t.Fatal(err)
	}
	if got := seen.take(); len(got) != 5 {
		t.Fatalf("retries of get, get range and create: %v", got)
	}

	// A listing of 20 keys comes in pages of 7; the second page fails once and is asked
	// for again after the last key received, so no key comes twice.
	var want []string
	for i := range 20 {
		key := fmt.Sprintf("list/%02d", i)
		want = append(want, key)
		if err := s.Put(ctx, key, []byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
	}
	isList := func(r *http.Request) bool { return r.Method == http.MethodGet && r.URL.Query().Has("list-type") }
	pages := 0
	f.failFirst(1, func(r *http.Request) bool {
		if isList(r) {
			pages++
		}
		return pages == 2 && isList(r)
	})
	objs, err := s.List(ctx, "list/")
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, o := range objs {
		keys = append(keys, o.Key)
	}
	if !slices.Equal(keys, want) {
		t.Fatalf("listed %v, want %v", keys, want)
	}
	if n := f.count(func(r string) bool { return strings.Contains(r, "list-type=2") }); n != 4 {
		t.Fatalf("%d list requests, want 3 pages and 1 retry", n)
	}
	if got := seen.take(); !slices.Equal(got, []string{"list list/ 1"}) {
		t.Fatalf("retries of list: %v", got)
	}

	f.failFirst(1, func(r *http.Request) bool { return r.Method == http.MethodPost })
	if err := s.Delete(ctx, want...); err != nil {
		t.Fatal(err)
	}
	if objs, err := s.List(ctx, "list/"); err != nil || len(objs) != 0 {
		t.Fatalf("after delete: %v, %v", objs, err)
	}
	if got := seen.take(); !slices.Equal(got, []string{"delete  1"}) {
		t.Fatalf("retries of delete: %v", got)
	}
}

func TestS3GivesUp(t *testing.T) {
	var seen retries
	s, f := openFlaky(t, Retry{Attempts: 3, Backoff: noWait, OnRetry: seen.on})
	f.failFirst(100, every)
	err := s.Put(t.Context(), "state/a", []byte("x"))
	if err == nil {
		t.Fatal("put succeeded against a server that answers only 503")
	}
	if want := "objstore s3://millrace-test/state: put state/a: after 3 attempts: "; !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("error %q, want it to begin with %q", err, want)
	}
	if got := seen.take(); len(got) != 2 {
		t.Fatalf("retries: %v", got)
	}
	err = s.Delete(t.Context(), "state/a", "state/b", "state/c")
	if want := "objstore s3://millrace-test/state: delete state/a (and 2 more): after 3 attempts: HTTP 503: try again"; err == nil || err.Error() != want {
		t.Fatalf("error %v, want %q", err, want)
	}
	seen.take()
	// An error that retrying cannot mend is not retried.
	f.failFirst(0, every)
	if _, err := s.Get(t.Context(), "state/missing"); !errors.Is(err, ErrNotFound) {
		t.Fatal(err)
	}
	if got := seen.take(); len(got) != 0 {
		t.Fatalf("a missing object was retried: %v", got)
	}
}

// When the answer to a conditional PUT is lost after the server wrote the object, the
// retry is refused (the key has an object now), and Create sees that the object is its
// own; an object with other data stays refused.
func TestS3CreateAfterLostAnswer(t *testing.T) {
	f := &flaky{}
	lose := 0
	url := objstoretest.S3Handler(t, func(h http.Handler) http.Handler {
		h = f.wrap(h)
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			f.mu.Lock()
			drop := lose > 0 && r.Method == http.MethodPut && r.Header.Get("If-None-Match") == "*"
			if drop {
				lose--
			}
			f.mu.Unlock()
			if drop {
				h.ServeHTTP(httptest.NewRecorder(), r) // the server writes; its answer is lost
				http.Error(w, "bad gateway", http.StatusBadGateway)
				return
			}
			h.ServeHTTP(w, r)
		})
	})
	s := open(t, url, Options{Retry: Retry{Backoff: noWait}})
	setLose := func(n int) {
		f.mu.Lock()
		lose = n
		f.mu.Unlock()
	}
	lost := func() {
		t.Helper()
		f.mu.Lock()
		defer f.mu.Unlock()
		if lose != 0 {
			t.Fatal("no answer was lost")
		}
	}
	setLose(1)
	if err := s.Create(t.Context(), "state/k", []byte("mine")); err != nil {
		t.Fatalf("create whose first answer was lost: %v", err)
	}
	lost()
	if got := mustGet(t, s, "state/k"); string(got) != "mine" {
		t.Fatalf("read back %q", got)
	}
	// Another writer's create of the same key, also retried, is refused.
	setLose(1)
	if err := s.Create(t.Context(), "state/k", []byte("theirs")); !errors.Is(err, ErrExists) {
		t.Fatalf("create of a key that another writer has: %v, want ErrExists", err)
	}
	lost()
	if got := mustGet(t, s, "state/k"); string(got) != "mine" {
		t.Fatalf("read back %q", got)
	}
}

// A server nobody listens at is retried and then reported, with where and what.
func TestS3Unreachable(t *testing.T) {
	objstoretest.S3(t) // the environment of a test server
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close() // its port now refuses connections
	var seen retries
	_, err := Open(t.Context(), "s3://bucket/p", Options{Endpoint: srv.URL, Retry: Retry{Attempts: 3, Backoff: noWait, OnRetry: seen.on}})
	if err == nil {
		t.Fatal("opened a store at a closed port")
	}
	if msg := err.Error(); !strings.Contains(msg, "objstore: open s3://bucket/p at "+strings.TrimPrefix(srv.URL, "http://")) ||
		!strings.Contains(msg, "after 3 attempts") || !strings.Contains(msg, "connection refused") {
		t.Fatalf("error %q", err)
	}
	if strings.Contains(err.Error(), "millrace-test-secret") {
		t.Fatalf("the error shows the secret key: %q", err)
	}
	if got := seen.take(); len(got) != 2 {
		t.Fatalf("retries: %v", got)
	}
}

// A wait between retries ends with the operation's context.
func TestS3WaitEndsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	s, f := openFlaky(t, Retry{Backoff: func(int) time.Duration { return time.Hour }, OnRetry: func(string, string, int, error) { cancel() }})
	f.failFirst(1, every)
	err := s.Put(ctx, "state/a", []byte("x"))
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "503") {
		t.Fatalf("error %q, want the cancellation and the last failure", err)
	}
}

func TestS3Prefixes(t *testing.T) {
	url := objstoretest.S3(t)
	ctx := t.Context()
	a, b, whole := open(t, url+"/a/", Options{}), open(t, url+"/b", Options{}), open(t, "s3://"+objstoretest.Bucket, Options{})
	// Keys may begin with a dot on S3, where nothing else is written under them.
	if err := a.Put(ctx, ".meta", []byte("m")); err != nil {
		t.Fatal(err)
	}
	if a.String() != "s3://millrace-test/state/a" || whole.String() != "s3://millrace-test/" {
		t.Fatalf("stores named %s and %s", a, whole)
	}
	if err := a.Put(ctx, "k", []byte("in a")); err != nil {
		t.Fatal(err)
	}
	if err := b.Put(ctx, "k", []byte("in b")); err != nil {
		t.Fatal(err)
	}
	if got := mustGet(t, a, "k"); string(got) != "in a" {
		t.Fatalf("a holds %q", got)
	}
	objs, err := whole.List(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if want := []Object{{"state/a/.meta", 1}, {"state/a/k", 4}, {"state/b/k", 4}}; !slices.Equal(objs, want) {
		t.Fatalf("the bucket holds %v, want %v", objs, want)
	}
	if objs, err := a.List(ctx, ""); err != nil || !slices.Equal(objs, []Object{{".meta", 1}, {"k", 4}}) {
		t.Fatalf("a lists %v, %v", objs, err)
	}
}

func TestOpenS3Refuses(t *testing.T) {
	objstoretest.S3(t)
	for _, c := range []struct{ url, want string }{
		{"s3://nope/p", `objstore: open s3://nope/p at 127.0.0.1:`},
		{"s3://nope/p", `bucket "nope" does not exist`},
		{"s3://AKIA:hunter2@bucket/p", "the URL may hold only a bucket and a prefix"},
		{"s3:///p", "bucket \"\""},
		{"s3://bucket/a//b", "prefix: objstore: bad key"},
		{"gs://bucket/p", "unknown scheme"},
		{"", "no location given"},
	} {
		_, err := Open(t.Context(), c.url, Options{})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("open %q: %v, want an error with %q", c.url, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), "hunter2") {
			t.Errorf("open %q: the error shows the secret: %v", c.url, err)
		}
	}
}

func TestResolveEndpoint(t *testing.T) {
	env := map[string]string{}
	getenv := func(k string) string { return env[k] }
	for _, c := range []struct {
		endpoint string
		env      map[string]string
		host     string
		secure   bool
		err      string
	}{
		{host: "s3.amazonaws.com", secure: true},
		{endpoint: "http://127.0.0.1:9000", host: "127.0.0.1:9000"},
		{endpoint: "https://minio.internal/", host: "minio.internal", secure: true},
		{endpoint: "minio.internal:9000", host: "minio.internal:9000", secure: true},
		{env: map[string]string{"AWS_ENDPOINT_URL": "http://b:1", "AWS_ENDPOINT_URL_S3": "http://a:1"}, host: "a:1"},
		{env: map[string]string{"AWS_ENDPOINT_URL": "http://b:1", "MILLRACE_S3_ENDPOINT": "http://m:1"}, host: "m:1"},
		{endpoint: "http://given:1", env: map[string]string{"MILLRACE_S3_ENDPOINT": "http://m:1"}, host: "given:1"},
		{endpoint: "ftp://x", err: `scheme "ftp"`},
		{endpoint: "http://x:1/path", err: "want http://host:port"},
		{endpoint: "http://user:pw@x:1", err: "want http://host:port"},
	} {
		env = c.env
		host, secure, err := resolveEndpoint(c.endpoint, getenv)
		switch {
		case c.err != "":
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%q %v: %v, want an error with %q", c.endpoint, c.env, err, c.err)
			}
		case err != nil || host != c.host || secure != c.secure:
			t.Errorf("%q %v: %s %v %v, want %s %v", c.endpoint, c.env, host, secure, err, c.host, c.secure)
		}
	}
}
