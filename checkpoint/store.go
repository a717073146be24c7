package checkpoint

import (
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"path/filepath"
	"slices"
	"sync"
)

// ErrNone is returned by Latest when the store holds no complete checkpoint.
var ErrNone = errors.New("checkpoint: no complete checkpoint")

// ErrCorrupt is matched (with errors.Is) by errors about a checkpoint whose files are not
// what its manifest says: a missing or unparsable manifest, a missing blob, a blob of the
// wrong size or checksum. Latest skips such checkpoints; Retain removes them.
var ErrCorrupt = errors.New("checkpoint: damaged checkpoint")

// castagnoli is the CRC-32C table; crc32 computes it with the CPU's instruction where
// there is one.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Store keeps the checkpoints of one pipeline in one directory of an FS, one
// subdirectory per checkpoint. A directory belongs to one Store of one process at a time.
// The methods of a Store are safe for concurrent use; one checkpoint is in progress at a
// time.
type Store struct {
	fs  FS
	dir string

	mu      sync.Mutex
	pending *Pending // the checkpoint in progress, nil when none
}

// Open returns the Store in dir, creating the directory (durably: the parents of every
// directory it creates are synced) if it does not exist.
func Open(fsys FS, dir string) (*Store, error) {
	dir = filepath.Clean(dir)
	if err := mkdirDurable(fsys, dir); err != nil {
		return nil, fmt.Errorf("checkpoint: open store %s: %w", dir, err)
	}
	return &Store{fs: fsys, dir: dir}, nil
}

// mkdirDurable creates dir and its missing parents and syncs the directory holding each
// one it created, so that the directory survives a crash.
func mkdirDurable(fsys FS, dir string) error {
	var created []string
	for d := dir; ; {
		_, err := fsys.Stat(d)
		if err == nil {
			break
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		created = append(created, d)
		parent := filepath.Dir(d)
		if parent == d {
			break
		}
		d = parent
	}
	if len(created) == 0 {
		return nil
	}
	if err := fsys.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, d := range created {
		if err := fsys.SyncDir(filepath.Dir(d)); err != nil {
			return err
		}
	}
	return nil
}

// Dir returns the store's directory.
func (s *Store) Dir() string { return s.dir }

// Info describes one checkpoint directory of a store, as List finds it.
type Info struct {
	ID uint64
	// InProgress is set for a checkpoint still being written, or left behind by a run
	// that stopped while writing it: it is never loaded.
	InProgress bool
	// Manifest is the checkpoint's manifest when it is complete.
	Manifest Manifest
	// Err says why a checkpoint not in progress cannot be loaded (an error matching
	// ErrCorrupt when it is damaged); nil when it is complete.
	Err error
}

// List describes every checkpoint directory in the store, newest first, checking each
// one not in progress as Latest does.
func (s *Store) List() ([]Info, error) {
	infos, err := s.dirs()
	if err != nil {
		return nil, err
	}
	for i, in := range infos {
		if !in.InProgress {
			infos[i].Manifest, infos[i].Err = s.load(in.ID)
		}
	}
	slices.SortFunc(infos, func(a, b Info) int {
		if a.ID != b.ID {
			if a.ID > b.ID {
				return -1
			}
			return 1
		}
		if a.InProgress == b.InProgress {
			return 0
		}
		if b.InProgress {
			return -1
		}
		return 1
	})
	return infos, nil
}

// dirs returns the checkpoint directories of the store, complete or in progress, with
// only ID and InProgress set, in no particular order.
func (s *Store) dirs() ([]Info, error) {
	entries, err := s.fs.ReadDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: list %s: %w", s.dir, err)
	}
	var infos []Info
	for _, e := range entries {
		if id, tmp, ok := parseDirName(e.Name()); ok {
			infos = append(infos, Info{ID: id, InProgress: tmp})
		}
	}
	return infos, nil
}

