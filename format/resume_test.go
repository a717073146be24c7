package format

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"millrace/schema"
)

// resumeSchema is a small schema whose records are easy to write by hand.
var resumeSchema = arrow.NewSchema([]arrow.Field{
	{Name: "id", Type: arrow.BinaryTypes.String},
	{Name: "n", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
}, nil)

// resumeInputs are text files with the cases a position must survive: a byte order mark,
// blank lines, CRLF, records that are refused, a CSV record over two lines, an unclosed quote
// whose following lines are read twice, and a last line without a line break.
var resumeInputs = map[string]string{
	"jsonl": "\xef\xbb\xbf{\"id\":\"a\",\"n\":1}\n\n{\"id\":\"b\",\"n\":\"x\"}\n{\"id\":\"c\"}\r\nnot json\n" +
		"{\"id\":\"d\",\"n\":4}\n  \n{\"id\":\"e\",\"n\":5}\n{\"n\":6}\n{\"id\":\"f\",\"n\":7}",
	"csv": "id,n\na,1\n\nb,x\n\"c\nover two lines\",3\n\"d,4\ne,5\nf,6,7\r\ng,7\n\nh,8",
}

// readStep is what one Read returned, as text: the rows, the dead letters and the position
// after it.
type readStep struct {
	rows, dead []string
	pos        Position
	bytesRead  int64
}

// readSteps reads r to io.EOF, one step per Read.
func readSteps(t *testing.T, r Reader) []readStep {
	t.Helper()
	defer r.Close()
	enc, err := NewRowEncoder(JSONL, r.(interface{ schema() *arrow.Schema }).schema())
	if err != nil {
		t.Fatal(err)
	}
	var steps []readStep
	for {
		rec, dead, err := r.Read()
		if err == io.EOF {
			if len(steps) > 0 && steps[len(steps)-1].pos != r.Position() {
				// Only blank lines were left: the last Read passed them and found nothing.
				steps = append(steps, readStep{pos: r.Position(), bytesRead: bytesRead(r)})
			}
			return steps
		}
		if err != nil {
			t.Fatal(err)
		}
		var st readStep
		if rec != nil {
			lines, err := r.(LineReader).Lines()
			if err != nil {
				t.Fatal(err)
			}
			for i := range int(rec.NumRows()) {
				st.rows = append(st.rows, fmt.Sprintf("%d %s", lines[i], enc.AppendRow(nil, rec, i)))
			}
			rec.Release()
		}
		for _, d := range dead {
			st.dead = append(st.dead, fmt.Sprintf("%s @%d %q %s", d.Where(), d.Offset, d.Raw, d.Reason))
		}
		// After Lines: a reader of a byte range knows its line numbers once it was asked.
		st.pos, st.bytesRead = r.Position(), bytesRead(r)
		steps = append(steps, st)
	}
}

func (jr *jsonlReader) schema() *arrow.Schema { return jr.rb.schema }
func (cr *csvReader) schema() *arrow.Schema   { return cr.rb.schema }

func flatten(steps []readStep) (rows, dead []string) {
	for _, s := range steps {
		rows = append(rows, s.rows...)
		dead = append(dead, s.dead...)
	}
	return rows, dead
}

// TestTextOpenAtEveryPosition reads each input whole, then again from the position after
// every Read, and wants the rest to be what the whole read yielded after that Read: the same
// rows from the same lines, the same dead letters, the same positions.
func TestTextOpenAtEveryPosition(t *testing.T) {
	dir := t.TempDir()
	for kind, text := range resumeInputs {
		for _, codec := range []string{"", ".gz", ".zst"} {
			path := filepath.Join(dir, "in."+kind+codec)
			f, err := CreateFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.Write([]byte(text)); err != nil {
				t.Fatal(err)
			}
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}
			size := fileSize(t, path)
			for _, batch := range []int{1, 2, 3, 100} {
				opts := ReadOptions{BatchRows: batch}
				r, err := Open(path, "", resumeSchema, opts)
				if err != nil {
					t.Fatal(err)
				}
				start := r.Position()
				whole := readSteps(t, r)
				if end := whole[len(whole)-1].pos; end.Offset != int64(len(text)) {
					t.Fatalf("%s: position at the end %+v, want offset %d", path, end, len(text))
				}
				wantRows, wantDead := flatten(whole)
				if len(wantRows) == 0 || len(wantDead) == 0 {
					t.Fatalf("%s: %d rows and %d dead letters", path, len(wantRows), len(wantDead))
				}
				for i := -1; i < len(whole); i++ {
					pos := start
					var before []readStep
					if i >= 0 {
						pos, before = whole[i].pos, whole[:i+1]
					}
					r, err := OpenAt(path, "", resumeSchema, opts, pos)
					if err != nil {
						t.Fatalf("%s batch %d: OpenAt %+v: %v", path, batch, pos, err)
					}
					if r.Position() != pos {
						t.Fatalf("%s: opened at %+v, Position says %+v", path, pos, r.Position())
					}
					at := bytesRead(r)
					if codec == "" && at > pos.Offset {
						t.Errorf("%s: BytesRead %d on opening at byte %d", path, at, pos.Offset)
					}
					after := readSteps(t, r)
					if i == len(whole)-1 {
						if len(after) != 0 {
							t.Fatalf("%s: at the end, read on: %+v", path, after)
						}
						continue
					}
					if got := after[len(after)-1].bytesRead; got != size {
						t.Errorf("%s: BytesRead %d at the end after resuming at %+v, want %d", path, got, pos, size)
					}
					rows, dead := flatten(append(append([]readStep(nil), before...), after...))
					if strings.Join(rows, "\n") != strings.Join(wantRows, "\n") {
						t.Fatalf("%s batch %d, resumed at %+v: rows\n%s\nwant\n%s", path, batch, pos, strings.Join(rows, "\n"), strings.Join(wantRows, "\n"))
					}
					if strings.Join(dead, "\n") != strings.Join(wantDead, "\n") {
						t.Fatalf("%s batch %d, resumed at %+v: dead letters\n%s\nwant\n%s", path, batch, pos, strings.Join(dead, "\n"), strings.Join(wantDead, "\n"))
					}
					for k, st := range after {
						if st.pos != whole[i+1+k].pos {
							t.Fatalf("%s: resumed at %+v, position %+v after read %d, want %+v", path, pos, st.pos, k, whole[i+1+k].pos)
						}
					}
				}
			}
		}
	}
}

