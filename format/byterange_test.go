package format

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// rangeInput is a JSONL file with what a byte range must survive: a byte order mark, blank
// lines, CRLF, refused records early and late, a line longer than rangeOptions allow and a
// last line without a line break.
var rangeInput = strings.Replace(resumeInputs["jsonl"], "not json\n",
	"not json\n{\"id\":\""+strings.Repeat("x", 100)+"\",\"n\":9}\r\n", 1)

// rangeOptions read rangeInput in small batches and cut its long line.
var rangeOptions = ReadOptions{BatchRows: 2, MaxRecordBytes: 64}

// writeRangeInput writes rangeInput as a file and returns its path.
func writeRangeInput(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "in.jsonl")
	if err := os.WriteFile(path, []byte(rangeInput), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// tile cuts size bytes into ranges of n bytes, the last one shorter.
func tile(size, n int64) [][2]int64 {
	var out [][2]int64
	for from := int64(0); from < size; from += n {
		out = append(out, [2]int64{from, min(from+n, size)})
	}
	return out
}

// TestByteRangesReadEveryLineOnce cuts the file into ranges of every size from one byte to
// the whole file, so that lines cross every boundary and many ranges hold no line start, and
// wants the ranges read one after another to yield what the whole file yields: the same rows
// from the same lines, the same dead letters naming the same lines. Each range's reader
// ends having counted its range's bytes.
func TestByteRangesReadEveryLineOnce(t *testing.T) {
	path := writeRangeInput(t)
	r, err := Open(path, "", resumeSchema, rangeOptions)
	if err != nil {
		t.Fatal(err)
	}
	wantRows, wantDead := flatten(readSteps(t, r))
	if len(wantDead) < 4 || !strings.Contains(strings.Join(wantDead, "\n"), "longer than 64 bytes") {
		t.Fatalf("the input should have a long line and dead letters early and late: %q", wantDead)
	}
	size := int64(len(rangeInput))
	for n := int64(1); n <= size; n++ {
		var steps []readStep
		for _, rg := range tile(size, n) {
			opts := rangeOptions
			opts.Bytes = rg
			r, err := Open(path, "", resumeSchema, opts)
			if err != nil {
				t.Fatalf("range %v: %v", rg, err)
			}
			read := readSteps(t, r)
			if len(read) > 0 && read[len(read)-1].bytesRead != rg[1]-rg[0] {
				t.Errorf("range %v: BytesRead %d at the end", rg, read[len(read)-1].bytesRead)
			}
			steps = append(steps, read...)
		}
		rows, dead := flatten(steps)
		if strings.Join(rows, "\n") != strings.Join(wantRows, "\n") {
			t.Fatalf("ranges of %d bytes: rows\n%s\nwant\n%s", n, strings.Join(rows, "\n"), strings.Join(wantRows, "\n"))
		}
		if strings.Join(dead, "\n") != strings.Join(wantDead, "\n") {
			t.Fatalf("ranges of %d bytes: dead letters\n%s\nwant\n%s", n, strings.Join(dead, "\n"), strings.Join(wantDead, "\n"))
		}
	}
}

// TestByteRangeOpenAtEveryPosition reads each range of a tiling whole, then again from the
// position after every Read, with its line number and without (as a reader that never
// needed one gives it), and wants the rest to be what the whole read yielded after that
// Read, at the same offsets.
func TestByteRangeOpenAtEveryPosition(t *testing.T) {
	path := writeRangeInput(t)
	for _, rg := range tile(int64(len(rangeInput)), 50) {
		opts := rangeOptions
		opts.Bytes = rg
		r, err := Open(path, "", resumeSchema, opts)
		if err != nil {
			t.Fatal(err)
		}
		whole := readSteps(t, r)
		for i, st := range whole {
			for _, pos := range []Position{st.pos, {File: st.pos.File, Offset: st.pos.Offset}} {
				r, err := OpenAt(path, "", resumeSchema, opts, pos)
				if err != nil {
					t.Fatalf("range %v: OpenAt %+v: %v", rg, pos, err)
				}
				after := readSteps(t, r)
				if len(after) != len(whole)-i-1 {
					t.Fatalf("range %v, resumed at %+v: %d reads, want %d", rg, pos, len(after), len(whole)-i-1)
				}
				for k, got := range after {
					want := whole[i+1+k]
					if strings.Join(got.rows, "\n") != strings.Join(want.rows, "\n") || strings.Join(got.dead, "\n") != strings.Join(want.dead, "\n") {
						t.Fatalf("range %v, resumed at %+v: read %d gave %q %q, want %q %q", rg, pos, k, got.rows, got.dead, want.rows, want.dead)
					}
					if got.pos.Offset != want.pos.Offset {
						t.Fatalf("range %v, resumed at %+v: offset %d after read %d, want %d", rg, pos, got.pos.Offset, k, want.pos.Offset)
					}
				}
			}
		}
	}
}

// TestByteRangeCountsLinesOnlyWhenAsked reads a range whose rows are all good: its reader
// does not count the lines before its range until Lines asks, and then numbers them as the
// file does.
func TestByteRangeCountsLinesOnlyWhenAsked(t *testing.T) {
	path := writeRangeInput(t)
	at := int64(strings.Index(rangeInput, `{"id":"d"`))
	opts := rangeOptions
	opts.Bytes = [2]int64{at - 1, at + 5}
	r, err := Open(path, "", resumeSchema, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	rec, dead, err := r.Read()
	if err != nil || rec == nil || rec.NumRows() != 1 || len(dead) != 0 {
		t.Fatalf("read %v, %v, %v; want one row", rec, dead, err)
	}
	rec.Release()
	if r.(*jsonlReader).lines.before.done || r.Position().Line != 0 {
		t.Fatalf("the reader counted lines nobody asked for: position %+v", r.Position())
	}
	lines, err := r.(LineReader).Lines()
	want := int64(strings.Count(rangeInput[:at], "\n") + 1)
	if err != nil || len(lines) != 1 || lines[0] != want {
		t.Fatalf("lines %v, %v; want [%d]", lines, err, want)
	}
	if got := r.Position(); got.Line != want+1 {
		t.Fatalf("position %+v after counting, want line %d", got, want+1)
	}
}

// TestByteRangesRefused wants ranges of files that cannot be cut into lines, and positions
// outside a range, refused with the file named.
func TestByteRangesRefused(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"a.csv", "a.jsonl.gz"} {
		writeResumeInput(t, dir, name)
		_, err := Open(filepath.Join(dir, name), "", resumeSchema, ReadOptions{Bytes: [2]int64{0, 10}})
		if err == nil || !strings.Contains(err.Error(), "only an uncompressed JSONL file") || !strings.Contains(err.Error(), name) {
			t.Errorf("%s read by a byte range: %v", name, err)
		}
	}
	path := writeRangeInput(t)
	second := int64(strings.Index(rangeInput, `{"id":"b"`))
	cases := []struct {
		bytes [2]int64
		pos   Position
		want  string
	}{
		{[2]int64{second, second + 40}, Position{Offset: 20, Line: 2}, "before the byte range's first line"},
		{[2]int64{0, 10}, Position{Offset: second}, "past the byte range's last line"},
		{[2]int64{5, 5}, Position{}, "is empty"},
	}
	for _, c := range cases {
		r, err := OpenAt(path, "", resumeSchema, ReadOptions{Bytes: c.bytes}, c.pos)
		if err == nil {
			r.Close()
			t.Errorf("range %v at %+v: no error", c.bytes, c.pos)
			continue
		}
		if !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "in.jsonl") {
			t.Errorf("range %v at %+v: %v, want it to say %q and name the file", c.bytes, c.pos, err, c.want)
		}
	}
}