// Latest returns the manifest of the newest complete checkpoint: one whose directory was
// published, whose manifest parses, and whose blobs exist with the sizes it records
// (their checksums are verified by Read). Checkpoints in progress and damaged ones are
// skipped; when none is left the error is ErrNone, saying what was skipped. An error
// reading a checkpoint other than damage (a permission, an I/O error) and a manifest of
// another format version are returned rather than skipped: resuming from an older
// checkpoint than the newest is safe only when the newest is known to be bad. A resume
// uses LatestIntact, which verifies the checksums too.
func (s *Store) Latest() (Manifest, error) {
	ids, err := s.completeIDs()
	if err != nil {
		return Manifest{}, err
	}
	var skipped []error
	for _, id := range slices.Backward(ids) {
		m, err := s.load(id)
		if err == nil {
			return m, nil
		}
		if !errors.Is(err, ErrCorrupt) {
			return Manifest{}, err
		}
		skipped = append(skipped, err)
	}
	if len(skipped) > 0 {
		return Manifest{}, fmt.Errorf("%w (skipped %d damaged: %w)", ErrNone, len(skipped), errors.Join(skipped...))
	}
	return Manifest{}, ErrNone
}

// completeIDs returns the ids of the checkpoint directories not in progress, in increasing
// order, damaged or not.
func (s *Store) completeIDs() ([]uint64, error) {
	infos, err := s.dirs()
	if err != nil {
		return nil, err
	}
	var ids []uint64
	for _, in := range infos {
		if !in.InProgress {
			ids = append(ids, in.ID)
		}
	}
	slices.Sort(ids)
	return ids, nil
}

// load reads and verifies checkpoint id's manifest and the sizes of its blobs.
func (s *Store) load(id uint64) (Manifest, error) {
	dir := filepath.Join(s.dir, dirName(id))
	b, err := s.readFile(filepath.Join(dir, ManifestName))
	if errors.Is(err, fs.ErrNotExist) {
		return Manifest{}, damaged(id, err, "no %s", ManifestName)
	}
	if err != nil {
		return Manifest{}, fmt.Errorf("checkpoint %d: read %s: %w", id, ManifestName, err)
	}
	m, err := decodeManifest(b)
	if err != nil {
		var ve *versionError
		if errors.As(err, &ve) {
			return Manifest{}, fmt.Errorf("checkpoint %d: %w", id, err)
		}
		return Manifest{}, damaged(id, err, "%v", err)
	}
	if m.ID != id {
		return Manifest{}, damaged(id, nil, "manifest says id %d", m.ID)
	}
	for _, bl := range m.Blobs {
		fi, err := s.fs.Stat(filepath.Join(dir, bl.Name))
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return Manifest{}, damaged(id, err, "blob %q is missing", bl.Name)
		case err != nil:
			return Manifest{}, fmt.Errorf("checkpoint %d: blob %q: %w", id, bl.Name, err)
		case !fi.Mode().IsRegular():
			return Manifest{}, damaged(id, nil, "blob %q is not a file", bl.Name)
		case fi.Size() != bl.Size:
			return Manifest{}, damaged(id, nil, "blob %q holds %d bytes, the manifest says %d", bl.Name, fi.Size(), bl.Size)
		}
	}
	return m, nil
}

