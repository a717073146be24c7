package format

import (
	"io"
	"sync/atomic"
)

// ByteCounter is a Reader that says how many bytes of its file it has consumed.
//
// Every Reader this package returns is one; progress and backlog are measured with it. A text
// reader counts the bytes it has taken from its input as stored, before decompression, so by
// io.EOF the count is the size of the file (of the input, for NewJSONLReader and NewCSVReader
// over any io.Reader). A Parquet reader counts the bytes of the column chunks it has read and
// not its footer, so by io.EOF the count is the compressed size of the column chunks of its
// row groups that its schema names (see ParquetRowGroupSizes). The count runs ahead of
// Position: inputs are read in large blocks, and a zstd decoder reads ahead on its own.
type ByteCounter interface {
	BytesRead() int64
}

// The Readers of this package.
var (
	_ ByteCounter = (*jsonlReader)(nil)
	_ ByteCounter = (*csvReader)(nil)
	_ ByteCounter = (*parquetReader)(nil)
	_ ByteCounter = (*multiReader)(nil)
)

// bytesRead is r's BytesRead, or 0 for a nil r or one that does not count.
func bytesRead(r Reader) int64 {
	if bc, ok := r.(ByteCounter); ok {
		return bc.BytesRead()
	}
	return 0
}

// countingReader counts the bytes read through it. The count is atomic because a zstd decoder
// reads its input on a goroutine of its own; one add per read of a large block costs nothing
// next to decoding the block.
type countingReader struct {
	r      io.Reader
	n      atomic.Int64
	failed atomic.Bool // a read failed with an error other than io.EOF
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	if err != nil && err != io.EOF {
		c.failed.Store(true)
	}
	return n, err
}

// countedInput returns what a text reader reads from r and the counter of the bytes it
// consumes. For an input Open made, that is the file's own bytes, counted below the
// decompressor; for any other r, the bytes taken from r.
func countedInput(r io.Reader) (io.Reader, *countingReader) {
	if d, ok := r.(*decompressor); ok {
		return d, d.file
	}
	c := &countingReader{r: r}
	return c, c
}

// countingFile counts the bytes a Parquet file reader reads from f. The file reader only calls
// ReadAt and Seek.
type countingFile struct {
	f *io.SectionReader
	n atomic.Int64
}

func (c *countingFile) ReadAt(p []byte, off int64) (int, error) {
	n, err := c.f.ReadAt(p, off)
	c.n.Add(int64(n))
	return n, err
}

func (c *countingFile) Seek(offset int64, whence int) (int64, error) {
	return c.f.Seek(offset, whence)
}
