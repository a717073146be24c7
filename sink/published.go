package sink

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"

	"millrace/format"
)

// PublishedFile is a file a file sink has published, and the rows it holds.
type PublishedFile struct {
	// Path is the file's path: the sink's path for a single file, and a path under it for
	// a part file.
	Path string
	Rows int64
}

// partFile matches the names of published part files: part-SSS-NNNNN.EXT, or
// part-PREFIX-SSS-NNNNN.EXT when a prefix names the run that wrote them.
var partFile = regexp.MustCompile(`^part-([A-Za-z0-9_-]+-)?[0-9]{3,}-[0-9]{5,}\.`)

// Published lists what the file sink of opts has published, in path order, with the rows
// of each file, read back from the files themselves: the single file, or the part files
// under the directory (not the hidden files in progress, nor files of other names). A
// single file or directory that does not exist lists nothing.
func Published(opts FileOptions, s *arrow.Schema) ([]PublishedFile, error) {
	kind := opts.Kind
	if kind == "" {
		k, _, err := format.Detect(opts.Path)
		if err != nil {
			return nil, err
		}
		kind = k
	}
	if opts.Store != nil {
		return publishedInStore(opts, kind, s)
	}
	var paths []string
	if !opts.Dir && len(opts.PartitionBy) == 0 {
		if _, err := os.Stat(opts.Path); errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		paths = append(paths, opts.Path)
	} else {
		err := filepath.WalkDir(opts.Path, func(p string, d fs.DirEntry, err error) error {
			switch {
			case errors.Is(err, fs.ErrNotExist) && p == opts.Path:
				return filepath.SkipAll
			case err != nil:
				return err
			case strings.HasPrefix(d.Name(), ".") && p != opts.Path:
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			case !d.IsDir() && partFile.MatchString(d.Name()):
				paths = append(paths, p)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("sink %s: list published files: %w", opts.Path, err)
		}
	}
	out := make([]PublishedFile, 0, len(paths))
	for _, p := range paths {
		rows, err := publishedRows(p, kind, s)
		if err != nil {
			return nil, err
		}
		out = append(out, PublishedFile{Path: p, Rows: rows})
	}
	return out, nil
}

// publishedRows counts the rows of a published file: from the footer of a Parquet file, by
// reading a text file back.
func publishedRows(path string, kind format.Kind, s *arrow.Schema) (int64, error) {
	if kind == format.Parquet {
		groups, err := format.ParquetRowGroups(path)
		if err != nil {
			return 0, err
		}
		var n int64
		for _, g := range groups {
			n += g
		}
		return n, nil
	}
	r, err := format.Open(path, kind, s, format.ReadOptions{})
	if err != nil {
		return 0, err
	}
	return readRows(r, path)
}

// readRows reads r, the file name, to its end and closes it, counting its rows and dead
// letters.
func readRows(r format.Reader, name string) (int64, error) {
	defer r.Close()
	var n int64
	for {
		rec, dead, err := r.Read()
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return 0, fmt.Errorf("count the rows of %s: %w", name, err)
		}
		n += int64(len(dead))
		if rec != nil {
			n += rec.NumRows()
			rec.Release()
		}
	}
}
