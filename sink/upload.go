package sink

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"

	"millrace/format"
	"millrace/lake"
	"millrace/objstore"
)

// Part files in an object store (FileOptions.Store, S3 say) are published by the store's
// uploads instead of renames, since an object store renames nothing:
//
//	SPOOL/D/.part-SSS-NNNNN.EXT.writing   being written, on local disk, as in a directory
//	D/part-SSS-NNNNN.EXT                  an upload in progress, started by the checkpoint
//	                                      that pre-commits the file: invisible to readers
//	D/part-SSS-NNNNN.EXT                  the object, once Commit completes the upload
//
// Snapshot uploads each file rolled since the last one, in parts, and removes it from
// the spool; the state's pending entry names the upload and its parts, so that Commit, or
// Restore after a crash, completes it. An upload that no checkpoint names (a crash
// during a snapshot, a failed part) is aborted by Restore's sweep, with its parts: nothing
// of it is ever visible. A run without checkpoints uploads a file and completes it when
// the file rolls or the input ends. The store checks every part's MD5 as it takes it and
// the parts' ETags when the upload completes, so the files are not read back as
// directory files are (Verify skips them).

// uploadPartSize is the size of the parts a file is uploaded in, but the last.
const uploadPartSize = 16 << 20

// pendingUpload is an upload started by a checkpoint's pre-commit and not yet completed.
type pendingUpload struct {
	ID    string          `json:"id"`
	Parts []objstore.Part `json:"parts"`
}

// uploads is the sink's store as the uploads it takes.
func (f *File) uploads() objstore.Uploads { return f.opts.Store.(objstore.Uploads) }

// upload sends the local file at local to the store as the object key, in parts, without
// completing the upload.
func (f *File) upload(local, key string) (*pendingUpload, error) {
	ctx := context.Background() // the store's retries bound every request
	id, err := f.uploads().StartUpload(ctx, key)
	if err != nil {
		return nil, err
	}
	up := &pendingUpload{ID: id}
	err = f.sendParts(ctx, local, key, up)
	if err != nil {
		if aerr := f.uploads().AbortUpload(ctx, key, id); aerr != nil {
			err = errors.Join(err, aerr) // Restore's sweep aborts it later
		}
		return nil, err
	}
	return up, nil
}

// sendParts reads the file at local and uploads it as the parts of up.
func (f *File) sendParts(ctx context.Context, local, key string, up *pendingUpload) error {
	r, err := f.opts.FS.Open(local)
	if err != nil {
		return err
	}
	defer func() { _ = r.Close() }() // read only
	buf := make([]byte, uploadPartSize)
	for n := 1; ; n++ {
		got, err := io.ReadFull(r, buf)
		if errors.Is(err, io.EOF) && n > 1 {
			return nil
		}
		if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
			return fmt.Errorf("read %s: %w", local, err)
		}
		part, perr := f.uploads().UploadPart(ctx, key, up.ID, n, buf[:got])
		if perr != nil {
			return perr
		}
		up.Parts = append(up.Parts, part)
		if err != nil { // the file ended within this part
			return nil
		}
	}
}

// preCommitUpload uploads the rolled file p for checkpoint id and removes it from the
// spool.
func (f *File) preCommitUpload(p *part, id uint64) (pendingFile, error) {
	final := relPath(p.dir, p.final)
	up, err := f.upload(p.path, final)
	if err != nil {
		return pendingFile{}, err
	}
	if err := f.opts.FS.Remove(p.path); err != nil {
		return pendingFile{}, err
	}
	return pendingFile{Checkpoint: id, Path: final, Final: final, Sum: p.staged.checksum(), Upload: up}, nil
}

// publishUpload completes the upload of p. An upload no longer in progress was completed
// before if the object is there, at the size the checkpoint recorded.
func (f *File) publishUpload(p pendingFile) error {
	ctx := context.Background()
	err := f.uploads().CompleteUpload(ctx, p.Final, p.Upload.ID, p.Upload.Parts)
	if errors.Is(err, objstore.ErrNoUpload) {
		objs, lerr := f.opts.Store.List(ctx, p.Final)
		if lerr != nil {
			return fmt.Errorf("sink %s: publish %s of checkpoint %s: %w", f.opts.Path, p.Final, checkpointLabel(p.Checkpoint), lerr)
		}
		if slices.ContainsFunc(objs, func(o objstore.Object) bool {
			return o.Key == p.Final && (p.Sum == nil || o.Size == p.Sum.Size)
		}) {
			return nil
		}
		return fmt.Errorf("sink %s: publish %s of checkpoint %s: its upload %s was aborted: the object is not there",
			f.opts.Path, p.Final, checkpointLabel(p.Checkpoint), p.Upload.ID)
	}
	if err != nil {
		return fmt.Errorf("sink %s: publish %s of checkpoint %s: %w", f.opts.Path, p.Final, checkpointLabel(p.Checkpoint), err)
	}
	return nil
}

