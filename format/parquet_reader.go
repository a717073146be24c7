package format

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/metadata"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	pqschema "github.com/apache/arrow-go/v18/parquet/schema"

	"millrace/civil"
)

// Parquet files go through arrow-go: pqarrow writes them and maps their schema to Arrow. The
// writer stores the Arrow schema in the footer (key ARROW:schema), so a file millrace wrote
// reads back with exactly the types it was written with and every column takes the reader's
// pass-through path; the flat columns of such a file are decoded by flatReader, straight from
// the page decoders into Arrow buffers. Files from other tools may need the per-value
// conversions of convertFor.
//
// The Parquet files of this package: parquet_writer.go cuts rows into row groups and writes
// them; parquet_reader.go (this one) opens a file, streams it row group by row group and turns
// rows that do not convert into dead letters; parquet_columns.go reads one column chunk, flat
// into Arrow buffers or through pqarrow; parquet_convert.go converts a file's types into the
// schema's; parquet_values.go reads single values exactly and renders them for dead letters.

// parquetReadBuffer is the read buffer of each column chunk stream. The reader streams column
// chunks through buffers of this size instead of loading whole chunks, so memory stays bounded
// however large the row groups of a file are.
const parquetReadBuffer = 256 << 10

// OpenParquet opens the Parquet file at path for reading batches of schema s.
//
// The file is read one row group at a time and each column chunk is streamed through a bounded
// buffer, so memory stays bounded whatever the size of the file. A batch holds at most
// opts.BatchRows rows and never spans two row groups.
//
// Columns are matched by name: file columns that s does not name are not read; a column of s
// the file lacks reads as nulls if it is nullable, and fails the open if it is required. A
// column whose type in the file is the type in s is passed through unconverted: flat columns
// of the common types are decoded straight into the batch's buffers (see flatKindOf), others
// come as pqarrow decodes them. Otherwise each value is converted (see convertFor): integers
// of other widths, timestamps of any unit and zone (to UTC, sub-unit digits dropped toward the
// past), decimals of another precision or scale (only exactly), floats, and strings parsed
// into the schema's type. A value that cannot be converted, or a null in a required column,
// makes its row a DeadLetter (the row as a JSON object, its row group and row) and the row is
// left out of the batch.
//
// Every error names the file: `open parquet "data/tx.parquet": ...`.
//
// A file whose footer cannot be read (truncated, overwritten, not Parquet at all) fails the
// open with an error that errors.Is matches to ErrDamaged, if opts.FailOnDamage is set;
// otherwise the reader returns one dead letter for the whole file, or for its split of row
// groups, and ends.
func OpenParquet(path string, s *arrow.Schema, opts ReadOptions) (Reader, error) {
	r, err := openParquet(path, s, opts)
	if errors.Is(err, ErrDamaged) && !opts.FailOnDamage {
		return newDamagedParquet(path, opts, err)
	}
	if err != nil {
		return nil, err
	}
	return r, nil
}

// openParquet is OpenParquet returning the reader as it is.
func openParquet(path string, s *arrow.Schema, opts ReadOptions) (*parquetReader, error) {
	opts = opts.withDefaults()
	f, err := os.Open(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("open parquet %q: %w", path, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("open parquet %q: %w", path, err)
	}
	r, err := newParquetReader(f, st.Size(), path, s, opts)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("open parquet %q: %w", path, err)
	}
	return r, nil
}

// parquetReader reads one file row group by row group.
type parquetReader struct {
	path   string
	schema *arrow.Schema
	opts   ReadOptions
	f      parquetFile
	in     *countingFile // f as pf reads it, counting the bytes of column chunks
	pf     *file.Reader
	fr     *pqarrow.FileReader
	cols   []parquetColumn

	rowGroup  int            // the row group being read, or the next one
	row       int64          // next row within rowGroup
	groupRows int64          // rows in rowGroup, once it is open
	readers   []columnReader // per column of the schema; nil for columns the file lacks
	err       error
}

// parquetColumn is one column of the reader's schema and where it comes from.
type parquetColumn struct {
	field   arrow.Field
	field0  int          // index of the file's top-level field, -1 if the file lacks it
	leaves  map[int]bool // the file's leaf columns under that field
	flat    flatKind     // how a flat column is read straight into Arrow buffers, or flatNone
	convert parquetConvert
}

