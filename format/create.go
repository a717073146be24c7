package format

import (
	"bufio"
	"fmt"
	"io"
	"path/filepath"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"millrace/vfs"
)

// File is a new file being written. It is compressed with gzip or zstd when its name ends in
// .gz or .zst, written under a hidden temporary name beside its path, and published by a
// successful Close with an fsync and a rename (vfs.AtomicFile): readers never see a
// half-written file.
type File struct {
	path  string
	f     *vfs.AtomicFile
	bw    *bufio.Writer
	codec io.WriteCloser // nil when not compressed
	w     io.Writer
	err   error
}

// CreateFile starts a new file at path on the operating system's filesystem, creating its
// directory.
func CreateFile(path string) (*File, error) { return CreateFileFS(vfs.OSFS{}, path) }

// CreateFileFS starts a new file at path on fsys, creating its directory.
func CreateFileFS(fsys vfs.FS, path string) (*File, error) {
	_, codec, _ := Detect(path)
	if err := fsys.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("create %q: %w", path, err)
	}
	f, err := vfs.CreateAtomic(fsys, path, vfs.TempName(path))
	if err != nil {
		return nil, fmt.Errorf("create %q: %w", path, err)
	}
	out := &File{path: path, f: f, bw: bufio.NewWriterSize(f, 1<<20)}
	out.w = out.bw
	switch codec {
	case Gzip:
		out.codec = gzip.NewWriter(out.bw)
	case ZstdRaw:
		zw, err := zstd.NewWriter(out.bw)
		if err != nil {
			out.Abort()
			return nil, fmt.Errorf("create %q: zstd: %w", path, err)
		}
		out.codec = zw
	}
	if out.codec != nil {
		out.w = out.codec
	}
	return out, nil
}

// Write writes p, compressing it if the file's name asks for that.
func (f *File) Write(p []byte) (int, error) {
	if f.err != nil {
		return 0, f.err
	}
	n, err := f.w.Write(p)
	if err != nil {
		f.err = fmt.Errorf("write %q: %w", f.path, err)
	}
	return n, f.err
}

// Close publishes the file at its path, durably. After a failed write it removes the
// temporary file and returns that write's error.
func (f *File) Close() error {
	if f.err != nil {
		f.Abort()
		return f.err
	}
	var steps []func() error
	if f.codec != nil {
		steps = append(steps, f.codec.Close)
	}
	steps = append(steps, f.bw.Flush)
	for _, step := range steps {
		if err := step(); err != nil {
			f.Abort()
			return fmt.Errorf("write %q: %w", f.path, err)
		}
	}
	if err := f.f.Close(); err != nil {
		return fmt.Errorf("publish %q: %w", f.path, err)
	}
	return nil
}

// Abort drops the file: nothing appears at its path.
func (f *File) Abort() { f.f.Abort() }

// FileWriter is a Writer of a new file that can also be dropped.
type FileWriter interface {
	Writer
	// Abort drops the file: nothing appears at its path.
	Abort()
}

// Create returns a writer of a new File at path on fsys, in kind or as its name says when
// kind is empty (see File for compression and atomic publishing).
func Create(fsys vfs.FS, path string, kind Kind, s *arrow.Schema, opts WriteOptions) (FileWriter, error) {
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
	f, err := CreateFileFS(fsys, path)
	if err != nil {
		return nil, err
	}
	w, err := NewWriter(f, kind, s, opts)
	if err != nil {
		f.Abort()
		return nil, err
	}
	return &fileWriter{Writer: w, file: f}, nil
}

// fileWriter encodes batches into a File.
type fileWriter struct {
	Writer
	file *File
	err  error
}

func (fw *fileWriter) Write(rec arrow.RecordBatch) error {
	if fw.err == nil {
		if err := fw.Writer.Write(rec); err != nil {
			fw.err = fmt.Errorf("write %q: %w", fw.file.path, err)
		}
	}
	return fw.err
}

func (fw *fileWriter) Abort() { fw.file.Abort() }

func (fw *fileWriter) Close() error {
	if fw.err == nil {
		fw.err = fw.Writer.Close()
	}
	if fw.err != nil {
		fw.file.Abort()
		return fw.err
	}
	return fw.file.Close()
}
