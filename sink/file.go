package sink

import (
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"millrace/format"
	"millrace/objstore"
	"millrace/op"
	"millrace/take"
	"millrace/vfs"
)

// Partitioner computes, for every row of a batch, the values of one partition column.
type Partitioner struct {
	// Name is the directory key, as in `date=2024-01-01`.
	Name string
	// Eval returns the partition value of each row; the caller releases the array.
	Eval func(rec arrow.RecordBatch) (arrow.Array, error)
}

// FileOptions says where and how a file sink writes.
type FileOptions struct {
	// Path names a file (written whole by one subtask) or, when Dir is set, a directory that
	// receives part files.
	Path string
	Dir  bool
	Kind format.Kind
	// Write tunes the encoder (Parquet codec and row groups).
	Write format.WriteOptions
	// PartitionBy splits rows into Hive-style directories under Path.
	PartitionBy []Partitioner
	// RollRows closes a part file once it holds this many rows (default 1,048,576; the batch
	// that reaches it is written whole) and RollInterval after this much time (default 1
	// minute), so a stream's rows become visible. A single file never rolls.
	RollRows     int64
	RollInterval time.Duration
	// Now is the clock that RollInterval is measured with (default time.Now).
	Now func() time.Time
	// FS is the filesystem the sink writes, renames and removes its files through (default
	// the operating system's).
	FS vfs.FS
	// Store, when set, is where the part files are published: an object store that takes
	// uploads (objstore.Uploads), such as S3, the paths under Path being its keys. Path then
	// only names the store in messages; the files are written under Spool, an absolute
	// local directory, and uploaded by the checkpoint that pre-commits them (see upload.go).
	Store objstore.Store
	Spool string
	// Overwrite lets the sink replace a file, or write among files, that millrace did not
	// write (see claim.go); without it NewFileFactory refuses such a path.
	Overwrite bool
	// Prefix, when set, names the run in its part files, part-PREFIX-SSS-NNNNN.EXT, so that
	// processes writing one directory at once (the workers of a cluster) never use one name:
	// the subtask number alone is unique in one process only. Each run takes a prefix of
	// its own: a run that does not Restore then looks for no leftovers of its names, and
	// Restore removes the hidden files of this prefix and of the runs whose state it takes
	// over, never those of other runs. It holds letters, digits, dashes and underscores; a
	// single file takes none.
	Prefix string
	// Rewrite, when set, replaces every batch before it is written; it takes over the
	// batch's reference and returns one the sink releases. A dead-letter sink with
	// `redact: true` masks its records with it.
	Rewrite func(memory.Allocator, arrow.RecordBatch) arrow.RecordBatch
}

// File is a sink operator writing batches to files. Every file appears atomically, never
// half-written: without checkpoints, part files are published when they roll or when the
// input ends; with checkpoints, when the checkpoint that took their rows is committed (see
// the package documentation). It is an op.Committer.
type File struct {
	op.Base
	opts    FileOptions
	schema  *arrow.Schema
	mem     memory.Allocator
	sub     int
	seq     int              // the last file number used
	open    map[string]*part // by partition directory
	written int64
	claimed bool // the marker of the sink's path is written

	// With checkpoints (see commit.go):
	ckpt    bool          // files are published by Commit, not when they roll or end
	begun   bool          // Restore ran, or the leftovers of an earlier run are removed
	closed  []*part       // files rolled since the last Snapshot, still under their writing names
	pending []pendingFile // files pre-committed and not yet published, oldest first
	base    bool          // a single file: its published file holds rows older than the chunks
	swept   []owner       // subtasks of this run or others whose hidden files this one removes
}

// part is one output file: open, or with checkpoints rolled and waiting for a Snapshot.
type part struct {
	w      format.FileWriter
	path   string // where it is written
	rows   int64
	opened time.Time

	// With checkpoints: the file as staged (w itself), which knows its size and checksum,
	// the file number, its directory, and its hidden stem and published name in that
	// directory.
	staged      *staged
	seq         int
	dir         string
	stem, final string
}

