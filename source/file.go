package source

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/apache/arrow-go/v18/arrow"

	"millrace/format"
)

// File reads files as a bounded source. Every text file a path or pattern names is a
// partition, but for an uncompressed JSONL file larger than SplitBytes (WithSplitBytes),
// which is split into byte ranges of at most that many bytes (see format.ReadOptions.Bytes); a Parquet file is split
// into partitions of contiguous row groups holding at least SplitRows rows. So one large
// file is read by every core. A CSV file stays whole, as a quoted field may hold a line
// break, so that a line break does not tell where a record starts; a compressed one too, as
// its stream cannot be entered midway. The splits do not depend on the parallelism, so that
// a run resumes at any parallelism and decides lateness the same at every one.
//
// A text partition's size is its file's size on disk, compressed or not, or its byte
// range's length; a Parquet split's is the compressed size of the column chunks of its row
// groups that the schema names, as the file's footer gives them.
//
// File is bounded and resumable: its readers' Checkpoint gives the byte offset and line of
// a text file, the row group and row of a Parquet file, where the next Read starts (see
// Open).
//
// Unless its read options fail on damage, a Parquet file whose footer cannot be read is one
// partition, which reads as one dead letter (see format.OpenParquet).
type File struct {
	files      []string
	splits     []split
	kind       format.Kind
	schema     *arrow.Schema
	opts       format.ReadOptions
	splitBytes int64
}

// FileOption tunes a File source.
type FileOption func(*File)

// WithSplitBytes sets the most bytes a split of an uncompressed JSONL file spans (default
// SplitBytes).
func WithSplitBytes(n int64) FileOption {
	return func(f *File) { f.splitBytes = max(n, 1) }
}

var _ TimeFloors = (*File)(nil)

// SplitRows is the least number of rows a Parquet split holds (unless the file is smaller).
const SplitRows = 1 << 20

// SplitBytes is the most bytes a split of an uncompressed JSONL file spans by default; a file
// up to this size is one partition.
const SplitBytes = 64 << 20

// split is one partition: a file, a range of a Parquet file's row groups, or a byte range
// of an uncompressed JSONL file.
type split struct {
	file      int
	rowGroups [2]int   // [first, end); zero for a whole file
	byteRange [2]int64 // [first, end); zero for a whole file
	bytes     int64    // what a reader of the split reads of the file; see Size
	// timeMins holds the least value of timestamp columns in the split's row groups, where
	// every one of them says it (see TimeFloor).
	timeMins map[string]int64
}

// NewFile lists the files path names (a file, a directory or a glob; see format.Glob) and
// returns a source over them, read as kind, or as each file's name says when kind is empty.
// It reads the footer of every Parquet file to split it, and the size of every other file.
func NewFile(path string, kind format.Kind, s *arrow.Schema, opts format.ReadOptions, options ...FileOption) (*File, error) {
	files, err := format.Glob(path)
	if err != nil {
		return nil, err
	}
	f := &File{files: files, kind: kind, schema: s, opts: opts, splitBytes: SplitBytes}
	for _, o := range options {
		o(f)
	}
	for i, name := range files {
		k, codec, _ := format.Detect(name)
		if kind != "" {
			k = kind
		}
		if k != format.Parquet {
			st, err := os.Stat(name)
			if err != nil {
				return nil, fmt.Errorf("file source: %w", err)
			}
			if k == format.JSONL && codec == format.NoCodec {
				f.splits = append(f.splits, splitBytes(i, st.Size(), f.splitBytes)...)
				continue
			}
			f.splits = append(f.splits, split{file: i, bytes: st.Size()})
			continue
		}
		groups, err := format.ParquetRowGroupSizes(name, s)
		if errors.Is(err, format.ErrDamaged) && !opts.FailOnDamage {
			// One partition whose reader makes the file one dead letter.
			st, serr := os.Stat(name)
			if serr != nil {
				return nil, fmt.Errorf("file source: %w", serr)
			}
			f.splits = append(f.splits, split{file: i, bytes: st.Size()})
			continue
		}
		if err != nil {
			return nil, err
		}
		f.splits = append(f.splits, splitRowGroups(i, groups, SplitRows)...)
	}
	return f, nil
}

// splitBytes cuts a file of size bytes into byte ranges of about equal length, at most most
// bytes each; a file up to most bytes is one split, whole.
func splitBytes(file int, size, most int64) []split {
	n := max(1, (size+most-1)/most)
	if n == 1 {
		return []split{{file: file, bytes: size}}
	}
	out := make([]split, n)
	for k := range n {
		from, to := size*k/n, size*(k+1)/n
		out[k] = split{file: file, byteRange: [2]int64{from, to}, bytes: to - from}
	}
	return out
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
			out = append(out, split{file: file, rowGroups: [2]int{start, g + 1}, bytes: bytes, timeMins: timeMins(groups[start : g+1])})
			start, n, bytes = g+1, 0, 0
		}
	}
	if len(out) == 0 {
		out = append(out, split{file: file}) // a file without row groups
	}
	return out
}

