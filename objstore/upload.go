package objstore

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"errors"
	"strings"

	"github.com/minio/minio-go/v7"
)

// Uploads is what a store offers when it takes an object in parts that appear, whole and
// at once, only when the upload completes: S3's multipart uploads. Until then readers and
// List see nothing of it; an upload that is never completed is aborted, and its parts go
// with it. A file sink pre-commits a file by uploading it and publishes it by completing
// the upload, so that a checkpoint holds what is uploaded and a commit only makes it
// visible.
type Uploads interface {
	// StartUpload begins an upload of key and returns its id.
	StartUpload(ctx context.Context, key string) (id string, err error)
	// UploadPart sends part n (from 1) of the upload. Every part but the last holds at
	// least MinPartSize bytes.
	UploadPart(ctx context.Context, key, id string, n int, data []byte) (Part, error)
	// CompleteUpload makes the object key, of the parts given in order, appear. An error
	// matching ErrNoUpload says the upload is not (or no longer) in progress: it was
	// completed or aborted before.
	CompleteUpload(ctx context.Context, key, id string, parts []Part) error
	// AbortUpload drops an upload and its parts; an upload not in progress is not an error.
	AbortUpload(ctx context.Context, key, id string) error
	// ListUploads returns the uploads in progress whose keys begin with prefix.
	ListUploads(ctx context.Context, prefix string) ([]Upload, error)
}

// MinPartSize is the least size of a part of an upload other than its last, as S3 has it.
const MinPartSize = 5 << 20

// Part is an uploaded part, as CompleteUpload needs it.
type Part struct {
	N    int    `json:"n"`
	ETag string `json:"etag"`
}

// Upload is an upload in progress.
type Upload struct {
	Key string
	ID  string
}

// ErrNoUpload is matched by the error of a CompleteUpload whose upload is not in progress.
var ErrNoUpload = errors.New("objstore: no such upload")

var _ Uploads = (*s3Store)(nil)

// StartUpload implements Uploads.
func (s *s3Store) StartUpload(ctx context.Context, key string) (string, error) {
	if err := checkKey(key, false); err != nil {
		return "", s.fail("start upload", key, err)
	}
	var id string
	err := s.do(ctx, "start upload", key, func(int) error {
		var err error
		id, err = s.core().NewMultipartUpload(ctx, s.bucket, s.prefix+key, putOptions())
		return err
	})
	if err != nil {
		return "", s.fail("start upload", key, err)
	}
	return id, nil
}

// UploadPart implements Uploads; the server checks the part's MD5.
func (s *s3Store) UploadPart(ctx context.Context, key, id string, n int, data []byte) (Part, error) {
	var part minio.ObjectPart
	err := s.do(ctx, "upload part", key, func(int) error {
		var err error
		part, err = s.core().PutObjectPart(ctx, s.bucket, s.prefix+key, id, n, bytes.NewReader(data), int64(len(data)),
			minio.PutObjectPartOptions{Md5Base64: md5Base64(data), DisableContentSha256: true})
		return err
	})
	if err != nil {
		return Part{}, s.fail("upload part", key, err)
	}
	return Part{N: part.PartNumber, ETag: part.ETag}, nil
}

// CompleteUpload implements Uploads.
func (s *s3Store) CompleteUpload(ctx context.Context, key, id string, parts []Part) error {
	done := make([]minio.CompletePart, len(parts))
	for i, p := range parts {
		done[i] = minio.CompletePart{PartNumber: p.N, ETag: p.ETag}
	}
	err := s.do(ctx, "complete upload", key, func(int) error {
		_, err := s.core().CompleteMultipartUpload(ctx, s.bucket, s.prefix+key, id, done, putOptions())
		if noSuchUpload(err) {
			return ErrNoUpload
		}
		return err
	})
	if err != nil {
		return s.fail("complete upload", key, err)
	}
	return nil
}

// AbortUpload implements Uploads.
func (s *s3Store) AbortUpload(ctx context.Context, key, id string) error {
	err := s.do(ctx, "abort upload", key, func(int) error {
		err := s.core().AbortMultipartUpload(ctx, s.bucket, s.prefix+key, id)
		if noSuchUpload(err) {
			return nil
		}
		return err
	})
	if err != nil {
		return s.fail("abort upload", key, err)
	}
	return nil
}

// ListUploads implements Uploads, paging through the server's listing.
func (s *s3Store) ListUploads(ctx context.Context, prefix string) ([]Upload, error) {
	if err := checkPrefix(prefix, false); err != nil {
		return nil, s.fail("list uploads", prefix, err)
	}
	var ups []Upload
	keyMarker, idMarker := "", ""
	for {
		var res minio.ListMultipartUploadsResult
		err := s.do(ctx, "list uploads", prefix, func(int) error {
			var err error
			res, err = s.core().ListMultipartUploads(ctx, s.bucket, s.prefix+prefix, keyMarker, idMarker, "", 1000)
			if noSuchUpload(err) {
				// Some servers answer so for a bucket that never had an upload.
				res, err = minio.ListMultipartUploadsResult{}, nil
			}
			return err
		})
		if err != nil {
			return nil, s.fail("list uploads", prefix, err)
		}
		for _, u := range res.Uploads {
			ups = append(ups, Upload{Key: strings.TrimPrefix(u.Key, s.prefix), ID: u.UploadID})
		}
		if !res.IsTruncated || (res.NextKeyMarker == keyMarker && res.NextUploadIDMarker == idMarker) {
			return ups, nil
		}
		keyMarker, idMarker = res.NextKeyMarker, res.NextUploadIDMarker
	}
}

// md5Base64 is the Content-MD5 of data.
func md5Base64(data []byte) string {
	sum := md5.Sum(data) //nolint:gosec // the server's integrity check, not security
	return base64.StdEncoding.EncodeToString(sum[:])
}

func (s *s3Store) core() minio.Core { return minio.Core{Client: s.client} }

// noSuchUpload tells whether err is the server's answer about an upload not in progress.
func noSuchUpload(err error) bool {
	var resp minio.ErrorResponse
	return errors.As(err, &resp) && resp.Code == minio.NoSuchUpload
}