// putWhole publishes the rolled file p of a run without checkpoints: it uploads it,
// completes the upload and removes it from the spool.
func (f *File) putWhole(p *part) error {
	final := relPath(p.dir, p.final)
	up, err := f.upload(p.path, final)
	if err == nil {
		err = f.uploads().CompleteUpload(context.Background(), final, up.ID, up.Parts)
	}
	if err == nil {
		err = f.opts.FS.Remove(p.path)
	}
	if err != nil {
		return fmt.Errorf("sink %s: publish %s: %w", f.opts.Path, final, err)
	}
	return nil
}

// abortUploads aborts the uploads in progress of the part files owned claims: those no
// checkpoint that Restore completed names.
func (f *File) abortUploads(owned func(name string) bool) error {
	ctx := context.Background()
	ups, err := f.uploads().ListUploads(ctx, "")
	if err != nil {
		return fmt.Errorf("sink %s: remove what an earlier run left: %w", f.opts.Path, err)
	}
	for _, u := range ups {
		if !owned("." + path.Base(u.Key)) {
			continue
		}
		if err := f.uploads().AbortUpload(ctx, u.Key, u.ID); err != nil {
			return fmt.Errorf("sink %s: remove what an earlier run left: %w", f.opts.Path, err)
		}
	}
	return nil
}

// checkStore checks that the store of opts takes uploads and that Spool is set.
func checkStore(opts FileOptions) error {
	if _, ok := opts.Store.(objstore.Uploads); !ok {
		return fmt.Errorf("sink %s: the store takes no uploads, which publish part files atomically", opts.Path)
	}
	if !opts.Dir {
		return fmt.Errorf("sink %s: an object store takes part files, not one file: give a prefix ending with a slash", opts.Path)
	}
	if opts.Spool == "" || !filepath.IsAbs(opts.Spool) {
		return fmt.Errorf("sink %s: the spool directory %q, where part files are written before they are uploaded, must be an absolute path", opts.Path, opts.Spool)
	}
	return nil
}

// storeMarker is the key of the marker of a sink's prefix in an object store (claim.go).
const storeMarker = ".millrace"

// checkStoreClaim is checkClaim for a prefix of an object store: a prefix holding objects
// or directories without the marker is refused unless Overwrite says to go on.
func checkStoreClaim(opts FileOptions) error {
	if opts.Overwrite {
		return nil
	}
	ctx := context.Background()
	dirs, objs, err := opts.Store.ListDir(ctx, "")
	if err != nil {
		return fmt.Errorf("sink %s: %w", opts.Path, err)
	}
	names := make([]string, 0, len(dirs)+len(objs))
	for _, o := range objs {
		if o.Key == storeMarker {
			return nil
		}
		names = append(names, o.Key)
	}
	for _, d := range dirs {
		names = append(names, strings.TrimSuffix(d, "/"))
	}
	return refuseForeign(opts.Path, names)
}

// publishedInStore is Published for part files in an object store: the rows of a Parquet
// object are read from its footer, those of a text object by reading it back.
func publishedInStore(opts FileOptions, kind format.Kind, s *arrow.Schema) ([]PublishedFile, error) {
	ctx := context.Background()
	objs, err := opts.Store.List(ctx, "")
	if err != nil {
		return nil, fmt.Errorf("sink %s: list published files: %w", opts.Path, err)
	}
	var out []PublishedFile
	for _, o := range objs {
		if hiddenKey(o.Key) || !partFile.MatchString(path.Base(o.Key)) {
			continue
		}
		rows, err := objectRows(ctx, opts.Store, o, kind, s)
		if err != nil {
			return nil, fmt.Errorf("sink %s: %w", opts.Path, err)
		}
		out = append(out, PublishedFile{Path: strings.TrimSuffix(opts.Path, "/") + "/" + o.Key, Rows: rows})
	}
	return out, nil
}

// hiddenKey tells whether a segment of key begins with a dot.
func hiddenKey(key string) bool {
	return strings.HasPrefix(key, ".") || strings.Contains(key, "/.")
}

// objectRows counts the rows of the published object o.
func objectRows(ctx context.Context, store objstore.Store, o objstore.Object, kind format.Kind, s *arrow.Schema) (int64, error) {
	if kind == format.Parquet {
		return lake.Rows(ctx, store, o.Key, o.Size)
	}
	data, err := store.Get(ctx, o.Key)
	if err != nil {
		return 0, err
	}
	var r format.Reader
	if kind == format.CSV {
		r, err = format.NewCSVReader(bytes.NewReader(data), o.Key, s, format.ReadOptions{})
	} else {
		r, err = format.NewJSONLReader(bytes.NewReader(data), o.Key, s, format.ReadOptions{})
	}
	if err != nil {
		return 0, err
	}
	return readRows(r, o.Key)
}