func (s *Store) readFile(name string) ([]byte, error) {
	f, err := s.fs.Open(name)
	if err != nil {
		return nil, err
	}
	b, err := io.ReadAll(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return b, err
}

// Read returns the blob called name of checkpoint m, verified against the size and
// CRC-32C the manifest records. Errors name the checkpoint and the blob; a blob that does
// not match gives an error matching ErrCorrupt.
func (s *Store) Read(m Manifest, name string) ([]byte, error) {
	bl, ok := m.Blob(name)
	if !ok {
		return nil, fmt.Errorf("checkpoint %d: no blob %q in the manifest", m.ID, name)
	}
	f, err := s.fs.Open(filepath.Join(s.dir, dirName(m.ID), name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, damaged(m.ID, err, "blob %q is missing", name)
	}
	if err != nil {
		return nil, fmt.Errorf("checkpoint %d: read blob %q: %w", m.ID, name, err)
	}
	buf, err := readBlob(f, m.ID, name, bl.Size)
	if cerr := f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("checkpoint %d: read blob %q: %w", m.ID, name, cerr)
	}
	if err != nil {
		return nil, err
	}
	if sum := crc32.Checksum(buf, castagnoli); sum != bl.CRC32C {
		return nil, damaged(m.ID, nil, "blob %q has CRC-32C %08x, the manifest says %08x", name, sum, bl.CRC32C)
	}
	return buf, nil
}

// readBlob reads a blob that should hold exactly size bytes.
func readBlob(f io.Reader, id uint64, name string, size int64) ([]byte, error) {
	buf := make([]byte, size)
	n, err := io.ReadFull(f, buf)
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return nil, damaged(id, nil, "blob %q holds %d bytes, the manifest says %d", name, n, size)
	}
	if err != nil {
		return nil, fmt.Errorf("checkpoint %d: read blob %q: %w", id, name, err)
	}
	var one [1]byte
	switch k, err := f.Read(one[:]); {
	case k > 0:
		return nil, damaged(id, nil, "blob %q holds more than the %d bytes the manifest says", name, size)
	case err != nil && err != io.EOF:
		return nil, fmt.Errorf("checkpoint %d: read blob %q: %w", id, name, err)
	}
	return buf, nil
}

// Verify reads every blob of checkpoint m and checks it against the size and CRC-32C
// the manifest records, as Read does, without keeping the bytes. Latest checks only that
// the blobs exist with their sizes; Verify is the full check, at the cost of reading the
// whole checkpoint.
func (s *Store) Verify(m Manifest) error {
	for _, bl := range m.Blobs {
		f, err := s.fs.Open(filepath.Join(s.dir, dirName(m.ID), bl.Name))
		if errors.Is(err, fs.ErrNotExist) {
			return damaged(m.ID, err, "blob %q is missing", bl.Name)
		}
		if err != nil {
			return fmt.Errorf("checkpoint %d: read blob %q: %w", m.ID, bl.Name, err)
		}
		h := crc32.New(castagnoli)
		n, err := io.Copy(h, f)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		switch {
		case err != nil:
			return fmt.Errorf("checkpoint %d: read blob %q: %w", m.ID, bl.Name, err)
		case n != bl.Size:
			return damaged(m.ID, nil, "blob %q holds %d bytes, the manifest says %d", bl.Name, n, bl.Size)
		case h.Sum32() != bl.CRC32C:
			return damaged(m.ID, nil, "blob %q has CRC-32C %08x, the manifest says %08x", bl.Name, h.Sum32(), bl.CRC32C)
		}
	}
	return nil
}

// minRetained is how many complete checkpoints Retain keeps at least: the newest, and the
// one before it to fall back to should the newest turn out damaged when it is read.
const minRetained = 2

// Retain keeps the newest n complete checkpoints, and never fewer than two, and removes
// the rest: older complete ones, damaged ones, and directories left in progress by a run
// that stopped, but never the checkpoint in progress now. The second newest stays even
// when n is 1: a blob of the newest whose bytes rot after it was written is found only
// when it is read back (LatestIntact), and recovery then falls back to the one before.
// Retain checks what Latest checks, not the checksums: it does not read the blobs. A
// checkpoint that could not be read for a reason other than damage is left alone. n must
// be at least 1.
func (s *Store) Retain(n int) error {
	if n < 1 {
		return fmt.Errorf("checkpoint: retain %d: want at least 1", n)
	}
	n = max(n, minRetained)
	s.mu.Lock()
	defer s.mu.Unlock()
	infos, err := s.List()
	if err != nil {
		return err
	}
	var errs []error
	kept := 0
	for _, in := range infos {
		name := dirName(in.ID)
		switch {
		case in.InProgress:
			if s.pending != nil && s.pending.id == in.ID {
				continue
			}
			name = tmpName(in.ID)
		case in.Err == nil:
			if kept < n {
				kept++
				continue
			}
		case !errors.Is(in.Err, ErrCorrupt):
			continue
		}
		if err := s.fs.RemoveAll(filepath.Join(s.dir, name)); err != nil {
			errs = append(errs, fmt.Errorf("checkpoint %d: remove: %w", in.ID, err))
		}
	}
	return errors.Join(errs...)
}