// writeResumeInput writes the resume input of name's format into dir/name, compressed as its
// name says.
func writeResumeInput(t *testing.T, dir, name string) {
	t.Helper()
	f, err := CreateFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	kind, _, _ := Detect(name)
	if _, err := f.Write([]byte(resumeInputs[string(kind)])); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestOpenAtRefusesPositionsNotInTheFile(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"a.jsonl", "a.jsonl.zst", "a.csv"} {
		writeResumeInput(t, dir, name)
	}
	path := func(name string) string { return filepath.Join(dir, name) }
	cases := []struct {
		name string
		pos  Position
		want string
	}{
		{"a.jsonl", Position{File: path("b.jsonl"), Offset: 20, Line: 2}, "at a position of"},
		{"a.jsonl", Position{Offset: 5, Line: 2}, "byte 5 does not start a line"},
		{"a.jsonl", Position{Offset: 5000, Line: 2}, "past the end of the file"},
		{"a.jsonl", Position{Offset: 20, Line: -1}, "not a position"},
		{"a.jsonl", Position{Offset: 6, Line: 0}, "byte 6 does not start a line"},
		{"a.jsonl", Position{Offset: 21, Line: 1}, "not a position"},
		{"a.jsonl", Position{RowGroup: 1}, "Parquet position"},
		{"a.jsonl.zst", Position{Offset: 5, Line: 2}, "byte 5 does not start a line"},
		{"a.jsonl.zst", Position{Offset: 21, Line: 5}, "byte 21 starts line 3, not line 5"},
		{"a.jsonl.zst", Position{Offset: 5000, Line: 2}, "past the end of the decompressed stream (122 bytes)"},
		{"a.csv", Position{Offset: 3, Line: 2}, "inside the header"},
		{"a.csv", Position{Offset: 9}, "a CSV position names its line"},
	}
	for _, c := range cases {
		r, err := OpenAt(path(c.name), "", resumeSchema, ReadOptions{}, c.pos)
		if err == nil {
			r.Close()
			t.Errorf("%s at %+v: no error", c.name, c.pos)
			continue
		}
		if !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), c.name) {
			t.Errorf("%s at %+v: %v, want it to say %q and name the file", c.name, c.pos, err, c.want)
		}
	}
}

