package source

import (
	"context"
	"fmt"
	"os"

	"github.com/apache/arrow-go/v18/arrow"

	"millrace/format"
)

// File reads files as a bounded source. Every text file a path or pattern names is a
// partition; a Parquet file is split into partitions of contiguous row groups holding at
// least SplitRows rows, so one large file is read by every core.
//
// File is Sized: a text partition's size is its file's size on disk, compressed or not; a
// Parquet split's is the compressed size of the column chunks of its row groups that the
// schema names, as the file's footer gives them.
type File struct {
	files  []string
	splits []split
	kind   format.Kind
	schema *arrow.Schema
	policy WatermarkPolicy
	checks []Check
	opts   format.ReadOptions
}

var _ Sized = (*File)(nil)

// SplitRows is the least number of rows a Parquet split holds (unless the file is smaller).
const SplitRows = 1 << 20

// split is one partition: a file, or a range of a Parquet file's row groups.
type split struct {
	file      int
	rowGroups [2]int // [first, end); zero for a whole file
	bytes     int64  // what a reader of the split reads of the file; see Size
}

// NewFile lists the files path names (a file, a directory or a glob; see format.Glob) and
// returns a source over them, read as kind, or as each file's name says when kind is empty.
// It reads the footer of every Parquet file to split it, and the size of every other file.
func NewFile(path string, kind format.Kind, s *arrow.Schema, policy WatermarkPolicy, checks []Check, opts format.ReadOptions) (*File, error) {
	files, err := format.Glob(path)
	if err != nil {
		return nil, err
	}
	f := &File{files: files, kind: kind, schema: s, policy: policy, checks: checks, opts: opts}
	for i, name := range files {
		k := kind
		if k == "" {
			k, _, _ = format.Detect(name)
		}
		if k != format.Parquet {
			st, err := os.Stat(name)
			if err != nil {
				return nil, fmt.Errorf("file source: %w", err)
			}
			f.splits = append(f.splits, split{file: i, bytes: st.Size()})
			continue
		}
		groups, err := format.ParquetRowGroupSizes(name, s)
		if err != nil {
			return nil, err
		}
		f.splits = append(f.splits, splitRowGroups(i, groups, SplitRows)...)
	}
	return f, nil
}

// splitRowGroups cuts a file's row groups into contiguous ranges of at least least rows, each
// as big as the sum of its row groups.
func splitRowGroups(file int, groups []format.RowGroupSize, least int64) []split {
	var out []split
	start, n, bytes := 0, int64(0), int64(0)
	for g, rg := range groups {
		n += rg.Rows
		bytes += rg.Bytes
		if n >= least || g == len(groups)-1 {
			out = append(out, split{file: file, rowGroups: [2]int{start, g + 1}, bytes: bytes})
			start, n, bytes = g+1, 0, 0
		}
	}
	if len(out) == 0 {
		out = append(out, split{file: file}) // a file without row groups
	}
	return out
}

// Files lists the source's files.
func (f *File) Files() []string { return f.files }

// Schema is the schema rows are decoded into.
func (f *File) Schema() *arrow.Schema { return f.schema }

// Partitions is the number of text files plus the number of Parquet splits.
func (f *File) Partitions() int { return len(f.splits) }

// Size is the number of bytes reading the partition consumes: its text file's size, or the
// compressed size of the column chunks its Parquet split reads.
func (f *File) Size(partition int) int64 { return f.splits[partition].bytes }

// Watermarks is the source's event-time policy.
func (f *File) Watermarks() WatermarkPolicy { return f.policy }

// Checks are the predicates rows must pass.
func (f *File) Checks() []Check { return f.checks }

// Open opens the partition's file, or its range of row groups.
func (f *File) Open(_ context.Context, partition int) (PartitionReader, error) {
	sp := f.splits[partition]
	opts := f.opts
	opts.RowGroups = sp.rowGroups
	r, err := format.Open(f.files[sp.file], f.kind, f.schema, opts)
	if err != nil {
		return nil, err
	}
	return fileReader{r}, nil
}

// fileReader adapts a format.Reader; a file read is short, so ctx is not consulted.
type fileReader struct{ format.Reader }

func (r fileReader) Read(context.Context) (arrow.RecordBatch, []format.DeadLetter, error) {
	return r.Reader.Read()
}

// BytesRead is how many bytes of its file the reader has consumed; see Sized.
func (r fileReader) BytesRead() int64 {
	if bc, ok := r.Reader.(format.ByteCounter); ok {
		return bc.BytesRead()
	}
	return 0
}

// Lines gives the input line of each row of the last batch, for text files; nil otherwise.
func (r fileReader) Lines() []int64 {
	if lr, ok := r.Reader.(format.LineReader); ok {
		return lr.Lines()
	}
	return nil
}
