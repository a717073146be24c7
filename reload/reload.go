// Package reload keeps a file that a running pipeline reads, such as a rules file or a model,
// current without a restart, deterministically with respect to checkpoints.
//
// A File holds what its loader made of the file's bytes and the version of those bytes (the
// first 12 hex digits of their SHA-256). Poll looks at the file's identity (size,
// modification time, inode) and, when it changed, reads the file, and when its bytes changed,
// loads them: a file that fails to load keeps the version in use, and the error is logged
// and kept in the Status. A file that disappears keeps the version in use too.
//
// When Poll runs is the caller's policy, and the one the operators of this project follow
// makes reloads deterministic: a run without checkpoints polls before every batch, a run
// with checkpoints polls only when it takes one (Snapshot), so a change takes effect at a
// checkpoint barrier and every checkpoint interval is processed with one version. The
// snapshot names the version that the rows after the barrier are processed with; with keep
// it also holds the bytes, so that a run restored from it processes those rows with exactly
// that version even if the file changed meanwhile, and picks up the file's current version at
// its first checkpoint. Without keep (models, which may be large) Restore loads the file as
// it is now and logs a warning when its version is not the one the checkpoint names.
//
// Snapshot format (little-endian varints, as in package op's envelope):
//
//	+--------+---------+----------------+----------------+----------------+---------+
//	| "MRRL" | version | what           | file version   | content        | crc32c  |
//	| 4 B    | 1 B     | uvarint n, n B | uvarint n, n B | uvarint n, n B | 4 B, LE |
//	+--------+---------+----------------+----------------+----------------+---------+
//
// content is empty without keep.
package reload

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Version names the content data: the first 12 hex digits of its SHA-256.
func Version(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:6])
}

// Loader makes the value a File holds of the file's bytes, or says why it cannot.
type Loader[T any] func(data []byte) (T, error)

// Status is what the subtasks reading one file report about it, for logs, metrics and the
// dashboard; it is safe for concurrent use.
type Status struct {
	// Path is the file watched.
	Path string
	// What says what the file is, such as "rules" or "model".
	What string

	reloads, failures atomic.Int64
	mu                sync.Mutex
	version, lastErr  string
}

// Reloads counts the loads of a new version after the first, over all subtasks.
func (s *Status) Reloads() int64 { return s.reloads.Load() }

// Failures counts the versions that failed to load, over all subtasks.
func (s *Status) Failures() int64 { return s.failures.Load() }

// Version is the version loaded last.
func (s *Status) Version() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.version
}

// LastError is why the latest failed version failed, empty when none has failed since the
// last successful load.
func (s *Status) LastError() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastErr
}

func (s *Status) loaded(version string, reload bool) {
	if reload {
		s.reloads.Add(1)
	}
	s.mu.Lock()
	s.version, s.lastErr = version, ""
	s.mu.Unlock()
}

func (s *Status) failed(err error) {
	s.failures.Add(1)
	s.mu.Lock()
	s.lastErr = err.Error()
	s.mu.Unlock()
}

// identity is what tells that a file may have changed without reading it.
type identity struct {
	size  int64
	mtime time.Time
	inode uint64
}

func identify(fi fs.FileInfo) identity {
	id := identity{size: fi.Size(), mtime: fi.ModTime()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		id.inode = st.Ino
	}
	return id
}

// File is one subtask's view of a watched file. It is not safe for concurrent use: each
// subtask holds its own, and they share a Status.
type File[T any] struct {
	path    string
	load    Loader[T]
	keep    bool
	status  *Status
	log     *slog.Logger
	value   T
	version string
	content []byte // the bytes of version, with keep
	id      identity
	failed  string // the version that failed to load last, so it is reported once
}

// Open reads and loads the file at path. status (which must not be nil) is shared by every
// File of the same path; keep makes snapshots carry the bytes. An error here (a missing or
// invalid file) is for the caller to refuse to start.
func Open[T any](path string, status *Status, keep bool, load Loader[T]) (*File[T], error) {
	f := &File[T]{path: path, load: load, keep: keep, status: status, log: slog.New(slog.DiscardHandler)}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", status.What, path, err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", status.What, path, err)
	}
	v, err := load(data)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", status.What, path, err)
	}
	f.use(v, data, identify(fi))
	status.loaded(f.version, false)
	return f, nil
}

// Clone returns a File of its own for another subtask, at f's version and sharing its
// Status: subtasks start from the version the plan loaded, whatever the file holds by then,
// and each finds a change at its own next poll.
func (f *File[T]) Clone() *File[T] {
	c := *f
	return &c
}

// SetLogger makes f log reloads and failures to log.
func (f *File[T]) SetLogger(log *slog.Logger) {
	if log != nil {
		f.log = log
	}
}

func (f *File[T]) use(v T, data []byte, id identity) {
	f.value, f.version, f.id = v, Version(data), id
	if f.keep {
		f.content = data
	}
}

