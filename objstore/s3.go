package objstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"maps"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"syscall"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/s3utils"
)

// Options say how Open reaches an S3-compatible server; a directory store ignores them.
//
// Credentials come from the environment, never from Options or the URL: the variables
// AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN), else the shared
// credentials file (~/.aws/credentials, AWS_SHARED_CREDENTIALS_FILE, AWS_PROFILE), else
// the instance metadata service unless AWS_EC2_METADATA_DISABLED=true; with none of
// them requests go unsigned. No error or String of a store shows them.
type Options struct {
	// Endpoint is the server: "http://host:port" speaks plain HTTP, "https://host" or
	// "host[:port]" TLS. Empty: the first set of the variables MILLRACE_S3_ENDPOINT,
	// AWS_ENDPOINT_URL_S3 and AWS_ENDPOINT_URL, else Amazon S3.
	Endpoint string
	// Region is the bucket's region. Empty: AWS_REGION or AWS_DEFAULT_REGION, else the
	// server is asked.
	Region string
	// PathStyle puts the bucket in the path of requests (host/bucket/key) rather than in
	// the host name (bucket.host/key). Without it the style is chosen by endpoint: in the
	// host name for Amazon's, in the path for others.
	PathStyle bool
	// Retry says how operations that fail for a transient reason are retried.
	Retry Retry
}

// DefaultOptions returns the options Open uses when given Options{}.
func DefaultOptions() Options { return Options{Retry: DefaultRetry()} }

// s3Store keeps each object as the object prefix+key of a bucket.
type s3Store struct {
	client   *minio.Client
	conns    *http.Transport // the client's, whose idle connections Close closes
	bucket   string
	prefix   string // "" or ending with a slash
	retry    Retry
	pageSize int // keys per List request; 0 lets the server choose (1000 on S3)
}

// openS3 opens s3://bucket/prefix and checks that the bucket exists.
func openS3(ctx context.Context, rawURL string, opts Options) (*s3Store, error) {
	bucket, prefix, err := parseS3URL(rawURL)
	if err != nil {
		return nil, err
	}
	s := &s3Store{bucket: bucket, prefix: prefix, retry: opts.Retry.withDefaults()}
	host, secure, err := resolveEndpoint(opts.Endpoint, os.Getenv)
	if err != nil {
		return nil, fmt.Errorf("objstore: open %s: %w", s, err)
	}
	region := opts.Region
	if region == "" {
		region = firstSet(os.Getenv("AWS_REGION"), os.Getenv("AWS_DEFAULT_REGION"))
	}
	lookup := minio.BucketLookupAuto
	if opts.PathStyle {
		lookup = minio.BucketLookupPath
	}
	s.conns, err = minio.DefaultTransport(secure)
	if err != nil {
		return nil, fmt.Errorf("objstore: open %s at %s: %w", s, host, err)
	}
	s.client, err = minio.New(host, &minio.Options{
		Transport:    s.conns,
		Creds:        credentialChain(os.Getenv("AWS_EC2_METADATA_DISABLED")),
		Secure:       secure,
		Region:       region,
		BucketLookup: lookup,
		MaxRetries:   1, // the store retries, with its own backoff, under the caller's context
	})
	if err != nil {
		return nil, fmt.Errorf("objstore: open %s at %s: %w", s, host, err)
	}
	var exists bool
	err = s.do(ctx, "open", "", func(int) error {
		var err error
		exists, err = s.client.BucketExists(ctx, bucket)
		return err
	})
	if err == nil && !exists {
		err = fmt.Errorf("bucket %q does not exist", bucket)
	}
	if err != nil {
		s.conns.CloseIdleConnections()
		return nil, fmt.Errorf("objstore: open %s at %s: %w", s, host, err)
	}
	return s, nil
}