// parquetFile is what a Parquet reader reads: a file on disk, or a ParquetInput.
type parquetFile interface {
	io.ReaderAt
	Close() error
}

// newParquetReader reads the footer of f, size bytes long, and matches the columns of s to
// the file's by name. It fails if a required column is missing or a column's type does not
// convert to s's.
func newParquetReader(f parquetFile, size int64, path string, s *arrow.Schema, opts ReadOptions) (*parquetReader, error) {
	if err := checkParquetMagic(f, size); err != nil {
		return nil, &footerError{err}
	}
	props := parquet.NewReaderProperties(opts.Mem)
	props.BufferedStreamEnabled = true
	props.BufferSize = parquetReadBuffer
	in := &countingFile{f: io.NewSectionReader(f, 0, size)}
	pf, err := file.NewParquetReader(in, file.WithReadProps(props))
	if err != nil {
		return nil, &footerError{fmt.Errorf("read footer: %w", err)}
	}
	in.n.Store(0) // BytesRead counts row groups, not the footer
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: int64(opts.BatchRows)}, opts.Mem)
	if err != nil {
		return nil, fmt.Errorf("read schema: %w", err)
	}
	r := &parquetReader{path: path, schema: s, opts: opts, f: f, in: in, pf: pf, fr: fr, rowGroup: opts.RowGroups[0]}
	byName := make(map[string]int, len(fr.Manifest.Fields))
	for i, sf := range fr.Manifest.Fields {
		if _, dup := byName[sf.Field.Name]; !dup {
			byName[sf.Field.Name] = i
		}
	}
	for _, field := range s.Fields() {
		c := parquetColumn{field: field, field0: -1}
		i, ok := byName[field.Name]
		if !ok {
			if !field.Nullable {
				return nil, fmt.Errorf("required column %q (%s) is not in the file (it has %s)",
					field.Name, field.Type, fileColumnNames(fr))
			}
			r.cols = append(r.cols, c)
			continue
		}
		sf := &fr.Manifest.Fields[i]
		c.field0 = i
		c.leaves = map[int]bool{}
		collectLeaves(sf, c.leaves)
		c.flat = flatKindOf(sf, pf.MetaData().Schema)
		if c.convert, err = convertFor(field, sf.Field.Type); err != nil {
			return nil, fmt.Errorf("column %q: %w", field.Name, err)
		}
		r.cols = append(r.cols, c)
	}
	return r, nil
}

// ParquetRowGroups returns the number of rows in each row group of a Parquet file, read from
// its footer, so a reader of a large file can split it into ranges of row groups.
func ParquetRowGroups(path string) ([]int64, error) {
	groups, err := ParquetRowGroupSizes(path, nil)
	if err != nil {
		return nil, err
	}
	rows := make([]int64, len(groups))
	for i, g := range groups {
		rows[i] = g.Rows
	}
	return rows, nil
}

// RowGroupSize is what the footer of a Parquet file says of one of its row groups.
type RowGroupSize struct {
	Rows  int64 // rows in the row group
	Bytes int64 // compressed bytes of the column chunks a reader of the schema reads
	// TimeMins holds, for the top-level timestamp columns of the schema whose statistics
	// say it, the least value in the row group in milliseconds (rounded toward the past).
	TimeMins map[string]int64
}

