package format

import (
	"bytes"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

var fuzzSeeds = []string{
	`{"id":"a","ts":"2024-03-01T12:00:00+01:00","n":5,"amount":12.5,"ok":true,"x":1.5,"d":"2024-02-29"}`,
	`{"amount":"-0.01","id":"b\u00e9\ud83d\ude00\n","ts":1709290800000,"extra":{"deep":[1,{"a":null}]},"n":"7"}`,
	`{"id":"a","amount":"12,50 EUR"}`, `{"id":"a","amount":12.345}`, `{"id":"a","amount":1e400}`,
	`{"id":"a","ts":"2024-13-45T25:00:00Z"}`, `{"id":null}`, `{"id":"a\ud800"}`, `{"id":"\u0000"}`,
	`{"id":"a","n":{"v":[1,2,{"x":"}"}]}}`, `{"id":"a"`, `{`, `"`, "{\"id\":\"\xff\xfe\"}",
	"\xef\xbb\xbf{\"id\":\"bom\"}\r\n\r\n{\"id\":\"crlf\"}", `{"id":"a","x":-0.0e-0}`, `{"id":"a","ts":-1}`,
	"id,amount\n\"a\"\"b\",1\n\"unterminated,2\nc,3\n", "a,\"x\ny\",1,2,3,4,5\n", ",,,,,,\n\"\",,,,,,\n",
}

// fuzzSchema has a column of every type readers decode.
var fuzzSchema = testSchema

// nonBlankLines counts the lines a reader must account for; a byte order mark is skipped only
// at the very start of the input.
func nonBlankLines(data []byte, startOfInput bool) int {
	n := 0
	for i, l := range bytes.Split(data, []byte("\n")) {
		if i == 0 && startOfInput {
			l = bytes.TrimPrefix(l, []byte("\xef\xbb\xbf"))
		}
		if !isBlank(l) {
			n++
		}
	}
	return n
}

// reencode writes rec as kind and decodes it again; the result must equal rec.
func reencode(t *testing.T, kind Kind, rec arrow.RecordBatch) {
	var buf bytes.Buffer
	w, err := NewWriter(&buf, kind, rec.Schema(), WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	var r Reader
	if kind == JSONL {
		r, err = NewJSONLReader(&buf, "again", rec.Schema(), ReadOptions{})
	} else {
		r, err = NewCSVReader(&buf, "again", rec.Schema(), ReadOptions{})
	}
	if err != nil {
		t.Fatal(err)
	}
	got, dead := readAll(t, r)
	if len(dead) > 0 {
		t.Fatalf("re-encoded rows refused: %v\n%s", dead[0], buf.String())
	}
	assertEqualBatches(t, rec, got)
	got.Release()
}

// FuzzJSONL checks that any input decodes without panicking and that every non-blank line
// ends up as a row or a dead letter; decoded rows survive a write and a second read.
func FuzzJSONL(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
		defer mem.AssertSize(t, 0)
		r, err := NewJSONLReader(bytes.NewReader(data), "fuzz", fuzzSchema, ReadOptions{BatchRows: 3, Mem: mem})
		if err != nil {
			t.Fatal(err)
		}
		rec, dead := readAll(t, r)
		rows := 0
		if rec != nil {
			rows = int(rec.NumRows())
			reencode(t, JSONL, rec)
			rec.Release()
		}
		if want := nonBlankLines(data, true); rows+len(dead) != want {
			t.Fatalf("%d rows + %d dead letters for %d records", rows, len(dead), want)
		}
		for _, d := range dead {
			if d.Reason == "" || d.Line < 1 {
				t.Fatalf("dead letter without reason or line: %+v", d)
			}
		}
	})
}

// FuzzCSV checks that any body under a fixed header decodes without panicking, that rows and
// dead letters together cover the records, and that decoded rows survive a round trip.
func FuzzCSV(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	var names []string
	for _, fd := range fuzzSchema.Fields() {
		names = append(names, fd.Name)
	}
	header := strings.Join(names, ",") + "\n"
	f.Fuzz(func(t *testing.T, body []byte) {
		data := append([]byte(header), body...)
		mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
		defer mem.AssertSize(t, 0)
		r, err := NewCSVReader(bytes.NewReader(data), "fuzz", fuzzSchema, ReadOptions{BatchRows: 3, Mem: mem})
		if err != nil {
			t.Fatal(err)
		}
		rec, dead := readAll(t, r)
		rows := 0
		if rec != nil {
			rows = int(rec.NumRows())
			reencode(t, CSV, rec)
			rec.Release()
		}
		lines := nonBlankLines(body, false)
		if rows+len(dead) > lines || (lines > 0 && rows+len(dead) == 0) {
			t.Fatalf("%d rows + %d dead letters for %d non-blank lines", rows, len(dead), lines)
		}
	})
}