// Value is what the version in use was loaded into.
func (f *File[T]) Value() T { return f.value }

// Version is the version in use.
func (f *File[T]) Version() string { return f.version }

// Poll loads the file's current version if it changed and loads; it reports whether the
// version in use changed. A file that cannot be read or loaded keeps the version in use.
func (f *File[T]) Poll() bool {
	fi, err := os.Stat(f.path)
	if err != nil {
		f.fail(fmt.Sprintf("stat:%v", err), fmt.Errorf("%s %s: %w; still using version %s", f.status.What, f.path, err, f.version))
		return false
	}
	id := identify(fi)
	if id == f.id {
		return false
	}
	data, err := os.ReadFile(f.path)
	if err != nil {
		f.fail(fmt.Sprintf("read:%v", err), fmt.Errorf("%s %s: %w; still using version %s", f.status.What, f.path, err, f.version))
		return false
	}
	ver := Version(data)
	if ver == f.version {
		f.id = id
		return false
	}
	v, err := f.load(data)
	if err != nil {
		f.fail(ver, fmt.Errorf("%s %s version %s: %w; still using version %s", f.status.What, f.path, ver, err, f.version))
		return false
	}
	old := f.version
	f.use(v, data, id)
	f.failed = ""
	f.status.loaded(f.version, true)
	f.log.Info("reloaded "+f.status.What, "path", f.path, "version", f.version, "was", old)
	return true
}

// fail reports err once per distinct failure key.
func (f *File[T]) fail(key string, err error) {
	if key == f.failed {
		return
	}
	f.failed = key
	f.status.failed(err)
	f.log.Error("cannot reload "+f.status.What, "error", err.Error())
}

// stateMagic opens every snapshot of a File.
const stateMagic = "MRRL"

// stateVersion is the version of the snapshot format.
const stateVersion = 1

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Snapshot encodes the version in use (and its bytes, with keep).
func (f *File[T]) Snapshot() []byte {
	var b bytes.Buffer
	b.WriteString(stateMagic)
	b.WriteByte(stateVersion)
	for _, s := range [][]byte{[]byte(f.status.What), []byte(f.version), f.content} {
		b.Write(binary.AppendUvarint(nil, uint64(len(s))))
		b.Write(s)
	}
	return binary.LittleEndian.AppendUint32(b.Bytes(), crc32.Checksum(b.Bytes(), castagnoli))
}

// ErrState says a snapshot is not one of a File.
var ErrState = errors.New("reload: not a watched file's snapshot")

// decodeState returns the version and content a snapshot holds.
func decodeState(state []byte, what string) (version string, content []byte, err error) {
	if len(state) < len(stateMagic)+1+4 || string(state[:len(stateMagic)]) != stateMagic {
		return "", nil, fmt.Errorf("%w: %d bytes", ErrState, len(state))
	}
	n := len(state) - 4
	if crc32.Checksum(state[:n], castagnoli) != binary.LittleEndian.Uint32(state[n:]) {
		return "", nil, fmt.Errorf("%w: its checksum does not match its %d bytes", ErrState, len(state))
	}
	if v := state[len(stateMagic)]; v != stateVersion {
		return "", nil, fmt.Errorf("%w: format version %d, this build reads %d", ErrState, v, stateVersion)
	}
	body := state[len(stateMagic)+1 : n]
	var parts [3][]byte
	for i := range parts {
		l, k := binary.Uvarint(body)
		if k <= 0 || l > uint64(len(body)-k) {
			return "", nil, fmt.Errorf("%w: cut short", ErrState)
		}
		parts[i], body = body[k:k+int(l)], body[k+int(l):]
	}
	if string(parts[0]) != what {
		return "", nil, fmt.Errorf("%w: it is a snapshot of %s, not of %s", ErrState, parts[0], what)
	}
	return string(parts[1]), parts[2], nil
}

// Restore makes f process with the version state names: with keep, the bytes the state
// holds; without, the file's current version, with a warning when that is another one.
func (f *File[T]) Restore(state []byte) error {
	ver, content, err := decodeState(state, f.status.What)
	if err != nil {
		return err
	}
	if ver == f.version {
		return nil
	}
	if !f.keep || len(content) == 0 {
		f.log.Warn(f.status.What+" changed since the checkpoint; going on with the current version",
			"path", f.path, "checkpoint_version", ver, "version", f.version)
		return nil
	}
	v, err := f.load(content)
	if err != nil {
		return fmt.Errorf("%s %s version %s from the checkpoint: %w", f.status.What, f.path, ver, err)
	}
	f.value, f.version, f.content = v, ver, content
	f.id = identity{} // the file is read again at the next poll
	f.status.loaded(ver, true)
	f.log.Info("restored "+f.status.What+" version from the checkpoint", "path", f.path, "version", ver)
	return nil
}
