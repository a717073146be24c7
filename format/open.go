package format

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// Codec names a whole-file compression, taken from the file name's last extension.
type Codec string

// The whole-file codecs readers undo and writers apply.
const (
	NoCodec Codec = ""
	Gzip    Codec = "gz"
	ZstdRaw Codec = "zst"
)

// Detect tells the format and whole-file codec of a path from its extensions:
// `tx.jsonl.gz` is gzip-compressed JSONL. Known: .jsonl .ndjson .json .csv .parquet .pq,
// optionally followed by .gz or .zst.
func Detect(path string) (Kind, Codec, error) {
	base := strings.ToLower(filepath.Base(path))
	codec := NoCodec
	switch {
	case strings.HasSuffix(base, ".gz"):
		codec, base = Gzip, strings.TrimSuffix(base, ".gz")
	case strings.HasSuffix(base, ".zst"):
		codec, base = ZstdRaw, strings.TrimSuffix(base, ".zst")
	case strings.HasSuffix(base, ".zstd"):
		codec, base = ZstdRaw, strings.TrimSuffix(base, ".zstd")
	}
	switch filepath.Ext(base) {
	case ".jsonl", ".ndjson", ".json":
		return JSONL, codec, nil
	case ".csv":
		return CSV, codec, nil
	case ".parquet", ".pq":
		return Parquet, codec, nil
	}
	return "", codec, fmt.Errorf("cannot tell the format of %q from its name (want .jsonl, .csv or .parquet, optionally .gz or .zst); set the format explicitly", path)
}

// Open opens one file for reading as kind, or as its name says when kind is empty, and undoes
// gzip or zstd compression named by its extension.
func Open(path string, kind Kind, s *arrow.Schema, opts ReadOptions) (Reader, error) {
	kind, codec, err := resolveKind(path, kind)
	if err != nil {
		return nil, err
	}
	if kind == Parquet {
		return OpenParquet(path, s, opts)
	}
	rd, _, err := openText(path, kind, codec, s, opts)
	return rd, err
}

// resolveKind returns the format to read path as (kind, or the one its name says when kind is
// empty) and its whole-file codec, refusing a compressed Parquet file.
func resolveKind(path string, kind Kind) (Kind, Codec, error) {
	detected, codec, derr := Detect(path)
	if kind == "" {
		if derr != nil {
			return "", codec, derr
		}
		kind = detected
	}
	if kind == Parquet && codec != NoCodec {
		return "", codec, fmt.Errorf("open %q: a Parquet file cannot be read through %s; Parquet compresses its own pages", path, codec)
	}
	return kind, codec, nil
}

// openText opens a text file as kind through its codec and returns its reader and the opened
// input under it.
func openText(path string, kind Kind, codec Codec, s *arrow.Schema, opts ReadOptions) (Reader, *decompressor, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("open %s input: %w", kind, err)
	}
	r, err := decompress(f, codec)
	var damage *damageError
	if errors.As(err, &damage) && !opts.FailOnDamage {
		counted := &countingReader{r: f}
		r = &decompressor{Reader: damagedInput{skipRest(f, counted, damage)}, f: f, codec: codec, file: counted, closers: []func() error{f.Close}}
	} else if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("open %q: %w", path, err)
	}
	var rd Reader
	switch kind {
	case JSONL:
		rd, err = NewJSONLReader(r, path, s, opts)
	case CSV:
		rd, err = NewCSVReader(r, path, s, opts)
	default:
		err = fmt.Errorf("unknown format %q", kind)
	}
	if err == nil && opts.Bytes[1] > 0 {
		if err = placeRange(rd, r, path, kind, opts); err != nil {
			return nil, nil, errors.Join(err, rd.Close())
		}
	}
	if err != nil {
		return nil, nil, errors.Join(err, r.Close())
	}
	return rd, r, nil
}

// decompressor is an opened text file: it reads the file's bytes through a counter, undoes
// the codec, and closes the codec's reader and then the file.
type decompressor struct {
	io.Reader
	f       *os.File
	codec   Codec
	file    *countingReader // the file's own bytes, as stored
	closers []func() error
}

func (d *decompressor) Close() error {
	var errs []error
	for _, c := range d.closers {
		errs = append(errs, c())
	}
	return errors.Join(errs...)
}

func decompress(f *os.File, codec Codec) (*decompressor, error) {
	cf := &countingReader{r: f}
	switch codec {
	case Gzip:
		zr, err := gzip.NewReader(bufio.NewReaderSize(cf, 256<<10))
		if err != nil {
			if !cf.failed.Load() {
				err = &damageError{codec: codec, err: err}
			}
			return nil, fmt.Errorf("gzip: %w", err)
		}
		return &decompressor{Reader: &codecReader{r: zr, codec: codec, f: f, file: cf}, f: f, codec: codec, file: cf, closers: []func() error{func() error {
			_ = zr.Close() // it reports the stream's own error again, which Read has already
			return nil
		}, f.Close}}, nil
	case ZstdRaw:
		zr, err := zstd.NewReader(cf)
		if err != nil {
			return nil, fmt.Errorf("zstd: %w", err)
		}
		return &decompressor{Reader: &codecReader{r: zr, codec: codec, f: f, file: cf}, f: f, codec: codec, file: cf, closers: []func() error{func() error { zr.Close(); return nil }, f.Close}}, nil
	}
	return &decompressor{Reader: cf, f: f, codec: codec, file: cf, closers: []func() error{f.Close}}, nil
}

