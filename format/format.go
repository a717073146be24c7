// Package format decodes records from files into Arrow record batches and encodes batches back
// into files: JSONL, CSV and Parquet, plain or compressed with gzip or zstd.
//
// Readers stream: they hold one batch and a bounded read buffer, never a whole file. A record
// that cannot be decoded does not stop a read and is never dropped: it becomes a DeadLetter with
// its raw bytes, where it came from and why it was refused. So for every reader
//
//	records in the input = rows in the batches + dead letters
//
// Blank lines in text formats are not records. Where the input itself is damaged (a
// compressed stream that cannot be decoded past a point, a Parquet row group that cannot be
// decoded), the records lost there are unknown in number: the damaged region is one dead
// letter, and the read goes on after it (see damage.go).
package format

import (
	"fmt"
	"io"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// Kind names a file format.
type Kind string

// The formats millrace reads and writes.
const (
	JSONL   Kind = "jsonl"
	CSV     Kind = "csv"
	Parquet Kind = "parquet"
)

// Kinds lists the formats in the order help texts show them.
var Kinds = []Kind{JSONL, CSV, Parquet}

// ParseKind parses a format name as a user types it.
func ParseKind(s string) (Kind, error) {
	switch s {
	case "jsonl", "json", "ndjson":
		return JSONL, nil
	case "csv":
		return CSV, nil
	case "parquet":
		return Parquet, nil
	}
	return "", fmt.Errorf("unknown format %q (want jsonl, csv or parquet)", s)
}

// Position is where a reader stands in its input: the next record it will decode starts there.
// Text formats count bytes of the decompressed stream and lines from 1; Parquet counts row
// groups and rows within the row group from 0.
type Position struct {
	File     string
	Offset   int64 // byte offset of the decompressed stream (text formats)
	Line     int64 // 1-based line number (text formats); 0 when not yet known (see ReadOptions.Bytes)
	RowGroup int   // row group index (Parquet)
	Row      int64 // row within the row group (Parquet)
	// Damaged says the text input cannot be decoded from Offset on: its reader made the rest
	// of the file a dead letter and reads nothing more. OpenAt places a reader there as one
	// that has ended.
	Damaged bool
}

// Reader decodes one input into record batches.
type Reader interface {
	// Read returns the next batch and the dead letters met while decoding it. The batch is nil
	// when a read produced only dead letters. The caller owns the batch and releases it. Read
	// returns io.EOF, and nothing else, after the input's last record; any other error is
	// fatal for this input (the file cannot be opened or read, its header is unusable).
	Read() (arrow.RecordBatch, []DeadLetter, error)
	// Position is where the next Read starts.
	Position() Position
	// Close releases the input.
	Close() error
}

// LineReader is a Reader of a text format that can say where each row came from.
type LineReader interface {
	Reader
	// Lines gives the 1-based input line of each row of the batch the last Read returned,
	// valid until the next Read. A reader of a byte range of a file (ReadOptions.Bytes)
	// counts the lines before its range the first time it is asked, which may fail as a
	// read of the file does.
	Lines() ([]int64, error)
}

// Writer encodes batches into one output.
type Writer interface {
	// Write appends the rows of rec, whose schema must be the writer's schema.
	Write(rec arrow.RecordBatch) error
	// Close flushes everything buffered and closes the output. A writer created for a path
	// publishes the file only here, atomically.
	Close() error
}

// ReadOptions tunes readers.
type ReadOptions struct {
	// BatchRows is the most rows a batch holds (default 16384).
	BatchRows int
	// Mem allocates batch buffers (default memory.DefaultAllocator).
	Mem memory.Allocator
	// MaxRecordBytes bounds one text record; a longer one becomes a dead letter (default 16 MiB).
	MaxRecordBytes int
	// RowGroups, when its end is positive, limits a Parquet read to row groups
	// [RowGroups[0], RowGroups[1]): a split of the file that one reader takes.
	RowGroups [2]int
	// Bytes, when its end is positive, limits a read of an uncompressed JSONL file to the
	// lines that start in bytes [Bytes[0], Bytes[1]) of it: a split of the file that one
	// reader takes (see byterange.go). Such a reader knows the numbers of its lines only
	// when it has counted the lines before its range, which it does the first time a dead
	// letter, Lines or an error needs one; until then its Position's Line is 0. Its
	// BytesRead counts from Bytes[0]. CSV and compressed files are not read by ranges.
	Bytes [2]int64
	// FailOnDamage makes a file or Parquet row group that cannot be decoded past a point (a
	// truncated or corrupt .gz or .zst, a damaged Parquet page) fail the read. By default it
	// becomes one dead letter that names the file, where decoding stopped and why, and the
	// read goes on with the next row group, or ends the file.
	FailOnDamage bool
	// Zone is the time zone of JSONL and CSV timestamps written without an offset
	// (`2026-03-02 00:00:01.494`); nil means UTC.
	Zone *time.Location
}

func (o ReadOptions) withDefaults() ReadOptions {
	if o.BatchRows <= 0 {
		o.BatchRows = 16384
	}
	if o.Mem == nil {
		o.Mem = memory.DefaultAllocator
	}
	if o.MaxRecordBytes <= 0 {
		o.MaxRecordBytes = 16 << 20
	}
	return o
}

// Compression names a Parquet page codec.
type Compression string

// The Parquet codecs a writer offers.
const (
	Zstd         Compression = "zstd"
	Snappy       Compression = "snappy"
	Uncompressed Compression = "none"
)

// WriteOptions tunes writers.
type WriteOptions struct {
	// Compression is the Parquet codec (default zstd).
	Compression Compression
	// RowGroupRows is the most rows a Parquet row group holds (default 1,048,576).
	RowGroupRows int64
}

func (o WriteOptions) withDefaults() WriteOptions {
	if o.Compression == "" {
		o.Compression = Zstd
	}
	if o.RowGroupRows <= 0 {
		o.RowGroupRows = 1 << 20
	}
	return o
}

// drain reads r to the end, calling fn for each batch and dead letter. It is a convenience for
// tools and tests; engines read batch by batch.
func drain(r Reader, fn func(arrow.RecordBatch, []DeadLetter) error) error {
	for {
		rec, dead, err := r.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		ferr := fn(rec, dead)
		if rec != nil {
			rec.Release()
		}
		if ferr != nil {
			return ferr
		}
	}
}