// timeMins is the least of the row groups' least values of each timestamp column that
// every one of them says.
func timeMins(groups []format.RowGroupSize) map[string]int64 {
	var out map[string]int64
	for col, v := range groups[0].TimeMins {
		least, all := v, true
		for _, g := range groups[1:] {
			w, ok := g.TimeMins[col]
			all = all && ok
			least = min(least, w)
		}
		if all {
			if out == nil {
				out = map[string]int64{}
			}
			out[col] = least
		}
	}
	return out
}

// TimeFloor implements TimeFloors: a split of a Parquet file knows the least value of a
// timestamp column when the statistics of each of its row groups say it.
func (f *File) TimeFloor(partition int, column string) (int64, bool) {
	ms, ok := f.splits[partition].timeMins[column]
	return ms, ok
}

// Files lists the source's files.
func (f *File) Files() []string { return f.files }

// Schema is the schema rows are decoded into.
func (f *File) Schema() *arrow.Schema { return f.schema }

// Partitions is the number of splits: text files, byte ranges of large JSONL files and
// ranges of Parquet files' row groups.
func (f *File) Partitions() int { return len(f.splits) }

// Size is the number of bytes reading the partition consumes: its text file's size, its
// byte range's length, or the compressed size of the column chunks its Parquet split reads.
func (f *File) Size(partition int) int64 { return f.splits[partition].bytes }

// Capabilities says files end, and their readers resume.
func (f *File) Capabilities() Capabilities { return Capabilities{Bounded: true, Resumable: true} }

// Committed does nothing: files keep no consumer state.
func (f *File) Committed(context.Context, uint64, map[int][]byte) error { return nil }

// Open opens the partition's file, or its range of row groups, at its start when pos is
// nil. Otherwise it opens the partition where pos, which Checkpoint of a reader of the
// partition returned, says its next Read starts. pos is a small JSON object (see
// filePosition):
//
//	{"v":1,"file":"data/tx.jsonl.gz","offset":48213,"line":311}
//	{"v":1,"file":"data/tx.parquet","row_group":3,"row":16384}
//
// A split of a JSONL file gives its line only once its reader has counted the lines before
// its range (see format.ReadOptions.Bytes), which a run without dead letters never does:
//
//	{"v":1,"file":"data/tx.jsonl","offset":201326613}
//
// A text file resumes at the byte offset of its decompressed stream: an uncompressed one is
// seeked there; a compressed one is decompressed from its start and the bytes before the
// offset are dropped, which costs the decompression, not the decoding, of what was read
// before. A CSV file's header is read again first. A Parquet split resumes at the row group,
// without reading the row groups before it, and decodes and drops the rows of that row group
// before the row. Line numbers, dead letters and Position go on as the first reader's would,
// and so does BytesRead (see format.OpenAt). At the end of a partition, the first Read
// returns io.EOF.
//
// A position of another file, of the wrong kind (text or Parquet) or outside the partition,
// or one that does not decode, is an error naming the partition and what is wrong.
func (f *File) Open(_ context.Context, partition int, pos []byte) (PartitionReader, error) {
	if err := f.checkPartition(partition); err != nil {
		return nil, err
	}
	sp := f.splits[partition]
	name, parquet := f.files[sp.file], f.isParquet(sp.file)
	opts := f.opts
	opts.RowGroups, opts.Bytes = sp.rowGroups, sp.byteRange
	if pos == nil {
		r, err := format.Open(name, f.kind, f.schema, opts)
		if err != nil {
			return nil, err
		}
		return fileReader{Reader: r, parquet: parquet}, nil
	}
	at, err := decodeFilePosition(pos, name, parquet)
	if err != nil {
		return nil, fmt.Errorf("file source partition %d (%s): resume: %w", partition, name, err)
	}
	r, err := format.OpenAt(name, f.kind, f.schema, opts, at)
	if err != nil {
		return nil, fmt.Errorf("file source partition %d: resume: %w", partition, err)
	}
	return fileReader{Reader: r, parquet: parquet}, nil
}

// checkPartition says whether the source has the partition.
func (f *File) checkPartition(partition int) error {
	if partition < 0 || partition >= len(f.splits) {
		return fmt.Errorf("file source: no partition %d (it has %d)", partition, len(f.splits))
	}
	return nil
}

// isParquet says whether the source reads file i as Parquet.
func (f *File) isParquet(i int) bool {
	k := f.kind
	if k == "" {
		k, _, _ = format.Detect(f.files[i])
	}
	return k == format.Parquet
}

// fileReader adapts a format.Reader; a file read is short, so ctx is not consulted.
type fileReader struct {
	format.Reader
	parquet bool // positions are row groups and rows, not offsets and lines
}

func (r fileReader) Read(context.Context) (arrow.RecordBatch, []format.DeadLetter, error) {
	return r.Reader.Read()
}

// Checkpoint encodes Position, where the next Read starts, for Open.
func (r fileReader) Checkpoint() ([]byte, error) {
	return encodeFilePosition(r.Position(), r.parquet)
}

// Progress gives the bytes of its file the reader has consumed and, for text files, the
// input line of each row of the last batch.
func (r fileReader) Progress() Progress {
	var p Progress
	if bc, ok := r.Reader.(format.ByteCounter); ok {
		p.BytesRead = bc.BytesRead()
	}
	if lr, ok := r.Reader.(format.LineReader); ok {
		p.Lines = lr.Lines
	}
	return p
}