// ParquetRowGroupSizes reads the footer of a Parquet file and returns each row group's rows
// and the compressed size of its column chunks under the top-level columns s names (every
// column when s is nil). A reader of s reads exactly those chunks, so its BytesRead grows by
// about Bytes for each row group it reads. A footer that cannot be read is an error that
// errors.Is matches to ErrDamaged.
func ParquetRowGroupSizes(path string, s *arrow.Schema) ([]RowGroupSize, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open parquet: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("open parquet %q: %w", path, err)
	}
	if err := checkParquetMagic(f, st.Size()); err != nil {
		return nil, fmt.Errorf("open parquet %q: %w", path, &footerError{err})
	}
	pf, err := file.NewParquetReader(f)
	if err != nil {
		return nil, fmt.Errorf("open parquet %q: read footer: %w", path, &footerError{err})
	}
	md := pf.MetaData()
	read := make([]bool, md.Schema.NumColumns()) // leaf columns a reader of s reads
	for i := range read {
		cp := md.Schema.Column(i).ColumnPath()
		read[i] = s == nil || len(cp) > 0 && len(s.FieldIndices(cp[0])) > 0
	}
	groups := make([]RowGroupSize, pf.NumRowGroups())
	for g := range groups {
		rg := md.RowGroup(g)
		groups[g].Rows = rg.NumRows()
		for i, ok := range read {
			if !ok {
				continue
			}
			cc, err := rg.ColumnChunk(i)
			if err != nil {
				return nil, fmt.Errorf("open parquet %q: row group %d: %w", path, g, err)
			}
			groups[g].Bytes += cc.TotalCompressedSize()
			col := md.Schema.Column(i)
			if s == nil || len(col.ColumnPath()) != 1 {
				continue
			}
			if fi := s.FieldIndices(col.Name()); len(fi) == 1 && s.Field(fi[0]).Type.ID() == arrow.TIMESTAMP {
				if ms, ok := timestampMin(cc, col); ok {
					if groups[g].TimeMins == nil {
						groups[g].TimeMins = map[string]int64{}
					}
					groups[g].TimeMins[col.Name()] = ms
				}
			}
		}
	}
	return groups, nil
}

// timestampMin is the least value of a column chunk of INT64 timestamps, from its
// statistics, in milliseconds rounded toward the past.
func timestampMin(cc *metadata.ColumnChunkMetaData, col *pqschema.Column) (int64, bool) {
	ts, ok := col.LogicalType().(pqschema.TimestampLogicalType)
	if !ok || col.PhysicalType() != parquet.Types.Int64 {
		return 0, false
	}
	if set, err := cc.StatsSet(); err != nil || !set {
		return 0, false
	}
	st, err := cc.Statistics()
	if err != nil || st == nil || !st.HasMinMax() {
		return 0, false
	}
	i64, ok := st.(*metadata.Int64Statistics)
	if !ok {
		return 0, false
	}
	v := i64.Min()
	per := map[pqschema.TimeUnitType]int64{pqschema.TimeUnitMillis: 1, pqschema.TimeUnitMicros: 1_000, pqschema.TimeUnitNanos: 1_000_000}[ts.TimeUnit()]
	if per == 0 {
		return 0, false
	}
	return civil.FloorDiv(v, per), true
}

// checkParquetMagic tells a file of size bytes that is not Parquet at all from a damaged one.
func checkParquetMagic(f io.ReaderAt, size int64) error {
	var head, tail [4]byte
	if size >= 12 {
		if _, err := f.ReadAt(head[:], 0); err != nil {
			return err
		}
		if _, err := f.ReadAt(tail[:], size-4); err != nil {
			return err
		}
	}
	switch {
	case string(head[:]) == "PAR1" && string(tail[:]) == "PAR1":
		return nil
	case string(tail[:]) == "PARE":
		return errors.New("encrypted Parquet files are not supported")
	case string(head[:]) == "PAR1":
		return fmt.Errorf("not a complete Parquet file: no footer (%d bytes; truncated or still being written?)", size)
	}
	return fmt.Errorf("not a Parquet file: it does not start and end with PAR1 (%d bytes)", size)
}

// collectLeaves adds the leaf column indexes under sf (sf itself, if it is a leaf) to into.
func collectLeaves(sf *pqarrow.SchemaField, into map[int]bool) {
	if sf.IsLeaf() {
		into[sf.ColIndex] = true
	}
	for i := range sf.Children {
		collectLeaves(&sf.Children[i], into)
	}
}

// fileColumnNames lists the file's top-level column names for an error message.
func fileColumnNames(fr *pqarrow.FileReader) string {
	names := make([]string, len(fr.Manifest.Fields))
	for i, sf := range fr.Manifest.Fields {
		names[i] = fmt.Sprintf("%q", sf.Field.Name)
	}
	if len(names) == 0 {
		return "no columns"
	}
	return strings.Join(names, ", ")
}

