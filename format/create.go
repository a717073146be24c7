package format

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// Create returns a writer of a new file at path, in kind or as its name says when kind is
// empty, compressed with gzip or zstd when the name ends in .gz or .zst. The file is written
// under a hidden temporary name beside path and renamed to path by a successful Close, after
// an fsync: readers never see a half-written file. If a write failed, Close removes the
// temporary file and returns the error.
func Create(path string, kind Kind, s *arrow.Schema, opts WriteOptions) (Writer, error) {
	detected, codec, derr := Detect(path)
	if kind == "" {
		if derr != nil {
			return nil, derr
		}
		kind = detected
	}
	if kind == Parquet && codec != NoCodec {
		return nil, fmt.Errorf("create %q: Parquet compresses its own pages; drop the .%s", path, codec)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("create %q: %w", path, err)
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return nil, fmt.Errorf("create %q: %w", path, err)
	}
	fw := &fileWriter{path: path, f: f, bw: bufio.NewWriterSize(f, 1<<20)}
	var w io.Writer = fw.bw
	switch codec {
	case Gzip:
		gw := gzip.NewWriter(w)
		fw.codec, w = gw, gw
	case ZstdRaw:
		zw, err := zstd.NewWriter(w)
		if err != nil {
			fw.abort()
			return nil, fmt.Errorf("create %q: zstd: %w", path, err)
		}
		fw.codec, w = zw, zw
	}
	fw.Writer, err = NewWriter(w, kind, s, opts)
	if err != nil {
		fw.abort()
		return nil, err
	}
	return fw, nil
}

// fileWriter publishes its file atomically on Close.
type fileWriter struct {
	Writer
	path  string
	f     *os.File
	bw    *bufio.Writer
	codec io.Closer
	err   error
}

func (fw *fileWriter) Write(rec arrow.RecordBatch) error {
	if fw.err != nil {
		return fw.err
	}
	if err := fw.Writer.Write(rec); err != nil {
		fw.err = fmt.Errorf("write %q: %w", fw.path, err)
	}
	return fw.err
}

func (fw *fileWriter) Close() error {
	if fw.err != nil {
		fw.abort()
		return fw.err
	}
	steps := []func() error{fw.Writer.Close}
	if fw.codec != nil {
		steps = append(steps, fw.codec.Close)
	}
	steps = append(steps, fw.bw.Flush, fw.f.Sync, fw.f.Close)
	for _, step := range steps {
		if err := step(); err != nil {
			fw.abort()
			return fmt.Errorf("write %q: %w", fw.path, err)
		}
	}
	if err := os.Rename(fw.f.Name(), fw.path); err != nil {
		os.Remove(fw.f.Name())
		return fmt.Errorf("publish %q: %w", fw.path, err)
	}
	return syncDir(filepath.Dir(fw.path))
}

// abort drops the temporary file.
func (fw *fileWriter) abort() {
	fw.f.Close()
	os.Remove(fw.f.Name())
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
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
