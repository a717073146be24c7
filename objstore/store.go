package objstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Store keeps named objects. Its methods are safe for concurrent use; each blocks at most
// as long as its ctx allows.
type Store interface {
	// Put writes data under key, replacing what was there, atomically: a reader sees the
	// whole old object or the whole new one.
	Put(ctx context.Context, key string, data []byte) error
	// Create writes data under key only if no object has that key, and fails with an
	// error matching ErrExists (errors.Is) otherwise: of two writers creating one key,
	// exactly one succeeds.
	Create(ctx context.Context, key string, data []byte) error
	// Get reads a whole object; an error matching ErrNotFound when it does not exist.
	Get(ctx context.Context, key string) ([]byte, error)
	// GetRange reads n > 0 bytes of an object from offset off, fewer when the object ends
	// sooner (none when off is at or past its end); an error matching ErrNotFound when
	// the object does not exist.
	GetRange(ctx context.Context, key string, off, n int64) ([]byte, error)
	// List returns the objects whose keys begin with prefix (a plain string prefix, not
	// only whole segments; "" lists everything), sorted by key.
	List(ctx context.Context, prefix string) ([]Object, error)
	// ListDir returns what lies one level below prefix ("" or ending with a slash), as a
	// directory listing does: the prefixes of the keys with a further slash after prefix,
	// each once and ending with that slash ("year=2026/" below ""), and the objects whose
	// keys have none, each list sorted. A lake lists its partition directories so, and
	// leaves those it does not need unlisted.
	ListDir(ctx context.Context, prefix string) (dirs []string, objs []Object, err error)
	// Delete removes the objects with the given keys; a key with no object is not an
	// error.
	Delete(ctx context.Context, keys ...string) error
	// String says where the store is (file:///abs/dir, s3://bucket/prefix), never with
	// credentials.
	String() string
	// Close releases what the store holds (an S3 store's idle connections); the store is
	// not used after it.
	Close() error
}

// Object is an object as List finds it.
type Object struct {
	// Key is the object's name in its store.
	Key string
	// Size is its length in bytes.
	Size int64
}

var (
	// ErrNotFound is matched by the error of a read of a key with no object.
	ErrNotFound = errors.New("objstore: no such object")
	// ErrExists is matched by the error of a Create of a key that has an object.
	ErrExists = errors.New("objstore: object exists")
	// ErrBadKey is matched by the error of an operation given a key (or a List prefix)
	// that breaks the rules of keys.
	ErrBadKey = errors.New("objstore: bad key")
)

// Open opens the store at url: file:///abs/dir, file://dir or a plain path for a directory
// (created if missing), s3://bucket/prefix for a bucket of an S3-compatible server, which
// Open reaches (under ctx) to check that the bucket exists. opts matter only to S3.
func Open(ctx context.Context, url string, opts Options) (Store, error) {
	switch {
	case strings.HasPrefix(url, "s3://"):
		return openS3(ctx, url, opts)
	case strings.HasPrefix(url, "file://"):
		return openDir(strings.TrimPrefix(url, "file://"))
	case strings.Contains(url, "://"):
		return nil, fmt.Errorf("objstore: open %q: unknown scheme (want file://DIR, s3://BUCKET/PREFIX or a directory)", url)
	case url == "":
		return nil, errors.New("objstore: open: no location given (want file://DIR, s3://BUCKET/PREFIX or a directory)")
	default:
		return openDir(url)
	}
}

// opError is a failed operation of a store: "objstore <store>: <op> <key>: <cause>".
type opError struct {
	store, op, key string
	err            error
}

func (e *opError) Error() string {
	// A sentinel of this package reads without its "objstore: " after the store's name.
	return "objstore " + e.store + ": " + e.op + " " + e.key + ": " + strings.TrimPrefix(e.err.Error(), "objstore: ")
}

func (e *opError) Unwrap() error { return e.err }

// checkKey reports how key breaks the rules of keys, as an error matching ErrBadKey.
// noDot also refuses segments that begin with a dot.
func checkKey(key string, noDot bool) error {
	if key == "" {
		return fmt.Errorf("%w: empty", ErrBadKey)
	}
	if strings.HasSuffix(key, "/") {
		return fmt.Errorf("%w: %q ends with a slash", ErrBadKey, key)
	}
	return checkPrefix(key, noDot)
}

// checkDirPrefix reports how a ListDir prefix breaks the rules: it is a List prefix that
// is empty or ends with a slash.
func checkDirPrefix(prefix string, noDot bool) error {
	if prefix != "" && !strings.HasSuffix(prefix, "/") {
		return fmt.Errorf("%w: %q does not end with a slash (a directory lists what is below a whole segment)", ErrBadKey, prefix)
	}
	return checkPrefix(prefix, noDot)
}

// checkPrefix is checkKey for a List prefix, which may be empty or end with a slash.
func checkPrefix(prefix string, noDot bool) error {
	if !utf8.ValidString(prefix) || strings.ContainsRune(prefix, 0) {
		return fmt.Errorf("%w: %q is not UTF-8 text without NUL bytes", ErrBadKey, prefix)
	}
	if strings.HasPrefix(prefix, "/") {
		return fmt.Errorf("%w: %q begins with a slash (keys are relative)", ErrBadKey, prefix)
	}
	segs := strings.Split(prefix, "/")
	for i, seg := range segs {
		last := i == len(segs)-1
		switch {
		case seg == "" && !last:
			return fmt.Errorf("%w: %q has an empty segment", ErrBadKey, prefix)
		case seg == "." || seg == "..":
			return fmt.Errorf("%w: %q has a %q segment", ErrBadKey, prefix, seg)
		case noDot && strings.HasPrefix(seg, "."):
			return fmt.Errorf("%w: %q has a segment beginning with a dot (such names are files being written)", ErrBadKey, prefix)
		}
	}
	return nil
}
