package lake

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"millrace/expr"
	"millrace/format"
	"millrace/objstore"
	"millrace/source"
)

// Options say what a lake holds and which of its rows a pipeline needs.
type Options struct {
	// Schema is the schema of the rows the source yields: columns read from the files, by
	// name, and partition columns, whose values come from the directories. Only the file
	// columns it names are decoded.
	Schema *arrow.Schema
	// Partitioning lists the partition columns in the order of the directory levels, each
	// level a directory name=value (year=2026/month=03/...); empty for a lake whose files
	// are not partitioned. Their types are among PartitionTypes.
	Partitioning []arrow.Field
	// Filter, when not nil, is a predicate over Schema's columns that every row the
	// pipeline keeps is TRUE for (the where of the views that read the source, or-ed): the
	// directories and row groups where it cannot be TRUE are not read.
	Filter expr.Node
	// Read tunes the Parquet readers; RowGroups is set by the source.
	Read format.ReadOptions
	// SplitRows is the least rows a work item holds, unless its file has fewer (default
	// source.SplitRows).
	SplitRows int64
}

// Source is a Parquet lake as a bounded, resumable source: its partitions are work items,
// each a range of row groups of one file, so that subtasks (and the workers of a cluster,
// through its splits) share one large file as they share many small ones.
//
// Open lists the lake and reads the footers of the files it keeps; the source then knows
// every work item. Rows outside the filter may still be read (a row group is kept whole);
// the view's where drops them.
type Source struct {
	store     objstore.Store
	schema    *arrow.Schema
	fileCols  *arrow.Schema // the columns of schema read from the files
	partOf    []int         // per column of schema: its partition level, or -1
	opts      Options
	files     []*file
	items     []item
	stats     Stats
	partTests []partitionTest
	statTests []statsTest
}

// Stats say how much of the lake pruning left to read.
type Stats struct {
	// Directories is the number of partition directories listed; DirectoriesPruned of the
	// directories found were left unlisted, their partition values failing the filter.
	Directories, DirectoriesPruned int
	// Files is the number of Parquet files whose footers were read.
	Files int
	// RowGroups is the number of row groups of those files; RowGroupsPruned of them are not
	// read, their statistics failing the filter.
	RowGroups, RowGroupsPruned int
}

// file is a Parquet file of the lake.
type file struct {
	key    string
	size   int64
	values []string // the texts of its partition values, in level order
	footer *footer  // nil when its footer cannot be read
	damage error    // why its footer cannot be read
	spans  [][]span // per row group, what a reader reads
}

// item is a work item: row groups [first, end) of a file; a file whose footer cannot be read
// is one item with end 0.
type item struct {
	file       int
	first, end int
	bytes      int64
}

var _ source.TimeFloors = (*Source)(nil)

// OpenURL opens the lake at url: s3://bucket/prefix (the server and credentials as
// objstore.Options and the environment say) or a directory, which must exist. The store is
// the source's: Close closes it.
func OpenURL(ctx context.Context, url string, storeOpts objstore.Options, opts Options) (*Source, error) {
	if !strings.HasPrefix(url, "s3://") {
		dir := strings.TrimPrefix(url, "file://")
		st, err := os.Stat(dir)
		if err != nil {
			return nil, fmt.Errorf("lake directory %q: %w", dir, errors.Unwrap(err))
		}
		if !st.IsDir() {
			return nil, fmt.Errorf("lake directory %q: not a directory", dir)
		}
	}
	store, err := objstore.Open(ctx, url, storeOpts)
	if err != nil {
		return nil, err
	}
	s, err := Open(ctx, store, opts)
	if err != nil {
		return nil, errors.Join(err, store.Close())
	}
	return s, nil
}

