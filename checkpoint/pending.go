package checkpoint

import (
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"millrace/vfs"
)

// Pending is a checkpoint being written, in directory chk-<id>.tmp of its store. Blobs are
// written with Write or Create, from any number of goroutines; Commit publishes the
// checkpoint, Abort drops it. Exactly one of them ends it; Abort after Commit does
// nothing, so `defer p.Abort()` is the way to drop a checkpoint on every early return.
type Pending struct {
	s   *Store
	id  uint64
	dir string // chk-<id>.tmp

	mu    sync.Mutex
	blobs map[string]Blob        // written, synced and closed
	open  map[string]*BlobWriter // created, not yet closed
	err   error                  // the first blob that failed; Commit returns it
	done  bool                   // Commit or Abort has run
}

// Begin starts checkpoint id in directory chk-<id>.tmp, replacing one of the same id left
// by a run that stopped while writing it, and removes the Finished marker. Ids count from
// 1; one checkpoint is in progress at a time, and a complete checkpoint is never
// overwritten (a damaged one of the same id is removed).
func (s *Store) Begin(id uint64) (*Pending, error) {
	if id == 0 {
		return nil, errors.New("checkpoint: begin checkpoint 0: ids count from 1")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pending != nil {
		return nil, fmt.Errorf("checkpoint %d: begin: checkpoint %d is in progress", id, s.pending.id)
	}
	final := filepath.Join(s.dir, dirName(id))
	switch _, err := s.fs.Stat(final); {
	case err == nil:
		_, err := s.load(id)
		if err == nil {
			return nil, fmt.Errorf("checkpoint %d: begin: a complete checkpoint %d exists", id, id)
		}
		if !errors.Is(err, ErrCorrupt) {
			return nil, fmt.Errorf("checkpoint %d: begin: %w", id, err)
		}
		if err := s.fs.RemoveAll(final); err != nil {
			return nil, fmt.Errorf("checkpoint %d: begin: remove the damaged checkpoint of the same id: %w", id, err)
		}
	case !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("checkpoint %d: begin: %w", id, err)
	}
	dir := filepath.Join(s.dir, tmpName(id))
	if err := s.fs.RemoveAll(dir); err != nil {
		return nil, fmt.Errorf("checkpoint %d: begin: remove what an earlier run left: %w", id, err)
	}
	if err := s.fs.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("checkpoint %d: begin: %w", id, err)
	}
	if err := s.clearFinished(); err != nil {
		err = fmt.Errorf("checkpoint %d: begin: remove the %s marker: %w", id, FinishedName, err)
		if rerr := s.fs.RemoveAll(dir); rerr != nil {
			err = fmt.Errorf("%w (removing %s failed too: %w)", err, tmpName(id), rerr)
		}
		return nil, err
	}
	p := &Pending{s: s, id: id, dir: dir, blobs: map[string]Blob{}, open: map[string]*BlobWriter{}}
	s.pending = p
	return p, nil
}

// ID returns the checkpoint's id.
func (p *Pending) ID() uint64 { return p.id }

// Write stores data as the blob called name, durably, recording its size and CRC-32C.
// A blob's name is 1 to 200 letters, digits, '.', '_' or '-', starting with neither '.'
// nor MANIFEST, and is written once per checkpoint.
func (p *Pending) Write(name string, data []byte) error {
	w, err := p.Create(name)
	if err != nil {
		return err
	}
	if _, err := w.Write(data); err != nil {
		_ = w.Close() // reports the same error, which p already holds
		return err
	}
	return w.Close()
}

