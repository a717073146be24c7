package format

import (
	"bytes"
	"errors"
	"io"
	"os"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"millrace/schema"
)

// bytesInput is a ParquetInput over bytes in memory that counts its reads and its closes.
type bytesInput struct {
	*bytes.Reader
	reads, closes int
}

func (b *bytesInput) ReadAt(p []byte, off int64) (int, error) {
	b.reads++
	return b.Reader.ReadAt(p, off)
}

func (b *bytesInput) Close() error { b.closes++; return nil }

func TestParquetInputReadsAsTheFileDoes(t *testing.T) {
	rec := sampleTransactions(t, memory.DefaultAllocator, 25)
	defer rec.Release()
	path := writeParquetFile(t, rec, 25, WriteOptions{RowGroupRows: 10})
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	opts := ReadOptions{BatchRows: 4, RowGroups: [2]int{1, 3}}
	want, _ := readParquetAll(t, path, schema.Transaction(), opts)
	defer want.Release()

	in := &bytesInput{Reader: bytes.NewReader(data)}
	r, err := OpenParquetInputAt(in, "lake/tx.parquet", schema.Transaction(), opts, Position{RowGroup: 1, Row: 3})
	if err != nil {
		t.Fatal(err)
	}
	var rows int64
	var got []Position
	for {
		b, _, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		rows += b.NumRows()
		got = append(got, r.Position())
		b.Release()
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	// Row groups 1 and 2 hold 10 and 5 rows; the read starts 3 rows into the first.
	if rows != want.NumRows()-3 || want.NumRows() != 15 {
		t.Errorf("read %d rows from row group 1, row 3; the whole range has %d", rows, want.NumRows())
	}
	if last := got[len(got)-1]; last.File != "lake/tx.parquet" || last.RowGroup != 3 || last.Row != 0 {
		t.Errorf("position at the end %+v, want lake/tx.parquet row group 3, row 0", last)
	}
	if in.reads == 0 || in.closes != 1 {
		t.Errorf("the input was read %d times and closed %d times, want reads and one close", in.reads, in.closes)
	}
}

func TestParquetInputWithoutFooter(t *testing.T) {
	in := &bytesInput{Reader: bytes.NewReader([]byte("PAR1 and then nothing of a footer"))}
	_, err := OpenParquetInput(in, "lake/cut.parquet", schema.Transaction(), ReadOptions{FailOnDamage: true})
	if !errors.Is(err, ErrDamaged) || in.closes != 1 {
		t.Fatalf("open a cut file: %v (closed %d times), want ErrDamaged and one close", err, in.closes)
	}
	in = &bytesInput{Reader: bytes.NewReader([]byte("PAR1 and then nothing of a footer"))}
	r, err := OpenParquetInput(in, "lake/cut.parquet", schema.Transaction(), ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, dead, err := r.Read()
	if err != nil || len(dead) != 1 || dead[0].File != "lake/cut.parquet" {
		t.Fatalf("read a cut file: %v, %+v; want one dead letter naming it", err, dead)
	}
}