// Clear removes every checkpoint and the Finished marker, for a run that starts over.
// It first marks the store finished, so that a Clear interrupted by a crash leaves a store
// that is not resumed (and is cleared again) rather than one with some checkpoints gone.
// Files that are not the store's own are left alone.
func (s *Store) Clear() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pending != nil {
		return fmt.Errorf("checkpoint: clear %s: checkpoint %d is in progress", s.dir, s.pending.id)
	}
	if err := s.markFinished(); err != nil {
		return fmt.Errorf("checkpoint: clear %s: %w", s.dir, err)
	}
	infos, err := s.dirs()
	if err != nil {
		return fmt.Errorf("checkpoint: clear %s: %w", s.dir, err)
	}
	for _, in := range infos {
		name := dirName(in.ID)
		if in.InProgress {
			name = tmpName(in.ID)
		}
		if err := s.fs.RemoveAll(filepath.Join(s.dir, name)); err != nil {
			return fmt.Errorf("checkpoint: clear %s: %w", s.dir, err)
		}
	}
	if err := s.fs.SyncDir(s.dir); err != nil {
		return fmt.Errorf("checkpoint: clear %s: %w", s.dir, err)
	}
	if err := s.clearFinished(); err != nil {
		return fmt.Errorf("checkpoint: clear %s: %w", s.dir, err)
	}
	return nil
}

// MarkFinished records, durably, that the run which wrote the store finished: its
// output is complete and a new run starts fresh (and calls Clear) instead of resuming.
// The next Begin removes the mark. It fails while a checkpoint is in progress.
func (s *Store) MarkFinished() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pending != nil {
		return fmt.Errorf("checkpoint: mark %s finished: checkpoint %d is in progress", s.dir, s.pending.id)
	}
	if err := s.markFinished(); err != nil {
		return fmt.Errorf("checkpoint: mark %s finished: %w", s.dir, err)
	}
	return nil
}

func (s *Store) markFinished() error {
	name := filepath.Join(s.dir, FinishedName)
	f, err := s.fs.Create(name)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return s.fs.SyncDir(s.dir)
}

// clearFinished removes the Finished marker, durably, if there is one.
func (s *Store) clearFinished() error {
	err := s.fs.Remove(filepath.Join(s.dir, FinishedName))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	return s.fs.SyncDir(s.dir)
}

// Finished reports whether the store is marked finished: the run that wrote it completed,
// so there is nothing to resume.
func (s *Store) Finished() (bool, error) {
	_, err := s.fs.Stat(filepath.Join(s.dir, FinishedName))
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	}
	return false, fmt.Errorf("checkpoint: %s: %w", s.dir, err)
}

// damage is an error about a damaged checkpoint; it matches ErrCorrupt.
type damage struct {
	id     uint64
	detail string // what is damaged, without the checkpoint
	err    error
}

func damaged(id uint64, err error, format string, args ...any) error {
	return &damage{id: id, detail: fmt.Sprintf(format, args...), err: err}
}

func (d *damage) Error() string        { return fmt.Sprintf("checkpoint %d: %s", d.id, d.detail) }
func (d *damage) Unwrap() error        { return d.err }
func (d *damage) Is(target error) bool { return target == ErrCorrupt }
