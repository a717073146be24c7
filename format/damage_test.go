package format

import (
	"bytes"
	"compress/gzip"
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

	"millrace/format/formattest"
)

var damageSchema = arrow.NewSchema([]arrow.Field{
	{Name: "id", Type: arrow.PrimitiveTypes.Int64},
	{Name: "note", Type: arrow.BinaryTypes.String},
}, nil)

// gzipLines writes n records of kind (a header first for CSV) gzip-compressed to a new file
// named name and returns its path and the size of its decompressed data. The notes vary so
// the compressed stream is not trivially short.
func gzipLines(t *testing.T, kind Kind, name string, n int) (string, int) {
	t.Helper()
	var text bytes.Buffer
	if kind == CSV {
		text.WriteString("id,note\n")
	}
	for i := range n {
		note := fmt.Sprintf("note %d %x", i, i*7919)
		if kind == CSV {
			fmt.Fprintf(&text, "%d,%s\n", i, note)
		} else {
			fmt.Fprintf(&text, "{\"id\":%d,\"note\":%q}\n", i, note)
		}
	}
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	if _, err := zw.Write(text.Bytes()); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, z.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path, text.Len()
}

// truncate cuts the file at path to keep bytes.
func truncate(t *testing.T, path string, keep int64) {
	t.Helper()
	if err := os.Truncate(path, keep); err != nil {
		t.Fatal(err)
	}
}

// checkIDs checks that rec holds ids 0, 1, 2, ... in order and returns how many.
func checkIDs(t *testing.T, rec arrow.RecordBatch) int64 {
	t.Helper()
	if rec == nil {
		return 0
	}
	ids := rec.Column(0).(*array.Int64)
	for i := range ids.Len() {
		if ids.Value(i) != int64(i) {
			t.Fatalf("row %d has id %d", i, ids.Value(i))
		}
	}
	return rec.NumRows()
}

func TestTruncatedGzipKeepsRowsAndEndsWithOneDeadLetter(t *testing.T) {
	for _, kind := range []Kind{JSONL, CSV} {
		t.Run(string(kind), func(t *testing.T) {
			path, _ := gzipLines(t, kind, "tx."+string(kind)+".gz", 20000)
			st, _ := os.Stat(path)
			truncate(t, path, st.Size()/2)
			r, err := Open(path, "", damageSchema, ReadOptions{BatchRows: 1000})
			if err != nil {
				t.Fatal(err)
			}
			var pos Position
			rec, dead := readAllAt(t, r, &pos)
			kept := checkIDs(t, rec)
			if kept == 0 || kept >= 20000 {
				t.Fatalf("kept %d rows of 20000 from half the file", kept)
			}
			if len(dead) != 1 {
				t.Fatalf("%d dead letters, want 1: %v", len(dead), dead)
			}
			d := dead[0]
			first := kept + 1 // the line of the first lost record
			if kind == CSV {
				first++ // after the header
			}
			if d.File != path || d.Line != first || d.RowGroup != -1 {
				t.Errorf("dead letter at %s (row group %d), want %s:%d", d.Where(), d.RowGroup, path, first)
			}
			for _, want := range []string{"gzip stream cannot be decoded past byte", "unexpected EOF", fmt.Sprintf("from line %d", first), "the rest of the file is not read"} {
				if !strings.Contains(d.Reason, want) {
					t.Errorf("reason %q lacks %q", d.Reason, want)
				}
			}
			if !pos.Damaged || pos.Line != first || pos.Offset != d.Offset {
				t.Errorf("position after the damage %+v, want line %d at byte %d, damaged", pos, first, d.Offset)
			}

			// A reader placed at that position has ended: the damage is not reported twice.
			again, err := OpenAt(path, "", damageSchema, ReadOptions{}, pos)
			if err != nil {
				t.Fatal(err)
			}
			if rec, d, err := again.Read(); err != io.EOF || rec != nil || d != nil {
				t.Errorf("read at the damage: %v, %v, %v; want io.EOF", rec, d, err)
			}
			if got := again.Position(); got != pos {
				t.Errorf("position %+v, want %+v", got, pos)
			}
			if got := bytesRead(again); got != st.Size()/2 {
				t.Errorf("BytesRead %d, want the file's %d", got, st.Size()/2)
			}
			again.Close()
		})
	}
}