// Open lists the lake in store and plans its work items: it lists the partition directories
// level by level, leaving unlisted those whose values fail the filter, reads the footer of
// every Parquet file (a name ending in .parquet, not starting with _ or .) in the directories
// left, and keeps the row groups whose statistics do not fail it. ctx covers the listing and
// the footers.
func Open(ctx context.Context, store objstore.Store, opts Options) (*Source, error) {
	if opts.SplitRows <= 0 {
		opts.SplitRows = source.SplitRows
	}
	if opts.Read.Mem == nil {
		opts.Read.Mem = memory.DefaultAllocator
	}
	s := &Source{store: store, schema: opts.Schema, opts: opts}
	if err := s.columns(); err != nil {
		return nil, err
	}
	conjs := conjuncts(opts.Filter)
	s.partTests = partitionTests(conjs, opts.Partitioning)
	s.statTests = statsTests(conjs, opts.Schema)
	if err := s.walk(ctx, "", nil); err != nil {
		return nil, err
	}
	for i, f := range s.files {
		if err := s.plan(ctx, i, f); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// columns splits the schema into file columns and partition columns.
func (s *Source) columns() error {
	var fileFields []arrow.Field
	for _, f := range s.schema.Fields() {
		level := slices.IndexFunc(s.opts.Partitioning, func(p arrow.Field) bool { return p.Name == f.Name })
		s.partOf = append(s.partOf, level)
		if level < 0 {
			fileFields = append(fileFields, f)
			continue
		}
		if !arrow.TypeEqual(f.Type, s.opts.Partitioning[level].Type) {
			return fmt.Errorf("lake %s: column %s is %s in the schema and %s as a partition", s.store, f.Name, f.Type, s.opts.Partitioning[level].Type)
		}
	}
	for _, p := range s.opts.Partitioning {
		if !slices.ContainsFunc(PartitionTypes, func(t arrow.DataType) bool { return arrow.TypeEqual(t, p.Type) }) {
			return fmt.Errorf("lake %s: partition column %s: type %s is not one of string, int32, int64, date", s.store, p.Name, p.Type)
		}
	}
	s.fileCols = arrow.NewSchema(fileFields, nil)
	return nil
}

// walk lists the directory prefix, whose partition values so far are values.
func (s *Source) walk(ctx context.Context, prefix string, values []string) error {
	depth := len(values)
	if depth == len(s.opts.Partitioning) {
		objs, err := s.store.List(ctx, prefix)
		if err != nil {
			return fmt.Errorf("lake: %w", err)
		}
		for _, o := range objs {
			if isData(strings.TrimPrefix(o.Key, prefix)) {
				s.files = append(s.files, &file{key: o.Key, size: o.Size, values: slices.Clone(values)})
			}
		}
		return nil
	}
	dirs, objs, err := s.store.ListDir(ctx, prefix)
	if err != nil {
		return fmt.Errorf("lake: %w", err)
	}
	level := s.opts.Partitioning[depth]
	for _, o := range objs {
		if name := path.Base(o.Key); isData(name) {
			return fmt.Errorf("lake %s: file %s lies above the partition level %s: every file is in a directory %s=VALUE", s.store, o.Key, level.Name, level.Name)
		}
	}
	for _, d := range dirs {
		name := path.Base(d)
		if hidden(name) {
			continue
		}
		v, err := parseSegment(name, level.Name)
		if err != nil {
			return fmt.Errorf("lake %s: %s: %w", s.store, d, err)
		}
		s.stats.Directories++
		keep, err := keepPartition(s.partTests, s.opts.Partitioning, append(slices.Clone(values), v))
		if err != nil {
			return fmt.Errorf("lake %s: %s: %w", s.store, d, err)
		}
		if !keep {
			s.stats.DirectoriesPruned++
			continue
		}
		if err := s.walk(ctx, d, append(slices.Clone(values), v)); err != nil {
			return err
		}
	}
	return nil
}

// isData says whether an object named name (below its partition directory) is a data file
// of the lake: a .parquet file none of whose path segments is hidden.
func isData(name string) bool {
	for _, seg := range strings.Split(name, "/") {
		if hidden(seg) {
			return false
		}
	}
	return strings.HasSuffix(name, ".parquet")
}

// hidden says whether a file or directory is left out of a lake, as Hive and Spark leave
// out _SUCCESS, _temporary and .crc files.
func hidden(name string) bool { return strings.HasPrefix(name, "_") || strings.HasPrefix(name, ".") }

// plan reads the footer of file i and adds its work items.
func (s *Source) plan(ctx context.Context, i int, f *file) error {
	s.stats.Files++
	ft, err := readFooter(ctx, s.store, f.key, f.size)
	var fe *footerError
	if errors.As(err, &fe) {
		if s.opts.Read.FailOnDamage {
			return fmt.Errorf("lake %s: %s: %w: %w", s.store, f.key, format.ErrDamaged, err)
		}
		f.damage = err
		s.items = append(s.items, item{file: i})
		return nil
	}
	if err != nil {
		return fmt.Errorf("lake: %w", err)
	}
	f.footer = ft
	md := ft.md
	names := make([]string, s.fileCols.NumFields())
	for j, c := range s.fileCols.Fields() {
		names[j] = c.Name
	}
	var bytes []int64
	f.spans, bytes = readSpans(md, names)
	rows := make([]int64, md.NumRowGroups())
	for g := range rows {
		rows[g] = md.RowGroup(g).NumRows()
	}
	s.stats.RowGroups += len(rows)
	stats := map[int][]groupStats{}
	for _, t := range s.statTests {
		if s.partOf[t.column] >= 0 {
			continue
		}
		if leaf := leafOf(md, s.schema.Field(t.column).Name); leaf >= 0 {
			if st := rowGroupStats(md, leaf, s.schema.Field(t.column).Type); st != nil {
				stats[t.column] = st
			}
		}
	}
	keep, err := keepRowGroups(s.statTests, s.schema, stats, rows)
	if err != nil {
		return fmt.Errorf("lake %s: %s: %w", s.store, f.key, err)
	}
	it := item{file: i, first: -1}
	var n int64
	flush := func(end int) {
		if it.first >= 0 {
			it.end = end
			s.items = append(s.items, it)
		}
		it, n = item{file: i, first: -1}, 0
	}
	for g, k := range keep {
		if !k {
			s.stats.RowGroupsPruned++
			flush(g)
			continue
		}
		if it.first < 0 {
			it.first = g
		}
		it.bytes += bytes[g]
		n += rows[g]
		if n >= s.opts.SplitRows {
			flush(g + 1)
		}
	}
	flush(len(keep))
	return nil
}

// TimeFloor implements source.TimeFloors: a work item knows the least value of a
// millisecond timestamp column of its files when the statistics of each of its row groups
// say it.
func (s *Source) TimeFloor(partition int, column string) (int64, bool) {
	it := s.items[partition]
	f := s.files[it.file]
	ci := s.schema.FieldIndices(column)
	if f.footer == nil || it.end <= it.first || len(ci) != 1 || s.partOf[ci[0]] >= 0 {
		return 0, false
	}
	t, ok := s.schema.Field(ci[0]).Type.(*arrow.TimestampType)
	leaf := leafOf(f.footer.md, column)
	if !ok || t.Unit != arrow.Millisecond || leaf < 0 {
		return 0, false
	}
	st := rowGroupStats(f.footer.md, leaf, t)
	if st == nil {
		return 0, false
	}
	least := int64(math.MaxInt64)
	for g := it.first; g < it.end; g++ {
		v, ok := st[g].Min.(arrow.Timestamp)
		if !ok {
			return 0, false
		}
		least = min(least, int64(v))
	}
	return least, true
}

// TimeCeiling returns, in milliseconds, the greatest value of a millisecond timestamp
// column in the lake, from the statistics of every row group that pruning left, and whether
// every one of them says it.
func (s *Source) TimeCeiling(column string) (int64, bool) {
	ci := s.schema.FieldIndices(column)
	if len(ci) != 1 || s.partOf[ci[0]] >= 0 {
		return 0, false
	}
	t, ok := s.schema.Field(ci[0]).Type.(*arrow.TimestampType)
	if !ok || t.Unit != arrow.Millisecond || len(s.items) == 0 {
		return 0, false
	}
	greatest := int64(math.MinInt64)
	for _, it := range s.items {
		f := s.files[it.file]
		if f.footer == nil {
			return 0, false
		}
		leaf := leafOf(f.footer.md, column)
		if leaf < 0 {
			return 0, false
		}
		st := rowGroupStats(f.footer.md, leaf, t)
		if st == nil {
			return 0, false
		}
		for g := it.first; g < it.end; g++ {
			v, ok := st[g].Max.(arrow.Timestamp)
			if !ok {
				return 0, false
			}
			greatest = max(greatest, int64(v))
		}
	}
	return greatest, true
}

// Stats say what the listing and pruning found.
func (s *Source) Stats() Stats { return s.stats }

// String says where the lake is, never with credentials.
func (s *Source) String() string { return s.store.String() }

// Schema is the schema of the rows the source yields.
func (s *Source) Schema() *arrow.Schema { return s.schema }

// Partitions is the number of work items.
func (s *Source) Partitions() int { return len(s.items) }

// Size is the compressed size of the column chunks the work item's reader reads, or the size
// of a file whose footer cannot be read.
func (s *Source) Size(partition int) int64 {
	it := s.items[partition]
	if it.end == 0 {
		return s.files[it.file].size
	}
	return it.bytes
}

// Capabilities says a lake ends, and its readers resume.
func (s *Source) Capabilities() source.Capabilities {
	return source.Capabilities{Bounded: true, Resumable: true}
}

// Committed does nothing: a lake keeps no consumer state.
func (s *Source) Committed(context.Context, uint64, map[int][]byte) error { return nil }

// Close closes the store the source reads.
func (s *Source) Close() error { return s.store.Close() }