func firstSet(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// credentialChain returns the credentials of the environment, the shared file or, unless
// metadataDisabled is "true", the instance metadata service, in that order.
func credentialChain(metadataDisabled string) *credentials.Credentials {
	providers := []credentials.Provider{&credentials.EnvAWS{}, &credentials.FileAWSCredentials{}}
	if !strings.EqualFold(metadataDisabled, "true") {
		providers = append(providers, &credentials.IAM{})
	}
	return credentials.NewChainCredentials(providers)
}

// parseS3URL splits s3://bucket/prefix into the bucket and the prefix ("" or ending with
// a slash). Its errors never repeat a URL that holds credentials.
func parseS3URL(raw string) (bucket, prefix string, err error) {
	rest := strings.TrimPrefix(raw, "s3://")
	if strings.ContainsAny(rest, "@?#") {
		return "", "", errors.New("objstore: open s3://...: the URL may hold only a bucket and a prefix (credentials come from the environment)")
	}
	bucket, prefix, _ = strings.Cut(rest, "/")
	if err := s3utils.CheckValidBucketName(bucket); err != nil {
		return "", "", fmt.Errorf("objstore: open %s: bucket %q: %w", raw, bucket, err)
	}
	prefix = strings.Trim(prefix, "/")
	if prefix == "" {
		return bucket, "", nil
	}
	if err := checkKey(prefix, false); err != nil {
		return "", "", fmt.Errorf("objstore: open %s: prefix: %w", raw, err)
	}
	return bucket, prefix + "/", nil
}

// resolveEndpoint returns the host[:port] of the server and whether to speak TLS to it,
// from endpoint or else the variables getenv reads.
func resolveEndpoint(endpoint string, getenv func(string) string) (host string, secure bool, err error) {
	for _, v := range []string{"MILLRACE_S3_ENDPOINT", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"} {
		if endpoint != "" {
			break
		}
		endpoint = getenv(v)
	}
	if endpoint == "" {
		return "s3.amazonaws.com", true, nil
	}
	secure = true
	if scheme, rest, ok := strings.Cut(endpoint, "://"); ok {
		switch scheme {
		case "http":
			secure = false
		case "https":
		default:
			return "", false, fmt.Errorf("endpoint %q: scheme %q is neither http nor https", endpoint, scheme)
		}
		endpoint = rest
	}
	u, err := url.Parse("//" + strings.TrimSuffix(endpoint, "/"))
	if err != nil || u.Host == "" || u.Path != "" || u.User != nil || u.RawQuery != "" {
		return "", false, fmt.Errorf("endpoint %q: want http://host:port, https://host or host:port", endpoint)
	}
	return u.Host, secure, nil
}

// String implements Store.
func (s *s3Store) String() string {
	return "s3://" + s.bucket + "/" + strings.TrimSuffix(s.prefix, "/")
}

// Close implements Store: it closes the connections kept for later requests.
func (s *s3Store) Close() error {
	s.conns.CloseIdleConnections()
	return nil
}

func (s *s3Store) fail(op, key string, err error) error {
	return &opError{store: s.String(), op: op, key: key, err: err}
}

// do runs try under the store's retries; the errors say the HTTP status of answers.
func (s *s3Store) do(ctx context.Context, op, key string, try func(attempt int) error) error {
	return s.retry.do(ctx, op, key, transientS3, func(attempt int) error { return withStatus(try(attempt)) })
}

// withStatus puts the HTTP status of a server's answer before err, whose text is only
// the answer's message.
func withStatus(err error) error {
	var resp minio.ErrorResponse
	if errors.As(err, &resp) && resp.StatusCode != 0 {
		return fmt.Errorf("HTTP %d: %w", resp.StatusCode, err)
	}
	return err
}

// Put implements Store.
func (s *s3Store) Put(ctx context.Context, key string, data []byte) error {
	if err := checkKey(key, false); err != nil {
		return s.fail("put", key, err)
	}
	err := s.do(ctx, "put", key, func(int) error {
		_, err := s.client.PutObject(ctx, s.bucket, s.prefix+key, bytes.NewReader(data), int64(len(data)), putOptions())
		return err
	})
	if err != nil {
		return s.fail("put", key, err)
	}
	return nil
}

// Create implements Store with a conditional PUT (If-None-Match: *), which the server
// refuses with 412 when the key has an object. The guarantee is the server's: Amazon S3,
// MinIO and the servers that honour the condition give it; one that ignores the header
// overwrites. When a retried attempt is refused, the first may have written the object
// before its answer was lost: Create then succeeds if the object holds exactly data.
func (s *s3Store) Create(ctx context.Context, key string, data []byte) error {
	if err := checkKey(key, false); err != nil {
		return s.fail("create", key, err)
	}
	opts := putOptions()
	opts.DisableMultipart = true // the condition holds for one PUT
	opts.SetMatchETagExcept("*")
	err := s.do(ctx, "create", key, func(attempt int) error {
		_, err := s.client.PutObject(ctx, s.bucket, s.prefix+key, bytes.NewReader(data), int64(len(data)), opts)
		if !preconditionFailed(err) {
			return err
		}
		if attempt > 1 {
			if got, gerr := s.get(ctx, key, 0, -1); gerr == nil && bytes.Equal(got, data) {
				return nil
			}
		}
		return ErrExists
	})
	if err != nil {
		return s.fail("create", key, err)
	}
	return nil
}

// putOptions are those of every PUT: the body is sent with its length and its MD5, which
// the server checks, rather than in signed chunks (which servers disagree on for an empty
// body).
func putOptions() minio.PutObjectOptions {
	return minio.PutObjectOptions{ContentType: "application/octet-stream", SendContentMd5: true, DisableContentSha256: true}
}

func preconditionFailed(err error) bool {
	var resp minio.ErrorResponse
	return errors.As(err, &resp) && (resp.StatusCode == 412 || resp.Code == minio.PreconditionFailed)
}

// Get implements Store.
func (s *s3Store) Get(ctx context.Context, key string) ([]byte, error) {
	if err := checkKey(key, false); err != nil {
		return nil, s.fail("get", key, err)
	}
	var data []byte
	err := s.do(ctx, "get", key, func(int) error {
		var err error
		data, err = s.get(ctx, key, 0, -1)
		return err
	})
	if err != nil {
		return nil, s.fail("get", key, err)
	}
	return data, nil
}

// GetRange implements Store.
func (s *s3Store) GetRange(ctx context.Context, key string, off, n int64) ([]byte, error) {
	if err := checkKey(key, false); err != nil {
		return nil, s.fail("get", key, err)
	}
	if off < 0 || n <= 0 {
		return nil, s.fail("get", key, fmt.Errorf("bad range: offset %d, length %d", off, n))
	}
	n = min(n, math.MaxInt64-off)
	var data []byte
	err := s.do(ctx, "get", key, func(int) error {
		var err error
		data, err = s.get(ctx, key, off, n)
		return err
	})
	if err != nil {
		return nil, s.fail("get", key, fmt.Errorf("range %d+%d: %w", off, n, err))
	}
	return data, nil
}

// get reads the object once: n bytes from off, or all of it when n < 0.
func (s *s3Store) get(ctx context.Context, key string, off, n int64) ([]byte, error) {
	var opts minio.GetObjectOptions
	if n >= 0 {
		if err := opts.SetRange(off, off+n-1); err != nil {
			return nil, err
		}
	}
	body, info, header, err := minio.Core{Client: s.client}.GetObject(ctx, s.bucket, s.prefix+key, opts)
	if err != nil {
		var resp minio.ErrorResponse
		switch {
		case !errors.As(err, &resp):
		case resp.Code == minio.NoSuchKey:
			return nil, ErrNotFound
		case resp.StatusCode == 416 || resp.Code == "InvalidRange":
			return []byte{}, nil // off is at or past the end
		}
		return nil, err
	}
	defer func() { _ = body.Close() }() // the body is read whole or the read's error is returned
	data := make([]byte, 0, max(info.Size, 0))
	data, err = readAll(body, data)
	if err != nil {
		return nil, err
	}
	if n >= 0 && header.Get("Content-Range") == "" {
		// The server ignored the range and sent the whole object.
		data = data[min(off, int64(len(data))):]
		data = data[:min(n, int64(len(data)))]
	}
	return data, nil
}

// readAll appends r's bytes to buf, whose capacity is the expected length.
func readAll(r io.Reader, buf []byte) ([]byte, error) {
	b := bytes.NewBuffer(buf)
	_, err := b.ReadFrom(r)
	return b.Bytes(), err
}

// List implements Store. It pages through the bucket's listing; a page that fails for a
// transient reason is asked for again, after the last key already received.
func (s *s3Store) List(ctx context.Context, prefix string) ([]Object, error) {
	if err := checkPrefix(prefix, false); err != nil {
		return nil, s.fail("list", prefix, err)
	}
	var objs []Object
	err := s.do(ctx, "list", prefix, func(int) error {
		opts := minio.ListObjectsOptions{Prefix: s.prefix + prefix, Recursive: true, MaxKeys: s.pageSize}
		if len(objs) > 0 {
			opts.StartAfter = s.prefix + objs[len(objs)-1].Key
		}
		opts.FetchOwner = new(bool)
		for o := range s.client.ListObjectsIter(ctx, s.bucket, opts) {
			if o.Err != nil {
				return o.Err
			}
			objs = append(objs, Object{Key: strings.TrimPrefix(o.Key, s.prefix), Size: o.Size})
		}
		return ctx.Err() // the listing stops early, without an error, when ctx is done
	})
	if err != nil {
		return nil, s.fail("list", prefix, err)
	}
	return objs, nil
}

// ListDir implements Store with a listing by delimiter "/"; like List it pages, asking
// again after the last key received when a page fails for a transient reason.
func (s *s3Store) ListDir(ctx context.Context, prefix string) ([]string, []Object, error) {
	if err := checkDirPrefix(prefix, false); err != nil {
		return nil, nil, s.fail("list", prefix, err)
	}
	var dirs []string
	var objs []Object
	seen := map[string]bool{}
	last := "" // the greatest key received, where a page asked again starts after
	err := s.do(ctx, "list", prefix, func(int) error {
		opts := minio.ListObjectsOptions{Prefix: s.prefix + prefix, Recursive: false, MaxKeys: s.pageSize}
		if last != "" {
			opts.StartAfter = s.prefix + last
		}
		opts.FetchOwner = new(bool)
		// A page gives its objects before its directories, and a directory comes again
		// in the page asked again after it.
		for o := range s.client.ListObjectsIter(ctx, s.bucket, opts) {
			if o.Err != nil {
				return o.Err
			}
			key := strings.TrimPrefix(o.Key, s.prefix)
			if seen[key] {
				continue
			}
			seen[key] = true
			if strings.HasSuffix(key, "/") {
				dirs = append(dirs, key)
			} else {
				objs = append(objs, Object{Key: key, Size: o.Size})
			}
			last = max(last, key)
		}
		return ctx.Err() // the listing stops early, without an error, when ctx is done
	})
	if err != nil {
		return nil, nil, s.fail("list", prefix, err)
	}
	slices.Sort(dirs)
	slices.SortFunc(objs, func(a, b Object) int { return strings.Compare(a.Key, b.Key) })
	return dirs, objs, nil
}

// Delete implements Store with multi-object deletes; keys whose deletion failed for a
// transient reason are deleted again.
func (s *s3Store) Delete(ctx context.Context, keys ...string) error {
	if len(keys) == 0 {
		return nil
	}
	pending := make(map[string]bool, len(keys))
	for _, key := range keys {
		if err := checkKey(key, false); err != nil {
			return s.fail("delete", key, err)
		}
		pending[s.prefix+key] = true
	}
	failed := ""
	err := s.do(ctx, "delete", "", func(int) error {
		results, err := s.client.RemoveObjectsWithIter(ctx, s.bucket, s.objectsOf(pending), minio.RemoveObjectsOptions{})
		if err != nil {
			return err
		}
		var last error
		for r := range results {
			switch {
			case r.Err == nil:
				delete(pending, r.ObjectName)
			case last == nil:
				last, failed = r.Err, r.ObjectName
			}
		}
		switch {
		case len(pending) == 0:
			return nil
		case last != nil:
			return last
		case ctx.Err() != nil:
			return ctx.Err()
		}
		for k := range pending {
			failed = k
			break
		}
		return fmt.Errorf("the server's answer left %d keys undeleted without saying why", len(pending))
	})
	if err != nil {
		if len(pending) > 0 { // name the first key left, whatever order the server answered in
			failed = slices.Min(slices.Collect(maps.Keys(pending)))
		}
		key := strings.TrimPrefix(failed, s.prefix)
		if len(pending) > 1 {
			key += fmt.Sprintf(" (and %d more)", len(pending)-1)
		}
		return s.fail("delete", key, err)
	}
	return nil
}

// objectsOf yields the objects named by the keys of pending, in key order.
func (s *s3Store) objectsOf(pending map[string]bool) iter.Seq[minio.ObjectInfo] {
	keys := make([]string, 0, len(pending))
	for k := range pending {
		keys = append(keys, k)
	}
	return func(yield func(minio.ObjectInfo) bool) {
		for _, k := range keys {
			if !yield(minio.ObjectInfo{Key: k}) {
				return
			}
		}
	}
}

// transientS3 reports whether err may go away when the request is made again: the
// server could not be reached or the connection broke, a timeout, or an answer saying so
// (5xx, 408, 429, throttling, a conditional write in progress).
func transientS3(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var resp minio.ErrorResponse
	if errors.As(err, &resp) {
		switch resp.Code {
		case "SlowDown", "SlowDownWrite", "SlowDownRead", "RequestTimeout", "InternalError",
			"ServiceUnavailable", "Throttling", "ThrottlingException", "RequestLimitExceeded",
			"RequestThrottled", "ConditionalRequestConflict":
			return true
		}
		return resp.StatusCode >= 500 || resp.StatusCode == 408 || resp.StatusCode == 429 || resp.StatusCode == 499
	}
	var opErr *net.OpError
	var netErr net.Error
	return errors.As(err, &opErr) ||
		(errors.As(err, &netErr) && netErr.Timeout()) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EPIPE)
}