// Create starts the blob called name for streaming: the caller writes it and closes it.
// The blob is part of the checkpoint once Close returns nil.
func (p *Pending) Create(name string) (*BlobWriter, error) {
	if err := checkBlobName(name); err != nil {
		return nil, fmt.Errorf("checkpoint %d: %w", p.id, err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done {
		return nil, fmt.Errorf("checkpoint %d: blob %q: the checkpoint is already committed or aborted", p.id, name)
	}
	if _, ok := p.blobs[name]; ok || p.open[name] != nil {
		return nil, fmt.Errorf("checkpoint %d: blob %q is written twice", p.id, name)
	}
	f, err := p.s.fs.Create(filepath.Join(p.dir, name))
	if err != nil {
		err = fmt.Errorf("checkpoint %d: create blob %q: %w", p.id, name, err)
		p.failLocked(err)
		return nil, err
	}
	w := &BlobWriter{p: p, name: name, f: f}
	p.open[name] = w
	return w, nil
}

func (p *Pending) failLocked(err error) {
	if p.err == nil {
		p.err = err
	}
}

// BlobWriter writes one blob of a pending checkpoint. Different blobs may be written
// concurrently.
type BlobWriter struct {
	p    *Pending
	name string

	mu     sync.Mutex // Abort may close a blob another goroutine writes
	f      vfs.File
	size   int64
	crc    uint32
	err    error
	closed bool
}

// Write appends b to the blob.
func (w *BlobWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return 0, w.err
	}
	if w.closed {
		return 0, fmt.Errorf("checkpoint %d: write blob %q: already closed", w.p.id, w.name)
	}
	n, err := w.f.Write(b)
	w.crc = crc32.Update(w.crc, castagnoli, b[:n])
	w.size += int64(n)
	if err != nil {
		w.err = fmt.Errorf("checkpoint %d: write blob %q: %w", w.p.id, w.name, err)
		w.p.mu.Lock()
		w.p.failLocked(w.err)
		w.p.mu.Unlock()
		return n, w.err
	}
	return n, nil
}

// Close syncs the blob to disk on the descriptor that wrote it, closes it and records its
// size and checksum in the checkpoint. An error of Write or of the sync is returned again
// and makes Commit fail.
func (w *BlobWriter) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return w.err
	}
	w.closed = true
	err := w.err
	if err == nil {
		if serr := w.f.Sync(); serr != nil {
			err = fmt.Errorf("checkpoint %d: sync blob %q: %w", w.p.id, w.name, serr)
		}
	}
	if cerr := w.f.Close(); cerr != nil && err == nil {
		err = fmt.Errorf("checkpoint %d: close blob %q: %w", w.p.id, w.name, cerr)
	}
	w.err = err
	p := w.p
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.open, w.name)
	if err != nil {
		p.failLocked(err)
		return err
	}
	p.blobs[w.name] = Blob{Name: w.name, Size: w.size, CRC32C: w.crc}
	return nil
}