// Read returns the next batch of at most BatchRows rows of the current row group.
//
// A row group that cannot be decoded (a damaged page, a column chunk that ends early)
// becomes one dead letter naming the row group and the row where decoding stopped, and the
// read goes on with the next row group; the rows of the row group delivered before stay
// delivered. With opts.FailOnDamage it fails the read instead.
func (r *parquetReader) Read() (arrow.RecordBatch, []DeadLetter, error) {
	if r.err != nil {
		return nil, nil, r.err
	}
	rec, dead, err := r.readBatch()
	if err == nil || err == io.EOF {
		return rec, dead, err
	}
	if r.opts.FailOnDamage {
		return nil, nil, r.fail(err)
	}
	return nil, []DeadLetter{r.skipRowGroup(err)}, nil
}

// readBatch reads the next batch; an error leaves the open row group closed.
func (r *parquetReader) readBatch() (rec arrow.RecordBatch, dead []DeadLetter, err error) {
	// The decoders below belong to arrow-go and may panic on a damaged file; a damaged file is
	// bad input, which must fail this read with an error, not the process.
	defer func() {
		if p := recover(); p != nil {
			r.closeRowGroup()
			rec, dead, err = nil, nil, fmt.Errorf("damaged file: %v", p)
		}
	}()
	for r.readers == nil {
		if r.rowGroup >= r.endRowGroup() {
			return nil, nil, io.EOF
		}
		if err := r.openRowGroup(); err != nil {
			return nil, nil, err
		}
	}
	n := min(int64(r.opts.BatchRows), r.groupRows-r.row)
	raw := make([]arrow.Array, len(r.cols))
	defer releaseAll(raw)
	for i, c := range r.cols {
		if c.field0 < 0 {
			continue
		}
		if raw[i], err = r.readers[i].next(int(n), r.opts.Mem); err != nil {
			r.closeRowGroup()
			return nil, nil, fmt.Errorf("column %q: %w", c.field.Name, err)
		}
	}
	if rec, dead, err = r.assemble(raw, int(n)); err != nil {
		r.closeRowGroup()
		return nil, nil, err
	}
	r.row += n
	if r.row == r.groupRows {
		r.closeRowGroup()
		r.rowGroup++
		r.row = 0
	}
	return rec, dead, nil
}

// skipRowGroup gives up the row group where decoding failed with err: it returns the dead
// letter that says so and places the reader at the start of the next row group.
func (r *parquetReader) skipRowGroup(err error) DeadLetter {
	r.closeRowGroup()
	rows := r.pf.MetaData().RowGroup(r.rowGroup).NumRows()
	d := DeadLetter{File: r.path, RowGroup: r.rowGroup, Row: r.row,
		Reason: fmt.Sprintf("row group %d cannot be decoded from row %d: %v; its rows %d-%d are not read", r.rowGroup, r.row, err, r.row, rows-1)}
	// BytesRead goes on as if the row group had been read whole, so it still ends at the size
	// of the reader's row groups.
	var through int64
	for k := r.opts.RowGroups[0]; k <= r.rowGroup; k++ {
		n, err := r.chunkBytes(k)
		if err != nil {
			through = 0
			break
		}
		through += n
	}
	if through > r.in.n.Load() {
		r.in.n.Store(through)
	}
	r.rowGroup++
	r.row = 0
	return d
}

// endRowGroup is the row group after the last one this reader reads.
func (r *parquetReader) endRowGroup() int {
	if end := r.opts.RowGroups[1]; end > 0 {
		return min(end, r.pf.NumRowGroups())
	}
	return r.pf.NumRowGroups()
}

// fail makes err the reader's lasting error, saying where in the file it happened.
func (r *parquetReader) fail(err error) error {
	r.err = fmt.Errorf("read parquet %q: row group %d, row %d: %w", r.path, r.rowGroup, r.row, err)
	return r.err
}

// openRowGroup makes column readers for the row group r.rowGroup; an empty row group is skipped.
func (r *parquetReader) openRowGroup() error {
	r.groupRows = r.pf.MetaData().RowGroup(r.rowGroup).NumRows()
	r.row = 0
	if r.groupRows == 0 {
		r.rowGroup++
		return nil
	}
	readers := make([]columnReader, len(r.cols))
	for i, c := range r.cols {
		if c.field0 < 0 {
			continue
		}
		cr, err := r.columnReader(c)
		if err != nil {
			for _, cr := range readers {
				if cr != nil {
					cr.release()
				}
			}
			return fmt.Errorf("column %q: %w", c.field.Name, err)
		}
		readers[i] = cr
	}
	r.readers = readers
	return nil
}

