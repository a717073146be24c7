package sink

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"

	"millrace/format"
)

// staged is a file written under a hidden name and published later, by a rename that is
// not its own: Close makes it durable (encoded to the end, flushed, synced) and leaves it
// where it is. It is a format.FileWriter.
type staged struct {
	path string
	f    *os.File
	bw   *bufio.Writer
	enc  format.Writer
	err  error
}

// createStaged starts the file path, creating its directory, replacing a file left there,
// and encoding batches with the encoder newEnc returns over it.
func createStaged(path string, newEnc func(io.Writer) (format.Writer, error)) (*staged, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("create %q: %w", path, err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, fmt.Errorf("create %q: %w", path, err)
	}
	s := &staged{path: path, f: f, bw: bufio.NewWriterSize(f, 256<<10)}
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
	_ = s.f.Close() // it may be closed already; the file is removed either way
	_ = os.Remove(s.path)
}

// syncDirs makes the renames and removals in each directory durable.
func syncDirs(dirs map[string]bool) error {
	keys := make([]string, 0, len(dirs))
	for d := range dirs {
		keys = append(keys, d)
	}
	slices.Sort(keys)
	for _, d := range keys {
		if err := syncDir(d); err != nil {
			return err
		}
	}
	return nil
}

// syncDir makes the renames and removals in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync directory %q: %w", dir, err)
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil && !errors.Is(err, os.ErrInvalid) {
		return fmt.Errorf("sync directory %q: %w", dir, err)
	}
	return nil
}
