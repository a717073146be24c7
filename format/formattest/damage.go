// Package formattest damages files the way disks and interrupted writers do, for tests of
// what millrace makes of them.
package formattest

import (
	"bytes"
	"os"
	"testing"

	"github.com/apache/arrow-go/v18/parquet/file"
)

// DamagePage overwrites the first bytes of the data page of column col in row group g of
// the Parquet file at path, so that the page no longer decodes while the footer still
// reads.
func DamagePage(tb testing.TB, path string, g, col int) {
	tb.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	pf, err := file.NewParquetReader(f)
	if err != nil {
		tb.Fatal(err)
	}
	cc, err := pf.MetaData().RowGroup(g).ColumnChunk(col)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := f.WriteAt(bytes.Repeat([]byte{0xa5}, 24), cc.DataPageOffset()); err != nil {
		tb.Fatal(err)
	}
}