// TestParquetOpenAtEveryPosition reads a split of a file of several row groups, in batches
// that do not divide them, and resumes it from the position after every Read.
func TestParquetOpenAtEveryPosition(t *testing.T) {
	want := sampleTransactions(t, memory.DefaultAllocator, 95)
	defer want.Release()
	path := writeParquetFile(t, want, 95, WriteOptions{RowGroupRows: 20}) // 5 row groups
	groups, err := ParquetRowGroupSizes(path, schema.Transaction())
	if err != nil || len(groups) != 5 {
		t.Fatalf("row groups %v %v", groups, err)
	}
	enc, err := NewRowEncoder(JSONL, schema.Transaction())
	if err != nil {
		t.Fatal(err)
	}
	read := func(r Reader) (rows []string, pos []Position, n int64) {
		defer r.Close()
		for {
			rec, _, err := r.Read()
			if err == io.EOF {
				return rows, pos, bytesRead(r)
			}
			if err != nil {
				t.Fatal(err)
			}
			for i := range int(rec.NumRows()) {
				rows = append(rows, string(enc.AppendRow(nil, rec, i)))
			}
			rec.Release()
			pos = append(pos, r.Position())
		}
	}
	for _, split := range [][2]int{{0, 0}, {1, 4}} {
		opts := ReadOptions{BatchRows: 7, RowGroups: split}
		r, err := OpenParquet(path, schema.Transaction(), opts)
		if err != nil {
			t.Fatal(err)
		}
		all, positions, size := read(r)
		// The rows before a position are those of the row groups before it plus its row.
		first := split[0]
		for i, p := range positions {
			n := 0
			for g := first; g < p.RowGroup; g++ {
				n += int(min(20, 95-20*g))
			}
			n += int(p.Row)
			r, err := OpenAt(path, Parquet, schema.Transaction(), opts, p)
			if err != nil {
				t.Fatalf("split %v: OpenAt %+v: %v", split, p, err)
			}
			if r.Position() != p {
				t.Fatalf("opened at %+v, Position says %+v", p, r.Position())
			}
			rest, restPos, end := read(r)
			if got := strings.Join(rest, "\n"); got != strings.Join(all[n:], "\n") {
				t.Fatalf("split %v, resumed at %+v after read %d: %d rows, want the last %d of %d", split, p, i, len(rest), len(all)-n, len(all))
			}
			if fmt.Sprint(restPos) != fmt.Sprint(positions[i+1:]) {
				t.Fatalf("resumed at %+v: positions %v, want %v", p, restPos, positions[i+1:])
			}
			if end != size && i < len(positions)-1 {
				t.Errorf("resumed at %+v: BytesRead %d at the end, want %d", p, end, size)
			}
		}
	}
	for _, c := range []struct {
		pos   Position
		split [2]int
		want  string
	}{
		{Position{RowGroup: 0}, [2]int{1, 4}, "reads row groups [1, 4)"},
		{Position{RowGroup: 4, Row: 1}, [2]int{1, 4}, "row group 4 is past"},
		{Position{RowGroup: 2, Row: 20}, [2]int{}, "row group 2 has 20 rows"},
		{Position{Offset: 7, Line: 2}, [2]int{}, "text position"},
		{Position{File: "other.parquet"}, [2]int{}, "at a position of"},
	} {
		r, err := OpenAt(path, "", schema.Transaction(), ReadOptions{RowGroups: c.split}, c.pos)
		if err == nil {
			r.Close()
			t.Errorf("%+v: no error", c.pos)
		} else if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want it to say %q", c.pos, err, c.want)
		}
	}
}
