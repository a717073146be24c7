package format

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"millrace/schema"
)

// readParquetAll reads the whole file, checking batch sizes and positions on the way, and
// returns the rows as one batch (nil if none) and the dead letters.
func readParquetAll(t testing.TB, path string, s *arrow.Schema, opts ReadOptions) (arrow.RecordBatch, []DeadLetter) {
	t.Helper()
	r, err := OpenParquet(path, s, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := r.Close(); err != nil {
			t.Error(err)
		}
	}()
	mem := opts.withDefaults().Mem
	var batches []arrow.RecordBatch
	var dead []DeadLetter
	for {
		before := r.Position()
		rec, d, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		dead = append(dead, d...)
		if rec == nil {
			continue
		}
		if got, most := rec.NumRows(), int64(opts.withDefaults().BatchRows); got > most || got == 0 {
			t.Errorf("batch of %d rows, want 1 to %d", got, most)
		}
		after := r.Position()
		if before.File != path || after.File != path {
			t.Errorf("position file %q, want %q", after.File, path)
		}
		if !(after.RowGroup == before.RowGroup && after.Row > before.Row) && !(after.RowGroup > before.RowGroup && after.Row == 0) {
			t.Errorf("position went from %+v to %+v", before, after)
		}
		batches = append(batches, rec)
	}
	if _, _, err := r.Read(); err != io.EOF {
		t.Errorf("Read after the end: %v, want io.EOF", err)
	}
	if len(batches) == 0 {
		return nil, dead
	}
	defer func() {
		for _, b := range batches {
			b.Release()
		}
	}()
	cols := make([]arrow.Array, s.NumFields())
	for i := range cols {
		parts := make([]arrow.Array, len(batches))
		for j, b := range batches {
			parts[j] = b.Column(i)
		}
		c, err := array.Concatenate(parts, mem)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Release()
		cols[i] = c
	}
	return array.NewRecordBatch(s, cols, -1), dead
}

func assertSameRows(t *testing.T, got, want arrow.RecordBatch) {
	t.Helper()
	if got == nil {
		if want.NumRows() != 0 {
			t.Fatalf("read no rows, want %d", want.NumRows())
		}
		return
	}
	if !got.Schema().Equal(want.Schema()) {
		t.Fatalf("schema\n%s\nwant\n%s", got.Schema(), want.Schema())
	}
	if got.NumRows() != want.NumRows() {
		t.Fatalf("read %d rows, want %d", got.NumRows(), want.NumRows())
	}
	for i := range int(want.NumCols()) {
		if !array.Equal(got.Column(i), want.Column(i)) {
			for row := range int(want.NumRows()) {
				if g, w := got.Column(i).ValueStr(row), want.Column(i).ValueStr(row); g != w {
					t.Fatalf("column %s row %d: %s, want %s", want.Schema().Field(i).Name, row, g, w)
				}
			}
			t.Fatalf("column %s differs", want.Schema().Field(i).Name)
		}
	}
}

func TestParquetPositionCountsRowGroupsAndRows(t *testing.T) {
	want := sampleTransactions(t, memory.DefaultAllocator, 25)
	defer want.Release()
	path := writeParquetFile(t, want, 25, WriteOptions{RowGroupRows: 10})
	r, err := OpenParquet(path, schema.Transaction(), ReadOptions{BatchRows: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var got []string
	for {
		p := r.Position()
		rec, _, err := r.Read()
		if err == io.EOF {
			got = append(got, fmt.Sprintf("%d/%d end", p.RowGroup, p.Row))
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%d/%d+%d", p.RowGroup, p.Row, rec.NumRows()))
		rec.Release()
	}
	want2 := "0/0+4 0/4+4 0/8+2 1/0+4 1/4+4 1/8+2 2/0+4 2/4+1 3/0 end"
	if strings.Join(got, " ") != want2 {
		t.Errorf("reads %s\nwant     %s", strings.Join(got, " "), want2)
	}
}

func TestParquetProjection(t *testing.T) {
	rec := sampleTransactions(t, memory.DefaultAllocator, 30)
	defer rec.Release()
	path := writeParquetFile(t, rec, 30, WriteOptions{})

	t.Run("subset in another order, missing nullable column", func(t *testing.T) {
		s := arrow.NewSchema([]arrow.Field{
			{Name: "amount", Type: schema.Amount},
			{Name: "note", Type: arrow.BinaryTypes.String, Nullable: true},
			{Name: "tx_id", Type: arrow.BinaryTypes.String},
		}, nil)
		got, dead := readParquetAll(t, path, s, ReadOptions{BatchRows: 8})
		defer got.Release()
		if len(dead) > 0 {
			t.Errorf("dead letters: %v", dead)
		}
		if !array.Equal(got.Column(0), rec.Column(schema.AmountCol)) || !array.Equal(got.Column(2), rec.Column(schema.TxID)) {
			t.Error("projected columns differ from the written ones")
		}
		if n := got.Column(1).NullN(); n != 30 {
			t.Errorf("missing nullable column has %d nulls, want 30", n)
		}
	})
	t.Run("missing required column", func(t *testing.T) {
		s := arrow.NewSchema([]arrow.Field{{Name: "tx_id", Type: arrow.BinaryTypes.String}, {Name: "amout", Type: schema.Amount}}, nil)
		_, err := OpenParquet(path, s, ReadOptions{})
		if err == nil {
			t.Fatal("open succeeded")
		}
		for _, want := range []string{fmt.Sprintf("open parquet %q", path), `column "amout"`, `"amount"`} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not say %s", err, want)
			}
		}
	})
	t.Run("type that does not convert", func(t *testing.T) {
		s := arrow.NewSchema([]arrow.Field{{Name: "ts", Type: arrow.FixedWidthTypes.Boolean}}, nil)
		_, err := OpenParquet(path, s, ReadOptions{})
		if err == nil || !strings.Contains(err.Error(), `column "ts"`) || !strings.Contains(err.Error(), path) {
			t.Errorf("err %v, want one naming the file and column ts", err)
		}
	})
}

func TestParquetOpenErrors(t *testing.T) {
	dir := t.TempDir()
	text := filepath.Join(dir, "tx.parquet")
	if err := os.WriteFile(text, []byte(`{"tx_id":"a"}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	rec := sampleTransactions(t, memory.DefaultAllocator, 10)
	defer rec.Release()
	var buf bytes.Buffer
	writeParquet(t, &buf, rec, 10, WriteOptions{})
	truncated := filepath.Join(dir, "truncated.parquet")
	if err := os.WriteFile(truncated, buf.Bytes()[:buf.Len()/2], 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ path, want string }{
		{filepath.Join(dir, "missing.parquet"), "no such file"},
		{text, "not a Parquet file"},
		{truncated, "not a complete Parquet file"},
	} {
		_, err := OpenParquet(tc.path, schema.Transaction(), ReadOptions{FailOnDamage: true})
		if err == nil {
			t.Errorf("open %s succeeded", tc.path)
			continue
		}
		if damaged := errors.Is(err, ErrDamaged); damaged != (tc.path != filepath.Join(dir, "missing.parquet")) {
			t.Errorf("open %s: errors.Is(%v, ErrDamaged) = %v", tc.path, err, damaged)
		}
		prefix := fmt.Sprintf("open parquet %q: ", tc.path)
		if !strings.HasPrefix(err.Error(), prefix) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("error %q, want %q... %q", err, prefix, tc.want)
		}
	}
}
