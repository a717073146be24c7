// Package objstore keeps named objects in a local directory or in S3-compatible object
// storage, behind one small interface (Store). The cluster mode keeps key-group state in
// it, one object per stage, key group and checkpoint, so that whichever worker takes a
// key group over can restore it; a lake source reads Parquet files through it.
//
// Open takes where the objects live as a URL:
//
//	file:///abs/dir, file://dir, dir   a directory on the local filesystem (created if missing)
//	s3://bucket/prefix                 a bucket of an S3-compatible server, under an optional prefix
//
// Keys are slash-separated relative names ("state/velocity/017/000000000123"): no empty
// segment, no "." or ".." segment, no leading or trailing slash. On a directory a key is a
// file path below the directory, and a segment may not begin with a dot (such names are
// the files being written). A key that breaks the rules fails with ErrBadKey.
//
// Every store promises the same: Put replaces an object whole (a reader sees the old
// object or the new one, never a part); Create writes an object only if the key is free,
// so of two workers creating one key exactly one succeeds (ErrExists for the other); Get
// of a missing key fails with ErrNotFound; List is sorted, and ListDir lists one level of
// the key hierarchy, as a directory does; Delete of a missing key is not an error. A directory store makes every write durable (fsync of the file and its
// directory) before it returns. An S3 store retries what fails for a transient reason
// (the server unreachable, a timeout, a 5xx or throttling answer) with capped exponential
// backoff (Options.Retry), and reads its endpoint from Options or the environment and
// its credentials from the environment only (see Options), never printing them. Its
// Create is a conditional PUT (If-None-Match: *): the guarantee is as strong as the
// server's, which Amazon S3 and MinIO honour. An S3 store also takes multipart uploads
// (Uploads): an object sent in parts appears, whole and at once, only when its upload
// completes, which is how a file sink in S3 publishes a checkpoint's files at its commit.
//
// Every error names the store, the operation and the key:
//
//	objstore s3://bucket/prefix: put state/velocity/017/000000000123: after 6 attempts: HTTP 503: Please reduce your request rate.
package objstore