// Glob lists the files a source path names, sorted: a file, a directory (every file in it
// whose format Detect knows, recursively), or a pattern with * ? [..] in any segment and **
// for any number of directories. Naming nothing is an error.
func Glob(pattern string) ([]string, error) {
	if !strings.ContainsAny(pattern, "*?[") {
		st, err := os.Stat(pattern)
		if err != nil {
			return nil, fmt.Errorf("input %q: %w", pattern, err)
		}
		if !st.IsDir() {
			return []string{pattern}, nil
		}
		pattern = filepath.Join(pattern, "**", "*")
	}
	if _, err := filepath.Match(pattern, ""); err != nil {
		return nil, fmt.Errorf("input pattern %q: %w", pattern, err)
	}
	root := globRoot(pattern)
	if _, err := os.Stat(root); err != nil {
		return nil, fmt.Errorf("input %q: no files match: %w", pattern, err)
	}
	var files []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() && p != root && strings.HasPrefix(d.Name(), ".") {
				return filepath.SkipDir // hidden directories hold temporary and private files
			}
			return nil
		}
		if matchPath(pattern, p) {
			if _, _, err := Detect(p); err == nil || !strings.HasSuffix(pattern, "*") {
				files = append(files, p)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("input %q: %w", pattern, err)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("input %q: no files match", pattern)
	}
	slices.Sort(files)
	return files, nil
}

// globRoot is the directory part of a pattern before its first wildcard.
func globRoot(pattern string) string {
	segs := strings.Split(filepath.ToSlash(pattern), "/")
	for i, s := range segs {
		if strings.ContainsAny(s, "*?[") {
			root := strings.Join(segs[:i], "/")
			if root == "" {
				if strings.HasPrefix(pattern, "/") {
					return "/"
				}
				return "."
			}
			return filepath.FromSlash(root)
		}
	}
	return filepath.Dir(pattern)
}

// matchPath matches a path against a pattern segment by segment; ** matches any number of
// segments, including none.
func matchPath(pattern, path string) bool {
	ps := strings.Split(filepath.ToSlash(filepath.Clean(pattern)), "/")
	ns := strings.Split(filepath.ToSlash(filepath.Clean(path)), "/")
	var match func(ps, ns []string) bool
	match = func(ps, ns []string) bool {
		for len(ps) > 0 {
			if ps[0] == "**" {
				for k := 0; k <= len(ns); k++ {
					if match(ps[1:], ns[k:]) {
						return true
					}
				}
				return false
			}
			if len(ns) == 0 {
				return false
			}
			if ok, _ := filepath.Match(ps[0], ns[0]); !ok {
				return false
			}
			ps, ns = ps[1:], ns[1:]
		}
		return len(ns) == 0
	}
	return match(ps, ns)
}

// OpenAll reads every file a path or pattern names (see Glob), one after another, as one
// stream. kind empty means by each file's name.
func OpenAll(pattern string, kind Kind, s *arrow.Schema, opts ReadOptions) (Reader, error) {
	files, err := Glob(pattern)
	if err != nil {
		return nil, err
	}
	return &multiReader{files: files, kind: kind, schema: s, opts: opts}, nil
}

// multiReader reads files in turn.
type multiReader struct {
	files  []string
	next   int
	cur    Reader
	done   int64 // bytes read from the files already closed
	kind   Kind
	schema *arrow.Schema
	opts   ReadOptions
}

func (m *multiReader) Read() (arrow.RecordBatch, []DeadLetter, error) {
	for {
		if m.cur == nil {
			if m.next == len(m.files) {
				return nil, nil, io.EOF
			}
			r, err := Open(m.files[m.next], m.kind, m.schema, m.opts)
			if err != nil {
				return nil, nil, err
			}
			m.cur = r
			m.next++
		}
		rec, dead, err := m.cur.Read()
		if err != io.EOF {
			return rec, dead, err
		}
		if err := m.closeCurrent(); err != nil {
			return nil, nil, fmt.Errorf("close %q: %w", m.files[m.next-1], err)
		}
	}
}

// closeCurrent closes the file being read and adds what was read of it to done.
func (m *multiReader) closeCurrent() error {
	m.done += bytesRead(m.cur)
	err := m.cur.Close()
	m.cur = nil
	return err
}

// BytesRead is the sum of BytesRead over the files read so far, the current one included.
func (m *multiReader) BytesRead() int64 {
	return m.done + bytesRead(m.cur)
}

// Lines gives the input line of each row of the last batch when its file is text.
func (m *multiReader) Lines() ([]int64, error) {
	if lr, ok := m.cur.(LineReader); ok {
		return lr.Lines()
	}
	return nil, nil
}

func (m *multiReader) Position() Position {
	if m.cur != nil {
		return m.cur.Position()
	}
	if m.next < len(m.files) {
		return Position{File: m.files[m.next], Line: 1}
	}
	return Position{}
}

func (m *multiReader) Close() error {
	if m.cur == nil {
		return nil
	}
	return m.closeCurrent()
}
