package format

import (
	"errors"
	"fmt"
	"io"

	"github.com/apache/arrow-go/v18/arrow"
)

// ParquetInput is a Parquet file that is not a file on the local disk, such as an object of
// an object store read through ranged requests. The reader reads the footer at its end and
// then, row group by row group, the column chunks its schema names.
type ParquetInput interface {
	io.ReaderAt
	// Size is the length of the file in bytes.
	Size() int64
	// Close releases what the input holds; the reader given the input calls it once, from
	// its own Close.
	Close() error
}

// OpenParquetInput is OpenParquet over in: name stands for the file in positions, dead
// letters and errors. The reader closes in when it is closed, or when the open fails.
func OpenParquetInput(in ParquetInput, name string, s *arrow.Schema, opts ReadOptions) (Reader, error) {
	r, err := openParquetInput(in, name, s, opts)
	if errors.Is(err, ErrDamaged) && !opts.FailOnDamage {
		return damagedParquetOf(name, in.Size(), opts, err), nil
	}
	if err != nil {
		return nil, err
	}
	return r, nil
}

// OpenParquetInputAt is OpenAt for a ParquetInput: the reader is placed at row group
// pos.RowGroup, row pos.Row, as a reader of the same input and opts.RowGroups said.
func OpenParquetInputAt(in ParquetInput, name string, s *arrow.Schema, opts ReadOptions, pos Position) (Reader, error) {
	if pos.File != "" && pos.File != name {
		return nil, errors.Join(fmt.Errorf("open %q at a position of %q", name, pos.File), in.Close())
	}
	if pos.Offset != 0 || pos.Line != 0 {
		return nil, errors.Join(fmt.Errorf("open parquet %q: byte %d, line %d is a text position", name, pos.Offset, pos.Line), in.Close())
	}
	r, err := openParquetInput(in, name, s, opts)
	if errors.Is(err, ErrDamaged) && !opts.FailOnDamage {
		d := damagedParquetOf(name, in.Size(), opts, err)
		d.done = pos.RowGroup > d.first || pos.Row > 0
		return d, nil
	}
	if err != nil {
		return nil, err
	}
	if err := r.seek(pos.RowGroup, pos.Row); err != nil {
		return nil, errors.Join(fmt.Errorf("open parquet %q at row group %d, row %d: %w", name, pos.RowGroup, pos.Row, err), r.Close())
	}
	return r, nil
}

// openParquetInput is OpenParquetInput returning the reader as it is; it closes in when it
// fails.
func openParquetInput(in ParquetInput, name string, s *arrow.Schema, opts ReadOptions) (*parquetReader, error) {
	r, err := newParquetReader(in, in.Size(), name, s, opts.withDefaults())
	if err != nil {
		return nil, errors.Join(fmt.Errorf("open parquet %q: %w", name, err), in.Close())
	}
	return r, nil
}
