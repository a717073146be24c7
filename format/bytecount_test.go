package format

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"millrace/schema"
	"millrace/vfs"
)

// readCounting reads r to io.EOF, checking on the way that BytesRead never falls and never
// passes most, and returns the rows read and the last count.
func readCounting(t *testing.T, r Reader, most int64) (rows int64, n int64) {
	t.Helper()
	bc, ok := r.(ByteCounter)
	if !ok {
		t.Fatalf("%T is not a ByteCounter", r)
	}
	for {
		rec, _, err := r.Read()
		if got := bc.BytesRead(); got < n || got > most {
			t.Fatalf("BytesRead went from %d to %d (most %d)", n, got, most)
		} else {
			n = got
		}
		if err == io.EOF {
			return rows, n
		}
		if err != nil {
			t.Fatal(err)
		}
		if rec != nil {
			rows += rec.NumRows()
			rec.Release()
		}
	}
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}

// TestTextReadersCountTheFilesBytes reads text files larger than the buffers they are read
// through, so in several reads, and wants every byte of the file, as stored, counted by the end.
func TestTextReadersCountTheFilesBytes(t *testing.T) {
	const rows = 20_000
	rec := sampleTransactions(t, memory.DefaultAllocator, rows)
	defer rec.Release()
	dir := t.TempDir()
	for _, name := range []string{"tx.jsonl", "tx.jsonl.gz", "tx.csv", "tx.csv.zst"} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(dir, name)
			w, err := Create(vfs.OSFS{}, path, "", rec.Schema(), WriteOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if err := w.Write(rec); err != nil {
				t.Fatal(err)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			size := fileSize(t, path)
			r, err := Open(path, "", rec.Schema(), ReadOptions{BatchRows: 1000})
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			if got := r.(ByteCounter).BytesRead(); got > size {
				t.Fatalf("BytesRead %d after open, more than the file's %d bytes", got, size)
			}
			got, n := readCounting(t, r, size)
			if got != rows || n != size {
				t.Fatalf("read %d rows and counted %d bytes, want %d rows and the file's %d bytes", got, n, rows, size)
			}
		})
	}
}

func TestTextReaderOverAnyInputCountsItsBytes(t *testing.T) {
	input := "tx_id,amount\na,1.00\nb,2.00\n\nc,3.00\n"
	s := arrow.NewSchema([]arrow.Field{{Name: "tx_id", Type: arrow.BinaryTypes.String}, {Name: "amount", Type: schema.Amount}}, nil)
	r, err := NewCSVReader(bytes.NewReader([]byte(input)), "in.csv", s, ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rows, n := readCounting(t, r, int64(len(input))); rows != 3 || n != int64(len(input)) {
		t.Fatalf("%d rows, %d bytes counted; want 3 rows and %d bytes", rows, n, len(input))
	}
	input = `{"tx_id":"a","amount":1}` + "\n"
	r, err = NewJSONLReader(bytes.NewReader([]byte(input)), "in.jsonl", s, ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rows, n := readCounting(t, r, int64(len(input))); rows != 1 || n != int64(len(input)) {
		t.Fatalf("%d rows, %d bytes counted; want 1 row and %d bytes", rows, n, len(input))
	}
}

// TestParquetReaderCountsItsColumnChunks wants a Parquet reader to count exactly the column
// chunks it reads, as the footer sizes them: the whole file but its footer and magic, a range
// of row groups, or the columns of a projection.
func TestParquetReaderCountsItsColumnChunks(t *testing.T) {
	const rows = 20_000
	rec := sampleTransactions(t, memory.DefaultAllocator, rows)
	defer rec.Release()
	path := writeParquetFile(t, rec, 4096, WriteOptions{RowGroupRows: 5000})
	size := fileSize(t, path)
	full := schema.Transaction()
	groups, err := ParquetRowGroupSizes(path, full)
	if err != nil {
		t.Fatal(err)
	}
	if len(groups) != 4 {
		t.Fatalf("%d row groups, want 4", len(groups))
	}
	var total int64
	for _, g := range groups {
		if g.Rows != 5000 || g.Bytes <= 0 {
			t.Fatalf("row groups %+v", groups)
		}
		total += g.Bytes
	}
	// The chunks are the file but its magic numbers and footer, which is small next to the data.
	if total > size-12 || total < size/2 {
		t.Fatalf("column chunks hold %d bytes of the %d-byte file", total, size)
	}
	read := func(s *arrow.Schema, opts ReadOptions) (int64, int64) {
		t.Helper()
		r, err := OpenParquet(path, s, opts)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		if n := r.(ByteCounter).BytesRead(); n != 0 {
			t.Fatalf("BytesRead %d after open, want 0: the footer is not counted", n)
		}
		return readCounting(t, r, size)
	}

	if got, n := read(full, ReadOptions{}); got != rows || n != total {
		t.Errorf("whole file: %d rows, %d bytes counted; want %d rows and %d bytes", got, n, rows, total)
	}
	if got, n := read(full, ReadOptions{RowGroups: [2]int{1, 3}}); got != 10_000 || n != groups[1].Bytes+groups[2].Bytes {
		t.Errorf("row groups 1 and 2: %d rows, %d bytes counted; want 10000 rows and %d bytes", got, n, groups[1].Bytes+groups[2].Bytes)
	}
	proj := arrow.NewSchema([]arrow.Field{
		{Name: "amount", Type: schema.Amount},
		{Name: "note", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "tx_id", Type: arrow.BinaryTypes.String},
	}, nil)
	pgroups, err := ParquetRowGroupSizes(path, proj)
	if err != nil {
		t.Fatal(err)
	}
	var ptotal int64
	for _, g := range pgroups {
		ptotal += g.Bytes
	}
	if ptotal <= 0 || ptotal >= total {
		t.Fatalf("projection's chunks hold %d bytes, want between 0 and all chunks' %d", ptotal, total)
	}
	if got, n := read(proj, ReadOptions{}); got != rows || n != ptotal {
		t.Errorf("projection: %d rows, %d bytes counted; want %d rows and %d bytes", got, n, rows, ptotal)
	}
}

func TestOpenAllCountsEveryFile(t *testing.T) {
	rec := sampleTransactions(t, memory.DefaultAllocator, 300)
	defer rec.Release()
	dir := t.TempDir()
	var total int64
	for _, name := range []string{"a.jsonl", "b.csv.gz"} {
		path := filepath.Join(dir, name)
		w, err := Create(vfs.OSFS{}, path, "", rec.Schema(), WriteOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Write(rec); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		total += fileSize(t, path)
	}
	r, err := OpenAll(dir, "", rec.Schema(), ReadOptions{BatchRows: 100})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if rows, n := readCounting(t, r, total); rows != 600 || n != total {
		t.Fatalf("%d rows, %d bytes counted; want 600 rows and %d bytes", rows, n, total)
	}
}
