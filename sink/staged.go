package sink

import (
	"bufio"
	"fmt"
	"hash/crc32"
	"io"
	"maps"
	"path/filepath"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"

	"millrace/format"
	"millrace/vfs"
)

// staged is a file written under a hidden name and published later, by a rename that is
// not its own: Close makes it durable (encoded to the end, flushed, synced) and leaves it
// where it is, with its size and CRC-32C known for the checkpoint that pre-commits it. It
// is a format.FileWriter.
type staged struct {
	fs   vfs.FS
	path string
	f    vfs.File
	sum  summer
	bw   *bufio.Writer
	enc  format.Writer
	err  error
}

// createStaged starts the file path on fsys, creating its directory, replacing a file left
// there, and encoding batches with the encoder newEnc returns over it.
func createStaged(fsys vfs.FS, path string, newEnc func(io.Writer) (format.Writer, error)) (*staged, error) {
	if err := fsys.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("create %q: %w", path, err)
	}
	f, err := fsys.Create(path)
	if err != nil {
		return nil, fmt.Errorf("create %q: %w", path, err)
	}
	s := &staged{fs: fsys, path: path, f: f}
	s.sum.w = f
	s.bw = bufio.NewWriterSize(&s.sum, 256<<10)
	if s.enc, err = newEnc(s.bw); err != nil {
		s.Abort()
		return nil, fmt.Errorf("create %q: %w", path, err)
	}
	return s, nil
}

// Write encodes rec; after a failure it keeps returning the first error.
func (s *staged) Write(rec arrow.RecordBatch) error {
	if s.err == nil {
		if err := s.enc.Write(rec); err != nil {
			s.err = fmt.Errorf("write %q: %w", s.path, err)
		}
	}
	return s.err
}

// Close finishes the encoding and makes the file durable under its name. After a failure
// it removes the file and returns the error.
func (s *staged) Close() error {
	if s.err == nil {
		for _, step := range []func() error{s.enc.Close, s.bw.Flush, s.f.Sync, s.f.Close} {
			if err := step(); err != nil {
				s.err = fmt.Errorf("write %q: %w", s.path, err)
				break
			}
		}
	}
	if s.err != nil {
		s.Abort()
	}
	return s.err
}

// Abort removes the file.
func (s *staged) Abort() {
	_ = s.f.Close()         // it may be closed already; the file is removed either way
	_ = s.fs.Remove(s.path) // a file left behind is in no checkpoint: the next sweep takes it
}

// checksum returns the size and CRC-32C of what was written, complete once Close returned
// nil.
func (s *staged) checksum() *fileSum { return &fileSum{Size: s.sum.n, CRC32C: s.sum.crc} }

// summer passes writes to w and keeps the count and CRC-32C of the bytes w took.
type summer struct {
	w   io.Writer
	n   int64
	crc uint32
}

func (s *summer) Write(p []byte) (int, error) {
	n, err := s.w.Write(p)
	s.n += int64(n)
	s.crc = crc32.Update(s.crc, castagnoli, p[:n])
	return n, err
}

// syncDirs makes the renames and removals in each directory durable.
func (f *File) syncDirs(dirs map[string]bool) error {
	for _, d := range slices.Sorted(maps.Keys(dirs)) {
		if err := f.opts.FS.SyncDir(d); err != nil {
			return fmt.Errorf("sync directory %q: %w", d, err)
		}
	}
	return nil
}
