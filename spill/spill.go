// Package spill keeps operator state that does not fit in memory in a local pebble database,
// one per operator subtask. It is a cache, never the truth: checkpoints hold the state, so
// nothing is synced to disk and the database is deleted on Close.
//
// Entries are chunks of an operator's state rows (their encoding is the operator's), keyed
// so that a window's chunks of one key group are contiguous and come in the order they were
// written:
//
//	+----------------------+-----------+-------------+
//	| window end           | key group | sequence    |
//	| 8 B, big-endian,     | 2 B,      | 8 B,        |
//	| sign bit flipped     | big-end.  | big-endian  |
//	+----------------------+-----------+-------------+
//
// Flipping the sign bit makes negative ends (before 1970) sort before positive ones.
package spill

import (
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/cockroachdb/pebble/v2"
)

// keyLen is the length of every key.
const keyLen = 8 + 2 + 8

// The memory a store takes for itself: its block cache, and each of its (at most two)
// memtables.
const (
	cacheSize    = 1 << 20
	memTableSize = 2 << 20
)

// MaxKeyGroup is the largest key group a key holds.
const MaxKeyGroup = 1<<16 - 1

// Store is one operator subtask's spilled state. It is not safe for concurrent use; an
// operator's methods run on one goroutine.
type Store struct {
	db  *pebble.DB
	dir string
	seq uint64
	// bytes is the size of the values written and not yet deleted.
	bytes int64
	// sizes holds the bytes written per window end, so that deleting a window knows what
	// it frees without reading it back.
	sizes map[int64]int64
}

// Open creates a fresh store in a new directory under parent (the OS temp directory when
// parent is empty), named after prefix. Close removes the directory.
func Open(parent, prefix string, log *slog.Logger) (*Store, error) {
	if parent != "" {
		if err := os.MkdirAll(parent, 0o755); err != nil {
			return nil, fmt.Errorf("spill: create %s: %w", parent, err)
		}
	}
	dir, err := os.MkdirTemp(parent, prefix+"-*")
	if err != nil {
		return nil, fmt.Errorf("spill: create a directory under %q: %w", parent, err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	opts := &pebble.Options{
		DisableWAL: true, // a cache of state the checkpoints hold: nothing to recover
		Logger:     logger{log: log.With("spill", dir)},
		// Chunks are written once and read once, in key order: a small block cache and
		// memtable keep the store's own memory, outside the state it holds, to a few MiB.
		CacheSize:    cacheSize,
		MemTableSize: memTableSize,
	}
	db, err := pebble.Open(dir, opts)
	if err != nil {
		return nil, fmt.Errorf("spill: open %s: %w", dir, errors.Join(err, os.RemoveAll(dir)))
	}
	return &Store{db: db, dir: dir, sizes: map[int64]int64{}}, nil
}

// Dir is the directory that holds the store.
func (s *Store) Dir() string { return s.dir }

// Bytes is the size of the chunks the store holds, as written (before pebble compresses
// them).
func (s *Store) Bytes() int64 { return s.bytes }

// Has reports whether the store holds chunks of the window ending at end.
func (s *Store) Has(end int64) bool { _, ok := s.sizes[end]; return ok }

// Ends returns the window ends the store holds chunks of, in no order.
func (s *Store) Ends() []int64 {
	out := make([]int64, 0, len(s.sizes))
	for e := range s.sizes {
		out = append(out, e)
	}
	return out
}

// Chunk is one value to write: a chunk of state rows of the window ending at End, all of
// key group KeyGroup.
type Chunk struct {
	End      int64
	KeyGroup int
	Value    []byte
}

// Write stores chunks in one batch, without syncing.
func (s *Store) Write(chunks []Chunk) error {
	b := s.db.NewBatch()
	err := s.fill(b, chunks)
	if err == nil {
		err = b.Commit(pebble.NoSync)
	}
	if err = errors.Join(err, b.Close()); err != nil {
		return fmt.Errorf("spill: write %d chunks to %s: %w", len(chunks), s.dir, err)
	}
	for _, c := range chunks {
		s.sizes[c.End] += int64(len(c.Value))
		s.bytes += int64(len(c.Value))
	}
	return nil
}

// fill adds chunks to b.
func (s *Store) fill(b *pebble.Batch, chunks []Chunk) error {
	var key [keyLen]byte
	for _, c := range chunks {
		if c.KeyGroup < 0 || c.KeyGroup > MaxKeyGroup {
			return fmt.Errorf("window ending %d: key group %d is out of range 0 to %d", c.End, c.KeyGroup, MaxKeyGroup)
		}
		s.seq++
		putKey(key[:], c.End, c.KeyGroup, s.seq)
		if err := b.Set(key[:], c.Value, nil); err != nil {
			return fmt.Errorf("window ending %d, key group %d: %w", c.End, c.KeyGroup, err)
		}
	}
	return nil
}

// Scan calls fn with the chunks of the window ending at end, by key group and then in the
// order they were written. value is valid only during the call.
func (s *Store) Scan(end int64, fn func(keyGroup int, value []byte) error) error {
	if !s.Has(end) {
		return nil
	}
	var lo, hi [keyLen]byte
	putKey(lo[:], end, 0, 0)
	putKey(hi[:], end, MaxKeyGroup, ^uint64(0))
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: lo[:], UpperBound: hi[:]})
	if err != nil {
		return fmt.Errorf("spill: read window ending %d: %w", end, err)
	}
	for ok := it.First(); ok; ok = it.Next() {
		_, kg := parseKey(it.Key())
		v, err := it.ValueAndErr()
		if err == nil {
			err = fn(kg, v)
		}
		if err != nil {
			return errors.Join(err, it.Close())
		}
	}
	if err := errors.Join(it.Error(), it.Close()); err != nil {
		return fmt.Errorf("spill: read window ending %d: %w", end, err)
	}
	return nil
}