// Commit publishes the checkpoint with manifest m, whose Version, ID and Blobs it fills
// (m.ID may be left 0), and returns the manifest as written. In order, it
//
//  1. writes MANIFEST.tmp in the checkpoint's directory, syncs and closes it,
//  2. renames it to MANIFEST,
//  3. syncs the checkpoint's directory, so its blobs' and manifest's names are durable,
//  4. renames chk-<id>.tmp to chk-<id>, and
//  5. syncs the store's directory, so the rename is durable.
//
// The checkpoint is complete once step 5 returns; then, and only then, may what it stands
// for be published (sinks commit). Blobs were synced as they were written. On an error,
// which names the step that failed, Commit removes what it wrote and the store is as it
// was: the previous checkpoint is untouched. Commit fails if a blob failed or is still
// open.
func (p *Pending) Commit(m Manifest) (Manifest, error) {
	p.mu.Lock()
	if p.done {
		p.mu.Unlock()
		return Manifest{}, fmt.Errorf("checkpoint %d: commit: already committed or aborted", p.id)
	}
	p.done = true
	failed, open := p.err, make([]string, 0, len(p.open))
	for name := range p.open {
		open = append(open, name)
	}
	blobs := make([]Blob, 0, len(p.blobs))
	for _, b := range p.blobs {
		blobs = append(blobs, b)
	}
	p.mu.Unlock()
	defer p.s.release(p)

	var err error
	switch {
	case failed != nil:
		err = fmt.Errorf("checkpoint %d: commit: a blob failed: %w", p.id, failed)
	case len(open) > 0:
		slices.Sort(open)
		err = fmt.Errorf("checkpoint %d: commit: blobs not closed: %s", p.id, strings.Join(open, ", "))
	case m.ID != 0 && m.ID != p.id:
		err = fmt.Errorf("checkpoint %d: commit: the manifest says id %d", p.id, m.ID)
	}
	if err != nil {
		return Manifest{}, p.undo(err, p.dir)
	}
	m.Version, m.ID = Version, p.id
	m.Taken = m.Taken.UTC().Round(0)
	slices.SortFunc(blobs, func(a, b Blob) int { return strings.Compare(a.Name, b.Name) })
	m.Blobs = blobs
	if err := m.validate(); err != nil {
		return Manifest{}, p.undo(fmt.Errorf("checkpoint %d: commit: %w", p.id, err), p.dir)
	}
	data, err := encodeManifest(&m)
	if err != nil {
		return Manifest{}, p.undo(fmt.Errorf("checkpoint %d: commit: encode the manifest: %w", p.id, err), p.dir)
	}
	// What Latest will return is what decoding the bytes gives, so return that.
	written, err := decodeManifest(data)
	if err != nil {
		return Manifest{}, p.undo(fmt.Errorf("checkpoint %d: commit: the manifest does not read back: %w", p.id, err), p.dir)
	}
	fsys, final := p.s.fs, filepath.Join(p.s.dir, dirName(p.id))
	// Steps 1 to 3: the manifest is published atomically in the checkpoint's directory, and
	// the directory synced with it.
	if err := vfs.WriteAtomic(fsys, filepath.Join(p.dir, ManifestName), filepath.Join(p.dir, manifestTmp), data); err != nil {
		return Manifest{}, p.undo(fmt.Errorf("checkpoint %d: commit: write the manifest: %w", p.id, err), p.dir)
	}
	if err := fsys.Rename(p.dir, final); err != nil {
		return Manifest{}, p.undo(fmt.Errorf("checkpoint %d: commit: publish the checkpoint: %w", p.id, err), p.dir)
	}
	if err := fsys.SyncDir(p.s.dir); err != nil {
		return Manifest{}, p.undo(fmt.Errorf("checkpoint %d: commit: sync the store's directory: %w", p.id, err), final)
	}
	return written, nil
}

// undo removes dir, what a failed Commit wrote, and returns err, saying so if the
// removal failed too. A checkpoint whose directory was renamed but whose rename could
// not be made durable is removed as well: it is not complete as far as the caller knows.
// (Should the removal fail and the process crash, it may be found complete later, which
// is safe: everything in it was synced before the rename.)
func (p *Pending) undo(err error, dir string) error {
	if rerr := p.s.fs.RemoveAll(dir); rerr != nil {
		return fmt.Errorf("%w (removing what it wrote failed too: %w)", err, rerr)
	}
	return err
}

// Abort drops the checkpoint: it closes any blob left open and removes the directory.
// After Commit (successful or not) it does nothing.
func (p *Pending) Abort() error {
	p.mu.Lock()
	if p.done {
		p.mu.Unlock()
		return nil
	}
	p.done = true
	open := make([]*BlobWriter, 0, len(p.open))
	for _, w := range p.open {
		open = append(open, w)
	}
	p.mu.Unlock()
	defer p.s.release(p)
	for _, w := range open {
		_ = w.Close() // the blob is removed with the directory; its error no longer matters
	}
	if err := p.s.fs.RemoveAll(p.dir); err != nil {
		return fmt.Errorf("checkpoint %d: abort: %w", p.id, err)
	}
	return nil
}

// release ends p as the store's checkpoint in progress.
func (s *Store) release(p *Pending) {
	s.mu.Lock()
	if s.pending == p {
		s.pending = nil
	}
	s.mu.Unlock()
}