// NewFile returns a file sink for rows of schema s.
func NewFile(s *arrow.Schema, opts FileOptions) (*File, error) {
	newFile, err := NewFileFactory(s, opts)
	if err != nil {
		return nil, err
	}
	return newFile(), nil
}

// NewFileFactory checks opts once and returns what makes the sink of each subtask, as
// NewFile would. It refuses a path that holds what millrace did not write, unless
// opts.Overwrite is set.
func NewFileFactory(s *arrow.Schema, opts FileOptions) (func() *File, error) {
	if opts.RollRows <= 0 {
		opts.RollRows = 1 << 20
	}
	if opts.RollInterval <= 0 {
		opts.RollInterval = time.Minute
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.FS == nil {
		opts.FS = vfs.OSFS{}
	}
	if opts.Kind == "" {
		k, _, err := format.Detect(opts.Path)
		if err != nil {
			return nil, err
		}
		opts.Kind = k
	}
	if len(opts.PartitionBy) > 0 {
		opts.Dir = true
	}
	if _, codec, _ := format.Detect(opts.Path); !opts.Dir && opts.Kind == format.Parquet && codec != format.NoCodec {
		return nil, fmt.Errorf("sink %q: Parquet compresses its own pages; drop the .%s", opts.Path, codec)
	}
	switch {
	case !validPrefix(opts.Prefix):
		return nil, fmt.Errorf("sink %s: prefix %q: only letters, digits, dashes and underscores may name a run's files", opts.Path, opts.Prefix)
	case opts.Prefix != "" && !opts.Dir:
		return nil, fmt.Errorf("sink %s writes one file, which one run writes whole: it takes no prefix", opts.Path)
	}
	if opts.Store != nil {
		if err := checkStore(opts); err != nil {
			return nil, err
		}
	}
	if err := checkClaim(opts); err != nil {
		return nil, err
	}
	return func() *File { return &File{opts: opts, schema: s, open: map[string]*part{}} }, nil
}

// Open notes the subtask, which names its part files, and whether the run takes
// checkpoints.
func (f *File) Open(ctx op.Context) error {
	if !f.opts.Dir && ctx.Parallelism > 1 {
		return fmt.Errorf("sink %q writes one file, %s, so it runs as one subtask, not %d", ctx.Node, f.opts.Path, ctx.Parallelism)
	}
	f.sub = ctx.Subtask
	f.ckpt = ctx.Checkpointing
	f.mem = ctx.Mem
	if f.mem == nil {
		f.mem = memory.DefaultAllocator
	}
	return nil
}

// Process writes rec, split by partition.
func (f *File) Process(_ int, rec arrow.RecordBatch, _ op.Collector) error {
	if f.opts.Rewrite != nil {
		rec = f.opts.Rewrite(f.mem, rec)
	}
	defer rec.Release()
	if err := f.begin(); err != nil {
		return err
	}
	if len(f.opts.PartitionBy) == 0 {
		return f.write("", rec)
	}
	dirs, err := f.partitionDirs(rec)
	if err != nil {
		return err
	}
	groups := map[string][]int32{}
	var order []string
	for i, d := range dirs {
		if _, ok := groups[d]; !ok {
			order = append(order, d)
		}
		groups[d] = append(groups[d], int32(i))
	}
	for _, d := range order {
		sub, err := take.Rows(rec, groups[d])
		if err != nil {
			return err
		}
		err = f.write(d, sub)
		sub.Release()
		if err != nil {
			return err
		}
	}
	return nil
}

// partitionDirs renders each row's partition directory, `date=2024-01-01/country=DE`.
func (f *File) partitionDirs(rec arrow.RecordBatch) ([]string, error) {
	n := int(rec.NumRows())
	dirs := make([]string, n)
	for _, p := range f.opts.PartitionBy {
		vals, err := p.Eval(rec)
		if err != nil {
			return nil, fmt.Errorf("partition_by %s: %w", p.Name, err)
		}
		for i := range n {
			v := "__null__"
			if vals.IsValid(i) {
				v = escapePartition(vals.ValueStr(i))
			}
			if dirs[i] != "" {
				dirs[i] += "/"
			}
			dirs[i] += p.Name + "=" + v
		}
		vals.Release()
	}
	return dirs, nil
}

// escapePartition keeps a value usable as one path segment.
func escapePartition(v string) string {
	return strings.NewReplacer("/", "%2F", "\\", "%5C", "=", "%3D", "\x00", "%00").Replace(v)
}

func (f *File) write(dir string, rec arrow.RecordBatch) error {
	p, ok := f.open[dir]
	if !ok {
		var err error
		if p, err = f.newPart(dir); err != nil {
			return err
		}
		f.open[dir] = p
	}
	if err := p.w.Write(rec); err != nil {
		return err
	}
	p.rows += rec.NumRows()
	f.written += rec.NumRows()
	if f.opts.Dir && p.rows >= f.opts.RollRows {
		return f.roll(dir)
	}
	return nil
}

// newPart starts a file in the partition directory dir; the first one claims the sink's
// path for millrace (see claim.go).
func (f *File) newPart(dir string) (*part, error) {
	if !f.claimed {
		if err := f.claim(); err != nil {
			return nil, err
		}
		f.claimed = true
	}
	if f.ckpt || f.opts.Store != nil {
		return f.newStaged(dir)
	}
	path := f.opts.Path
	if f.opts.Dir {
		f.seq++
		name := partName(f.opts.Prefix, f.sub, f.seq, f.opts.Kind)
		path = filepath.Join(f.opts.Path, filepath.FromSlash(dir), name)
	}
	w, err := format.Create(f.opts.FS, path, f.opts.Kind, f.schema, f.opts.Write)
	if err != nil {
		return nil, err
	}
	return &part{w: w, path: path, opened: f.opts.Now()}, nil
}

// roll closes the file of dir: it publishes it, or with checkpoints leaves it for the next
// Snapshot to pre-commit.
func (f *File) roll(dir string) error {
	p := f.open[dir]
	delete(f.open, dir)
	if err := p.w.Close(); err != nil {
		return fmt.Errorf("sink file %s: %w", p.path, err)
	}
	switch {
	case f.ckpt:
		f.closed = append(f.closed, p)
	case f.opts.Store != nil:
		return f.putWhole(p)
	}
	return nil
}

// OnWatermark closes part files older than RollInterval, so a stream's rows show up.
func (f *File) OnWatermark(int64, op.Collector) error {
	if !f.opts.Dir {
		return nil
	}
	if err := f.begin(); err != nil {
		return err
	}
	now := f.opts.Now()
	for dir, p := range f.open {
		if now.Sub(p.opened) >= f.opts.RollInterval {
			if err := f.roll(dir); err != nil {
				return err
			}
		}
	}
	return nil
}

// Finish publishes every open file. A single-file sink writes its file even when no row
// arrived, so the output always exists after a finished run. With checkpoints it publishes
// nothing: the final Snapshot pre-commits what is open and Commit publishes it.
func (f *File) Finish(op.Collector) error {
	if f.ckpt {
		return f.begin()
	}
	if !f.opts.Dir && len(f.open) == 0 {
		p, err := f.newPart("")
		if err != nil {
			return err
		}
		f.open[""] = p
	}
	for dir := range f.open {
		if err := f.roll(dir); err != nil {
			return err
		}
	}
	return nil
}

// Close drops files not finished: a failed run publishes nothing half-written. Files that
// a checkpoint pre-committed stay for its Commit or for Restore; files rolled since are in
// no checkpoint, and go.
func (f *File) Close() error {
	for dir, p := range f.open {
		delete(f.open, dir)
		p.w.Abort()
	}
	for _, p := range f.closed {
		p.w.Abort()
	}
	f.closed = nil
	return nil
}