// Delete drops the chunks of the window ending at end.
func (s *Store) Delete(end int64) error {
	if !s.Has(end) {
		return nil
	}
	var lo, hi [keyLen]byte
	putKey(lo[:], end, 0, 0)
	putKey(hi[:], end, MaxKeyGroup, ^uint64(0))
	// The upper bound is exclusive; no key reaches the largest sequence.
	if err := s.db.DeleteRange(lo[:], hi[:], pebble.NoSync); err != nil {
		return fmt.Errorf("spill: delete window ending %d: %w", end, err)
	}
	s.bytes -= s.sizes[end]
	delete(s.sizes, end)
	return nil
}

// Close closes the database and removes its directory.
func (s *Store) Close() error {
	err := s.db.Close()
	if rerr := os.RemoveAll(s.dir); rerr != nil {
		err = errors.Join(err, rerr)
	}
	if err != nil {
		return fmt.Errorf("spill: close %s: %w", s.dir, err)
	}
	return nil
}

// putKey writes the key of a chunk into k.
func putKey(k []byte, end int64, keyGroup int, seq uint64) {
	binary.BigEndian.PutUint64(k, uint64(end)^(1<<63))
	binary.BigEndian.PutUint16(k[8:], uint16(keyGroup))
	binary.BigEndian.PutUint64(k[10:], seq)
}

// parseKey reads the window end and key group of a chunk's key.
func parseKey(k []byte) (end int64, keyGroup int) {
	return int64(binary.BigEndian.Uint64(k) ^ (1 << 63)), int(binary.BigEndian.Uint16(k[8:]))
}

// logger passes pebble's messages on to a slog.Logger: information at debug level.
type logger struct{ log *slog.Logger }

func (l logger) Infof(format string, args ...any) { l.log.Debug(fmt.Sprintf(format, args...)) }

func (l logger) Errorf(format string, args ...any) { l.log.Error(fmt.Sprintf(format, args...)) }

// Fatalf reports an invariant pebble found broken; pebble expects it not to return.
func (l logger) Fatalf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	l.log.Error(msg)
	panic("spill: pebble: " + msg)
}
