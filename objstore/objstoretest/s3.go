// Package objstoretest starts an S3-compatible server for tests of code that keeps
// objects through package objstore: an in-memory gofakes3 server behind a real HTTP
// listener, so that requests go over sockets as they do to a real server.
package objstoretest

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// Bucket is the bucket that S3 creates.
const Bucket = "millrace-test"

// S3 starts a server for the test, stopped when the test ends, and returns the URL of a
// prefix in its bucket ("s3://millrace-test/state"). It points objstore.Open at the
// server and gives the test fake credentials through the environment (t.Setenv, so the
// test cannot be parallel): MILLRACE_S3_ENDPOINT, AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY, AWS_REGION, and AWS_EC2_METADATA_DISABLED=true so that no
// client probes the instance metadata service.
func S3(t testing.TB) string {
	return S3Handler(t, nil)
}

// S3Handler is S3 with the server's handler passed through wrap (when not nil) before it
// serves, so that a test can fail or watch requests.
func S3Handler(t testing.TB, wrap func(http.Handler) http.Handler) string {
	t.Helper()
	backend := s3mem.New()
	if err := backend.CreateBucket(Bucket); err != nil {
		t.Fatalf("create bucket %s: %v", Bucket, err)
	}
	h := gofakes3.New(backend).Server()
	if wrap != nil {
		h = wrap(h)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	t.Setenv("MILLRACE_S3_ENDPOINT", srv.URL)
	t.Setenv("AWS_ACCESS_KEY_ID", "millrace-test-key")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "millrace-test-secret")
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	return "s3://" + Bucket + "/state"
}
