package source

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"millrace/format"
)

// positionVersion is the version of the positions this package encodes and the only one
// it decodes.
const positionVersion = 1

// filePosition is where a file partition's next Read starts, as its Checkpoint encodes it: a
// small JSON object naming the file as the source lists it. A text file (JSONL or CSV, plain
// or compressed) gives the byte offset in its decompressed stream where the next record
// starts and that byte's 1-based line:
//
//	{"v":1,"file":"data/tx.jsonl.gz","offset":48213,"line":311}
//
// The line is left out where the reader has not counted it: a reader of a byte range of a
// JSONL file counts the lines before its range only when it needs a line number.
//
//	{"v":1,"file":"data/tx.jsonl","offset":201326613}
//
// A Parquet split gives the row group of the file (not of the split) and the row within it:
//
//	{"v":1,"file":"data/tx.parquet","row_group":3,"row":16384}
//
// At the end of a partition the position is the end of the file (the stream's length and
// one line past its last) or the row group after the split's last, row 0. A compressed text
// file that cannot be decoded past a point ends there, and its position says so:
//
//	{"v":1,"file":"data/tx.jsonl.gz","offset":48213,"line":311,"damaged":true}
type filePosition struct {
	V        int    `json:"v"`
	File     string `json:"file"`
	Offset   *int64 `json:"offset,omitempty"`
	Line     *int64 `json:"line,omitempty"`
	RowGroup *int   `json:"row_group,omitempty"`
	Row      *int64 `json:"row,omitempty"`
	// Damaged marks a text file found damaged at Offset: its reader reported the rest as a
	// dead letter and has ended.
	Damaged bool `json:"damaged,omitempty"`
}

// encodeFilePosition encodes a reader's position: a Parquet one when parquet is set, a text
// one otherwise.
func encodeFilePosition(p format.Position, parquet bool) ([]byte, error) {
	fp := filePosition{V: positionVersion, File: p.File}
	if parquet {
		fp.RowGroup, fp.Row = &p.RowGroup, &p.Row
	} else {
		fp.Offset, fp.Damaged = &p.Offset, p.Damaged
		if p.Line > 0 {
			fp.Line = &p.Line
		}
	}
	return json.Marshal(fp)
}

// decodeFilePosition decodes a position of file name, a Parquet one when parquet is set,
// and says what is wrong with one that is not such a position.
func decodeFilePosition(data []byte, name string, parquet bool) (format.Position, error) {
	var fp filePosition
	if err := DecodePosition(data, &fp); err != nil {
		return format.Position{}, err
	}
	if fp.V != positionVersion {
		return format.Position{}, fmt.Errorf("version %d, want %d", fp.V, positionVersion)
	}
	if fp.File != name {
		return format.Position{}, fmt.Errorf("it is a position in %q, not in %q", fp.File, name)
	}
	p := format.Position{File: fp.File}
	if parquet {
		if fp.Offset != nil || fp.Line != nil || fp.RowGroup == nil || fp.Row == nil {
			return p, errors.New("a Parquet file's position has a row_group and a row, and no offset or line")
		}
		if fp.Damaged {
			return p, errors.New("a Parquet file's position is never damaged: its damaged row groups are skipped")
		}
		if *fp.RowGroup < 0 || *fp.Row < 0 {
			return p, fmt.Errorf("row group %d, row %d: negative", *fp.RowGroup, *fp.Row)
		}
		p.RowGroup, p.Row = *fp.RowGroup, *fp.Row
		return p, nil
	}
	if fp.Offset == nil || fp.RowGroup != nil || fp.Row != nil {
		return p, errors.New("a text file's position has an offset and a line (a split's may lack the line), and no row_group or row")
	}
	if fp.Line != nil {
		p.Line = *fp.Line
		if p.Line < 1 {
			return p, fmt.Errorf("offset %d, line %d: want a line from 1", *fp.Offset, p.Line)
		}
	}
	if *fp.Offset < 0 {
		return p, fmt.Errorf("offset %d: want an offset from 0", *fp.Offset)
	}
	p.Offset, p.Damaged = *fp.Offset, fp.Damaged
	return p, nil
}

// genPosition is where a generator partition's next Read starts, as its Checkpoint encodes
// it: the stream (seed, partition, number of partitions, and the event time it started at,
// which paced mode takes from the clock) and the rows it has delivered:
//
//	{"v":1,"seed":1,"partition":0,"partitions":4,"start":"2024-01-01T00:00:00Z","rows":16384}
type genPosition struct {
	V          int        `json:"v"`
	Seed       *int64     `json:"seed"`
	Partition  *int       `json:"partition"`
	Partitions *int       `json:"partitions"`
	Start      *time.Time `json:"start"`
	Rows       *int64     `json:"rows"`
}

// decodeGenPosition decodes a generator position and checks every field is there.
func decodeGenPosition(data []byte) (genPosition, error) {
	var gp genPosition
	if err := DecodePosition(data, &gp); err != nil {
		return gp, err
	}
	if gp.V != positionVersion {
		return gp, fmt.Errorf("version %d, want %d", gp.V, positionVersion)
	}
	if gp.Seed == nil || gp.Partition == nil || gp.Partitions == nil || gp.Start == nil || gp.Rows == nil {
		return gp, errors.New("a generator's position has a seed, partition, partitions, start and rows")
	}
	if *gp.Rows < 0 {
		return gp, fmt.Errorf("rows %d: negative", *gp.Rows)
	}
	return gp, nil
}

// DecodePosition decodes a position a reader's Checkpoint encoded as one JSON object into v,
// refusing an empty one, unknown keys and anything after the object: connectors encode
// their positions so, and check what is in them after this.
func DecodePosition(data []byte, v any) error {
	if len(bytes.TrimSpace(data)) == 0 {
		return errors.New("empty position")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("not a position: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("not a position: text after the JSON object")
	}
	return nil
}