// closeRowGroup releases the column readers of the open row group, if any.
func (r *parquetReader) closeRowGroup() {
	for _, cr := range r.readers {
		if cr != nil {
			cr.release()
		}
	}
	r.readers = nil
}

// assemble converts the columns read from the file into a batch of the reader's schema; rows
// with a value that does not convert become dead letters instead.
func (r *parquetReader) assemble(raw []arrow.Array, n int) (arrow.RecordBatch, []DeadLetter, error) {
	out := make([]arrow.Array, len(r.cols))
	defer releaseAll(out)
	fl := rowFaults{mem: r.opts.Mem, rows: n}
	for i, c := range r.cols {
		fl.col = c.field.Name
		if c.field0 < 0 {
			out[i] = array.MakeArrayOfNull(r.opts.Mem, c.field.Type, n)
			continue
		}
		var err error
		if out[i], err = c.convert(raw[i], &fl); err != nil {
			return nil, nil, fmt.Errorf("column %q: %w", c.field.Name, err)
		}
	}
	if fl.reasons == nil {
		return array.NewRecordBatch(r.schema, out, int64(n)), nil, nil
	}
	var dead []DeadLetter
	var keep [][2]int // kept row ranges [from, to)
	var buf []byte
	for row, reason := range fl.reasons {
		if reason == "" {
			if len(keep) > 0 && keep[len(keep)-1][1] == row {
				keep[len(keep)-1][1]++
			} else {
				keep = append(keep, [2]int{row, row + 1})
			}
			continue
		}
		buf = r.appendRawRow(buf[:0], raw, row)
		dead = append(dead, DeadLetter{
			File:     r.path,
			RowGroup: r.rowGroup,
			Row:      r.row + int64(row),
			Raw:      bytes.Clone(buf),
			Reason:   reason,
		})
	}
	if len(keep) == 0 {
		return nil, dead, nil
	}
	kept := 0
	for _, k := range keep {
		kept += k[1] - k[0]
	}
	for i, a := range out {
		parts := make([]arrow.Array, len(keep))
		for j, k := range keep {
			parts[j] = array.NewSlice(a, int64(k[0]), int64(k[1]))
		}
		var err error
		out[i], err = array.Concatenate(parts, r.opts.Mem)
		releaseAll(parts)
		a.Release()
		if err != nil {
			return nil, nil, fmt.Errorf("column %q: drop dead rows: %w", r.cols[i].field.Name, err)
		}
	}
	return array.NewRecordBatch(r.schema, out, int64(kept)), dead, nil
}

// appendRawRow appends row of the columns as read from the file as one JSON object, with the
// file's values (before any conversion) under the schema's column names.
func (r *parquetReader) appendRawRow(dst []byte, raw []arrow.Array, row int) []byte {
	dst = append(dst, '{')
	first := true
	for i, c := range r.cols {
		if raw[i] == nil {
			continue
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = appendJSONString(dst, c.field.Name)
		dst = append(dst, ':')
		dst = appendRawJSON(dst, raw[i], row)
	}
	return append(dst, '}')
}

// BytesRead is how many bytes of column chunks the reader has read from the file.
func (r *parquetReader) BytesRead() int64 { return r.in.n.Load() }

// Position is the row group and row of the next row Read decodes.
func (r *parquetReader) Position() Position {
	return Position{File: r.path, RowGroup: r.rowGroup, Row: r.row}
}

// Close releases the column readers and closes the file.
func (r *parquetReader) Close() error {
	r.closeRowGroup()
	if r.f == nil {
		return nil
	}
	err := r.f.Close()
	r.f = nil
	if r.err == nil {
		r.err = fmt.Errorf("read parquet %q: reader is closed", r.path)
	}
	if err != nil {
		return fmt.Errorf("close parquet %q: %w", r.path, err)
	}
	return nil
}

// releaseAll releases the arrays of arrs that are set and clears their slots.
func releaseAll(arrs []arrow.Array) {
	for i, a := range arrs {
		if a != nil {
			a.Release()
			arrs[i] = nil
		}
	}
}
