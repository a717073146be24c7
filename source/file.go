package source

import (
	"context"

	"github.com/apache/arrow-go/v18/arrow"

	"millrace/format"
)

// File reads files as a bounded source. Every file a path or pattern names is a partition,
// in sorted order.
type File struct {
	files  []string
	kind   format.Kind
	schema *arrow.Schema
	policy WatermarkPolicy
	checks []Check
	opts   format.ReadOptions
}

// NewFile lists the files path names (a file, a directory or a glob; see format.Glob) and
// returns a source over them, read as kind, or as each file's name says when kind is empty.
func NewFile(path string, kind format.Kind, s *arrow.Schema, policy WatermarkPolicy, checks []Check, opts format.ReadOptions) (*File, error) {
	files, err := format.Glob(path)
	if err != nil {
		return nil, err
	}
	return &File{files: files, kind: kind, schema: s, policy: policy, checks: checks, opts: opts}, nil
}

// Files lists the partitions' files.
func (f *File) Files() []string { return f.files }

// Schema is the schema rows are decoded into.
func (f *File) Schema() *arrow.Schema { return f.schema }

// Partitions is the number of files.
func (f *File) Partitions() int { return len(f.files) }

// Watermarks is the source's event-time policy.
func (f *File) Watermarks() WatermarkPolicy { return f.policy }

// Checks are the predicates rows must pass.
func (f *File) Checks() []Check { return f.checks }

// Open opens the partition's file.
func (f *File) Open(_ context.Context, partition int) (PartitionReader, error) {
	r, err := format.Open(f.files[partition], f.kind, f.schema, f.opts)
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
