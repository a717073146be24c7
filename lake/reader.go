package lake

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"millrace/format"
	"millrace/source"
)

// position is where a work item's next Read starts, as its reader's Checkpoint encodes it:
// the file's key in the lake, the row group of the file (not of the item) and the row
// within it, as a file source gives a Parquet file's.
//
//	{"v":1,"file":"year=2026/month=03/part-0.parquet","row_group":3,"row":16384}
//
// At the end of an item the position is the row group after its last, row 0.
type position struct {
	V        int    `json:"v"`
	File     string `json:"file"`
	RowGroup *int   `json:"row_group"`
	Row      *int64 `json:"row"`
}

// positionVersion is the version of the positions the lake encodes and the only one it
// decodes.
const positionVersion = 1

// Open opens work item partition at its start when pos is nil, else where pos, which
// Checkpoint of a reader of the item returned, says its next Read starts: row groups before
// it are not read, and the rows of its row group before it are decoded and dropped. A
// position of another file, outside the item, or one that does not decode is an error naming
// the item. ctx covers this call only; the reader fetches row groups on its own goroutine
// until it is closed.
func (s *Source) Open(_ context.Context, partition int, pos []byte) (source.PartitionReader, error) {
	if partition < 0 || partition >= len(s.items) {
		return nil, fmt.Errorf("lake %s: no partition %d (it has %d)", s.store, partition, len(s.items))
	}
	it := s.items[partition]
	f := s.files[it.file]
	opts := s.opts.Read
	opts.RowGroups = [2]int{it.first, it.end}
	in := newObject(s.store, f, it.first, it.end)
	var r format.Reader
	var err error
	if pos == nil {
		r, err = format.OpenParquetInput(in, f.key, s.fileCols, opts)
	} else {
		var at format.Position
		if at, err = decodePosition(pos, f.key); err != nil {
			_ = in.Close() // nothing was read
			return nil, fmt.Errorf("lake %s partition %d (%s): resume: %w", s.store, partition, f.key, err)
		}
		r, err = format.OpenParquetInputAt(in, f.key, s.fileCols, opts, at)
	}
	if err != nil {
		return nil, fmt.Errorf("lake %s partition %d: %w", s.store, partition, err)
	}
	return &reader{Reader: r, src: s, file: f}, nil
}

// decodePosition decodes a position in the file key.
func decodePosition(data []byte, key string) (format.Position, error) {
	var p position
	if err := source.DecodePosition(data, &p); err != nil {
		return format.Position{}, err
	}
	switch {
	case p.V != positionVersion:
		return format.Position{}, fmt.Errorf("version %d, want %d", p.V, positionVersion)
	case p.File != key:
		return format.Position{}, fmt.Errorf("it is a position in %q, not in %q", p.File, key)
	case p.RowGroup == nil || p.Row == nil:
		return format.Position{}, errors.New("a lake position has a row_group and a row")
	case *p.RowGroup < 0 || *p.Row < 0:
		return format.Position{}, fmt.Errorf("row group %d, row %d: negative", *p.RowGroup, *p.Row)
	}
	return format.Position{File: key, RowGroup: *p.RowGroup, Row: *p.Row}, nil
}

// reader reads a work item and adds the file's partition values to its rows.
type reader struct {
	format.Reader
	src  *Source
	file *file
}

// Read returns the next batch of the item, with the columns of the source's schema.
func (r *reader) Read(context.Context) (arrow.RecordBatch, []format.DeadLetter, error) {
	rec, dead, err := r.Reader.Read()
	if rec == nil || err != nil {
		return rec, dead, err
	}
	defer rec.Release()
	n := int(rec.NumRows())
	cols := make([]arrow.Array, r.src.schema.NumFields())
	defer func() {
		for _, c := range cols {
			if c != nil {
				c.Release()
			}
		}
	}()
	next := 0
	for i, level := range r.src.partOf {
		if level < 0 {
			cols[i] = rec.Column(next)
			cols[i].Retain()
			next++
			continue
		}
		a, err := partitionArray(r.src.opts.Read.Mem, r.src.opts.Partitioning[level], r.file.values[level], n)
		if err != nil {
			return nil, nil, fmt.Errorf("lake %s: %s: %w", r.src.store, r.file.key, err)
		}
		cols[i] = a
	}
	return array.NewRecordBatch(r.src.schema, cols, int64(n)), dead, nil
}

// Checkpoint encodes where the next Read starts, for Open.
func (r *reader) Checkpoint() ([]byte, error) {
	p := r.Position()
	return json.Marshal(position{V: positionVersion, File: r.file.key, RowGroup: &p.RowGroup, Row: &p.Row})
}

// Progress gives the bytes of column chunks the reader has consumed.
func (r *reader) Progress() source.Progress {
	var p source.Progress
	if bc, ok := r.Reader.(format.ByteCounter); ok {
		p.BytesRead = bc.BytesRead()
	}
	return p
}