// readAllAt is readAll that also gives the reader's position at its end.
func readAllAt(t *testing.T, r Reader, pos *Position) (arrow.RecordBatch, []DeadLetter) {
	t.Helper()
	var recs []arrow.RecordBatch
	var dead []DeadLetter
	for {
		rec, d, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		dead = append(dead, d...)
		if rec != nil {
			recs = append(recs, rec)
		}
	}
	*pos = r.Position()
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if len(recs) == 0 {
		return nil, dead
	}
	return concat(t, recs), dead
}

// A flipped byte inside a deflate block decodes to wrong bytes: gzip finds out only at its
// trailing checksum. The lines decoded meanwhile are decoded as usual (most become dead
// letters), and the checksum failure is the last dead letter; the read does not fail.
func TestCorruptGzipEndsAtItsChecksum(t *testing.T) {
	path, _ := gzipLines(t, JSONL, "tx.jsonl.gz", 20000)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for i := len(b) / 2; i < len(b)/2+64; i++ {
		b[i] ^= 0xff
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := Open(path, "", damageSchema, ReadOptions{BatchRows: 1000})
	if err != nil {
		t.Fatal(err)
	}
	rec, dead := readAll(t, r)
	if rec != nil {
		defer rec.Release()
	}
	last := dead[len(dead)-1]
	if !strings.Contains(last.Reason, "gzip stream cannot be decoded past byte") || !strings.Contains(last.Reason, "checksum") {
		t.Fatalf("last dead letter %v, want the damaged stream's checksum", last)
	}
}

func TestDamagedGzipHeaderMakesTheFileOneDeadLetter(t *testing.T) {
	for _, kind := range []Kind{JSONL, CSV} {
		path, _ := gzipLines(t, kind, "tx."+string(kind)+".gz", 10)
		truncate(t, path, 5)
		r, err := Open(path, "", damageSchema, ReadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		rec, dead := readAll(t, r)
		if rec != nil || len(dead) != 1 || dead[0].Line != 1 || dead[0].Offset != 0 || !strings.Contains(dead[0].Reason, "gzip stream cannot be decoded past byte 0 of its data") {
			t.Errorf("%s: rows %v, dead letters %v; want one dead letter at line 1", kind, rec, dead)
		}
		if n := bytesRead(r); n != 5 {
			t.Errorf("%s: BytesRead %d, want the file's 5 bytes", kind, n)
		}
	}
}

func TestFailOnDamageFailsTheRead(t *testing.T) {
	path, _ := gzipLines(t, JSONL, "tx.jsonl.gz", 20000)
	st, _ := os.Stat(path)
	truncate(t, path, st.Size()/2)
	r, err := Open(path, "", damageSchema, ReadOptions{FailOnDamage: true})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for {
		rec, _, err := r.Read()
		if rec != nil {
			rec.Release()
		}
		if err == nil {
			continue
		}
		if err == io.EOF || !errors.Is(err, io.ErrUnexpectedEOF) || !strings.Contains(err.Error(), path) {
			t.Fatalf("read: %v; want the damage, naming the file", err)
		}
		return
	}
}

// parquetIDs writes groups row groups of rows rows each, ids counting from 0, uncompressed
// so a flipped byte lands in plain values or a page header, and returns the path.
func parquetIDs(t *testing.T, groups, rows int) string {
	t.Helper()
	b := array.NewRecordBuilder(memory.DefaultAllocator, damageSchema)
	defer b.Release()
	for i := range groups * rows {
		b.Field(0).(*array.Int64Builder).Append(int64(i))
		b.Field(1).(*array.StringBuilder).Append(fmt.Sprintf("note %d", i))
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	return writeParquetFile(t, rec, int64(rows), WriteOptions{Compression: Zstd, RowGroupRows: int64(rows)})
}

func TestDamagedParquetRowGroupIsOneDeadLetter(t *testing.T) {
	path := parquetIDs(t, 3, 1000)
	formattest.DamagePage(t, path, 1, 0)
	r, err := OpenParquet(path, damageSchema, ReadOptions{BatchRows: 300})
	if err != nil {
		t.Fatal(err)
	}
	var pos Position
	rec, dead := readAllAt(t, r, &pos)
	if len(dead) != 1 {
		t.Fatalf("%d dead letters, want 1: %v", len(dead), dead)
	}
	d := dead[0]
	if d.File != path || d.RowGroup != 1 || d.Row != 0 || d.Line != 0 {
		t.Errorf("dead letter at %s, want %s: row group 1, row 0", d.Where(), path)
	}
	if !strings.Contains(d.Reason, "row group 1 cannot be decoded from row 0") || !strings.Contains(d.Reason, `column "id"`) {
		t.Errorf("reason %q", d.Reason)
	}
	ids := rec.Column(0).(*array.Int64)
	if ids.Len() != 2000 || ids.Value(999) != 999 || ids.Value(1000) != 2000 {
		t.Errorf("kept %d rows; want row groups 0 and 2", ids.Len())
	}
	if pos.RowGroup != 3 || pos.Row != 0 {
		t.Errorf("end position %+v", pos)
	}

	fail, err := OpenParquet(path, damageSchema, ReadOptions{FailOnDamage: true})
	if err != nil {
		t.Fatal(err)
	}
	defer fail.Close()
	for {
		rec, _, err := fail.Read()
		if rec != nil {
			rec.Release()
		}
		if err == nil {
			continue
		}
		if !strings.Contains(err.Error(), "row group 1, row 0") {
			t.Fatalf("read with FailOnDamage: %v; want the damage of row group 1", err)
		}
		break
	}
}

func TestParquetFileWithoutFooterIsOneDeadLetter(t *testing.T) {
	path := parquetIDs(t, 3, 1000)
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	truncate(t, path, st.Size()/2)
	r, err := Open(path, "", damageSchema, ReadOptions{RowGroups: [2]int{0, 0}})
	if err != nil {
		t.Fatal(err)
	}
	if p := r.Position(); p.RowGroup != 0 || p.Row != 0 {
		t.Errorf("position before %+v", p)
	}
	var end Position
	rec, dead := readAllAt(t, r, &end)
	if rec != nil || len(dead) != 1 || dead[0].RowGroup != 0 || !strings.Contains(dead[0].Reason, "the file cannot be read: not a complete Parquet file: no footer") {
		t.Fatalf("rows %v, dead letters %v; want one for the file", rec, dead)
	}
	if end.RowGroup != 1 || end.Row != 0 {
		t.Errorf("position after %+v", end)
	}
	// Placed after the dead letter the reader has ended; placed before, it reports it.
	for _, c := range []struct {
		pos  Position
		dead int
	}{{end, 0}, {Position{File: path}, 1}} {
		again, err := OpenAt(path, Parquet, damageSchema, ReadOptions{}, c.pos)
		if err != nil {
			t.Fatal(err)
		}
		_, dead := readAll(t, again)
		if len(dead) != c.dead {
			t.Errorf("at %+v: %d dead letters, want %d", c.pos, len(dead), c.dead)
		}
	}
	if _, err := Open(path, "", damageSchema, ReadOptions{FailOnDamage: true}); !errors.Is(err, ErrDamaged) || !strings.Contains(err.Error(), path) {
		t.Errorf("open with FailOnDamage: %v; want the damage, naming the file", err)
	}
	if _, err := ParquetRowGroupSizes(path, nil); !errors.Is(err, ErrDamaged) {
		t.Errorf("row group sizes: %v; want the damage", err)
	}
}
